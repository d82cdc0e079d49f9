"""A staff member edits the draft, previews and publishes it in a real browser; the
public then sees the new version, its history, its diff and its PDF.

The example (fixture example_org) is version 1, effective 2022年4月1日, every
checklist item 実施済. Screenshots for people to look at go to var/screenshots/.
"""

import hashlib
import re
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from disclosures.models import Publication
from disclosures.snapshot import japanese_date

from .conftest import NEW_HOURS_SYSTEM, PLANNED_MONTH_VALUE, PLANNED_TIME, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

OLD_HOURS_SYSTEM = "24時間 365日稼働"
ANSWER_INDEX = 4  # the fifth checklist item, in the form's order
CHANGE_NOTE = "システムの稼働時間を更新し、チェック項目を実施予定にしました。"
COMPLIANCE_LABEL = "施設及び設備情報 › ガイドラインの遵守"
HOURS_LABEL = "運営に関する情報 › サービス提供時間 › システム"
COMPLIED = (
    "■最低限のガイドラインを遵守済 □最低限のガイドラインを遵守する予定 □最低限のガイドラインを遵守していない"
)
PLANNED = (
    "□最低限のガイドラインを遵守済 ■最低限のガイドラインを遵守する予定 □最低限のガイドラインを遵守していない"
)


def hours_system_cell(page):
    """The value cell of the row サービス提供時間 › システム."""
    row = page.locator("table.sheet-part tr").filter(
        has=page.locator("th.label", has_text=re.compile(r"^システム$"))
    )
    return row.locator("td.value-cell")


def compliance_options(page):
    row = page.locator("table.sheet-part tr").filter(
        has=page.locator("th.label", has_text=re.compile(r"^ガイドラインの遵守"))
    )
    return row.locator("li.option")


def checklist_row(page, section_order, number):
    return page.locator(f"#checklist-section-{section_order} + .table-scroll tbody tr").filter(
        has=page.locator("th.no", has_text=re.compile(rf"^{number}\.$"))
    )


def expect_public_version_1(page):
    expect(page.locator(".version-facts")).to_contain_text("第1版")
    expect(hours_system_cell(page)).to_have_text(OLD_HOURS_SYSTEM)
    expect(page.locator("td.updated-on[data-document=sheet]")).to_have_text("2022年4月1日")
    expect(page.locator("td.updated-on[data-document=checklist]")).to_have_text("2022年4月1日")
    expect(compliance_options(page).and_(page.locator(".is-checked"))).to_have_count(1)
    expect(compliance_options(page).and_(page.locator(".is-checked"))).to_contain_text("遵守済")


def diff_rows(page, heading_id):
    rows = page.locator(f"section[aria-labelledby={heading_id}] table.changes tbody tr")
    return [
        (
            row.locator("th").inner_text(),
            row.locator("td.old").inner_text(),
            row.locator("td.new").inner_text(),
        )
        for row in rows.all()
    ]


def loaded_font_families(page):
    """The @font-face families the page has loaded, once every font has settled."""
    return page.evaluate(
        "() => document.fonts.ready.then((fonts) =>"
        " [...new Set([...fonts].filter((f) => f.status === 'loaded').map((f) => f.family))])"
    )


@pytest.mark.real_pdf
def test_staff_publishes_a_change_that_the_public_then_sees(
    browser, page, live_server, example_org, staff_user, screenshots_dir, tmp_path
):
    base = live_server.url
    sheet = example_org.sheet
    answer = sheet.checklist.ordered_answers()[ANSWER_INDEX]
    item, section = answer.item, answer.item.section
    version_1 = Publication.objects.get(organization=example_org, number=1)

    visitor = browser.new_context(
        locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 900}
    )
    public = visitor.new_page()
    public.goto(f"{base}/qolead/")
    expect_public_version_1(public)
    expect(public.locator("#pdf-sha256")).to_have_text(version_1.pdf_sha256)

    # --- the staff member edits the draft sheet and the checklist ---
    log_in(page, base)
    page.goto(base + reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    page.locator("#id_hours_system").fill(NEW_HOURS_SYSTEM)
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator("#id_hours_system")).to_have_value(NEW_HOURS_SYSTEM)

    page.goto(base + reverse("admin:checklist_checklist_change", args=[sheet.checklist_id]))
    prefix = f"answers-{ANSWER_INDEX}"
    page.locator(f"input[name={prefix}-status][value=planned]").check()
    page.locator(f"input[name={prefix}-planned_time]").fill(PLANNED_MONTH_VALUE)
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator(f"input[name={prefix}-status][value=planned]")).to_be_checked()
    expect(page.locator(f"input[name={prefix}-planned_time]")).to_have_value(PLANNED_MONTH_VALUE)

    # --- saved drafts are not public ---
    public.reload()
    expect_public_version_1(public)
    expect(public.locator("main")).not_to_contain_text("保守時を除く")
    expect(checklist_row(public, section.order, item.number).locator("td.status").nth(1)).to_have_text(
        "□実施予定：いいえ()"
    )

    # --- preview, in the new tab the admin opens ---
    page.goto(base + reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    with page.context.expect_page() as new_tab:
        page.locator(".object-tools").get_by_role("link", name="プレビュー").click()
    preview = new_tab.value
    expect(preview).to_have_url(base + reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk]))
    expect(preview.locator(".banner-draft")).to_contain_text("未公開の下書きのプレビューです。")
    expect(hours_system_cell(preview)).to_have_text(NEW_HOURS_SYSTEM)
    expect(compliance_options(preview).and_(preview.locator(".is-checked"))).to_contain_text("遵守する予定")
    expect(checklist_row(preview, section.order, item.number).locator("td.status").nth(1)).to_have_text(
        f"■実施予定：はい({PLANNED_TIME})"
    )
    preview.close()

    # --- publish: the confirmation page lists the changes, then version 2 ---
    page.locator(".object-tools").get_by_role("link", name="公開…").click()
    expect(page).to_have_url(base + reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]))
    expect(page.locator("table.changes")).to_have_count(2)
    expect(page.locator("table.changes").first).to_contain_text(NEW_HOURS_SYSTEM)
    page.locator("textarea[name=change_note]").fill(CHANGE_NOTE)
    today = timezone.localdate()
    page.get_by_role("button", name="第2版として公開する").click()
    expect(page.locator(".messagelist .success")).to_contain_text("第2版を公開しました")
    version_2 = Publication.objects.get(organization=example_org, number=2)
    published_on = japanese_date(timezone.localdate(version_2.published_at))
    assert timezone.localdate(version_2.published_at) in (today, timezone.localdate())

    # --- the public page shows version 2 ---
    public.reload()
    expect(public.locator(".version-facts")).to_contain_text("第2版")
    expect(public.locator(".version-status")).to_contain_text("現在公開中の版です。")
    expect(hours_system_cell(public)).to_have_text(NEW_HOURS_SYSTEM)
    # The sheet's date moves (its field and, 注8, its ガイドラインの遵守 changed); so
    # does the checklist's (one of its answers changed).
    expect(public.locator("td.updated-on[data-document=sheet]")).to_have_text(published_on)
    expect(public.locator("td.updated-on[data-document=checklist]")).to_have_text(published_on)
    checked = compliance_options(public).and_(public.locator(".is-checked"))
    expect(checked).to_have_count(1)
    expect(checked).to_contain_text("最低限のガイドラインを遵守する予定")
    expect(checklist_row(public, section.order, item.number).locator("td.status")).to_have_text(
        ["□実施済：いいえ", f"■実施予定：はい({PLANNED_TIME})"]
    )
    expect(public.locator("#pdf-sha256")).to_have_text(version_2.pdf_sha256)
    assert version_2.pdf_sha256 != version_1.pdf_sha256

    # --- screenshots of the public page, desktop and phone ---
    # The visitor's own Japanese font: no font file is downloaded (tests/browser/test_phone.py).
    assert loaded_font_families(public) == []
    public.screenshot(path=screenshots_dir / "public-desktop.png", full_page=True)
    phone = browser.new_context(
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    phone_page = phone.new_page()
    phone_page.goto(f"{base}/qolead/")
    expect(phone_page.locator(".version-facts")).to_contain_text("第2版")
    assert loaded_font_families(phone_page) == []
    # The page does not scroll sideways.
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    phone_page.screenshot(path=screenshots_dir / "public-phone.png", full_page=True)
    phone.close()

    # --- history: both versions ---
    public.get_by_role("navigation", name="この機関の公開版").get_by_role("link", name="変更履歴").click()
    expect(public).to_have_url(f"{base}/qolead/versions/")
    rows = public.locator("table.listing tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("th")).to_have_text("第2版 現在の版")
    expect(rows.nth(0)).to_contain_text(CHANGE_NOTE)
    expect(rows.nth(1).locator("th")).to_have_text("第1版")
    expect(rows.nth(1)).to_contain_text("初版")

    # --- the diff: exactly the three changes ---
    rows.nth(0).get_by_role("link", name="第1版との差分").click()
    expect(public).to_have_url(f"{base}/qolead/versions/2/diff/")
    expect(public.locator(".change-note")).to_contain_text(CHANGE_NOTE)
    expect(public.locator("table.changes")).to_have_count(2)
    assert diff_rows(public, "diff-sheet") == [
        (COMPLIANCE_LABEL, COMPLIED, PLANNED),
        (HOURS_LABEL, OLD_HOURS_SYSTEM, NEW_HOURS_SYSTEM),
    ]
    assert diff_rows(public, "diff-checklist") == [
        (f"{section.title} {item.number}. {item.text}", "■実施済", f"■実施予定({PLANNED_TIME})"),
    ]

    # --- the PDF: downloaded, its SHA-256 is the one on the page ---
    public.goto(f"{base}/qolead/")
    shown_sha256 = public.locator("#pdf-sha256").inner_text()
    with public.expect_download() as download_info:
        public.get_by_role("link", name="PDF（監査・保存用）").click()
    download = download_info.value
    pdf_path = tmp_path / "version-2.pdf"
    download.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == shown_sha256 == version_2.pdf_sha256
    assert download.suggested_filename.endswith(".pdf")
    assert "第2版" in download.suggested_filename or "v2" in download.suggested_filename

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "第2版" in text
    assert "保守時を除く" in text
    assert "遵守する予定" in text
    png = screenshots_dir / "pdf-page-1.png"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "100",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf_path),
            str(png.with_suffix("")),
        ],
        check=True,
    )
    assert png.read_bytes().startswith(b"\x89PNG")
    visitor.close()
