"""The admin as staff see it at 1280 px (issue 11, point 8): the checklist's answers
first, a failed save that leads to each flagged field, the draft's state against the
live version, the preview's way back to editing. Screenshots go to var/screenshots/."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from .conftest import PLANNED_MONTH_VALUE, log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

FLAGGED_INDEX = 40  # an answer far down the page


def in_viewport(page, locator):
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= height


def test_checklist_answers_come_first_and_each_error_is_one_click_away(
    page, live_server, staff_user, two_versions, screenshots_dir
):
    checklist = two_versions.sheet.checklist
    log_in(page, live_server.url)
    page.goto(live_server.url + reverse("admin:checklist_checklist_change", args=[checklist.pk]))
    first_answer = page.locator("#answers-0")
    history = page.locator("#answer-history")
    assert first_answer.bounding_box()["y"] < 900  # on the first screen
    assert history.bounding_box()["y"] > page.locator("#checklist_form").bounding_box()["y"]
    expect(history).not_to_have_attribute("open", "")
    print(f"first answer at y={first_answer.bounding_box()['y']:.0f} px")
    page.screenshot(path=screenshots_dir / "admin-checklist-1280.png")
    page.locator(".object-tools").get_by_role("link", name="回答の変更履歴").click()
    expect(history.locator("table.answer-history")).to_be_in_viewport()
    history.screenshot(path=screenshots_dir / "admin-checklist-history-1280.png")

    # 実施予定 without its time, far down the page, and save.
    page.locator(f"#id_answers-{FLAGGED_INDEX}-status input[value=planned]").check()
    page.locator("input[name=_continue]").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    assert in_viewport(page, summary)
    page.screenshot(path=screenshots_dir / "admin-checklist-error-1280.png")
    field = page.locator(f"#id_answers-{FLAGGED_INDEX}-planned_time")
    assert not in_viewport(page, field)
    summary.get_by_role("link").first.click()
    expect(field).to_be_in_viewport()
    field.fill(PLANNED_MONTH_VALUE)
    page.locator("input[name=_continue]").click()
    expect(page.locator(".messagelist")).to_contain_text("変更しました")


def test_sheet_error_summary_leads_to_the_field(page, live_server, staff_user, two_versions, screenshots_dir):
    sheet = two_versions.sheet
    log_in(page, live_server.url)
    page.goto(live_server.url + reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    page.locator("#id_phone").fill("")
    page.locator("#id_staff_dedicated_own").fill("-5")
    page.locator("input[name=_continue]").click()
    summary = page.locator(".error-summary")
    expect(summary.get_by_role("link")).to_have_count(2)
    page.screenshot(path=screenshots_dir / "admin-sheet-error-1280.png")
    field = page.locator("#id_staff_dedicated_own")
    assert not in_viewport(page, field)
    summary.get_by_role("link", name="従事する職員の数").click()
    expect(field).to_be_in_viewport()


def test_staff_see_the_draft_state_and_go_from_preview_to_publish(
    page, live_server, staff_user, two_versions, screenshots_dir
):
    sheet = two_versions.sheet
    log_in(page, live_server.url)
    page.goto(live_server.url + reverse("admin:disclosures_organization_changelist"))
    states = page.locator("td.field-publication_state")
    expect(states).to_have_text(["公開版と同じです", "公開版と同じです"])
    page.goto(live_server.url + reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    page.locator("#id_hours_system").fill("平日 9時〜17時")
    page.locator("input[name=_continue]").click()
    expect(page.locator(".field-publication_state .readonly")).to_contain_text("公開版との差分があります（")
    page.screenshot(path=screenshots_dir / "admin-sheet-state-1280.png")
    page.goto(live_server.url + reverse("admin:disclosures_organization_changelist"))
    qolead = page.locator("#result_list tr").filter(has_text=two_versions.slug)
    expect(qolead.locator("td.field-publication_state")).to_contain_text("公開版との差分があります（")
    page.screenshot(path=screenshots_dir / "admin-organizations-1280.png")
    # The list fits beside the sidebar and the filter: no column hidden off to the side.
    assert page.evaluate(
        "() => { const r = document.querySelector('.results'); return r.scrollWidth <= r.clientWidth; }"
    )

    page.goto(live_server.url + reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk]))
    page.screenshot(path=screenshots_dir / "admin-preview-1280.png")
    page.locator(".banner-draft").get_by_role("link", name="公開…").click()
    expect(page.locator("#content-main")).to_contain_text("第3版")


def test_admin_index_in_japanese(page, live_server, staff_user, two_versions, screenshots_dir):
    log_in(page, live_server.url)
    page.screenshot(path=screenshots_dir / "admin-index-1280.png", full_page=True)
    captions = page.locator("#content-main caption a, #content-main th[scope=row] a").all_inner_texts()
    assert captions and all(any(ord(c) > 0x3000 for c in caption) for caption in captions), captions
    page.goto(live_server.url + reverse("admin:otp_totp_totpdevice_add"))
    expect(page.locator("h1")).to_have_text("二段階認証の端末（TOTP） を追加")
    page.screenshot(path=screenshots_dir / "admin-totp-add-1280.png")
