"""Issue 16, "done when": publish a version, download its PDF, choose it on /verify/
in chromium: the page names the agency, the version and 現在の版; after a second
version the same file is 置き換えられました; one altered byte: never published here;
verify_pdf: a valid signature on the untouched file, a broken one on the altered."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from playwright.sync_api import expect

from ..test_publishing import publish_change

pytestmark = [
    pytest.mark.browser,
    pytest.mark.real_pdf,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


def alter_one_byte(pdf: bytes) -> bytes:
    """The PDF with one byte of a content stream's data changed (no object or
    cross-reference stream, so that the file still parses)."""
    for match in re.finditer(rb"\d+ 0 obj\s*<<(.*?)>>\s*stream\r?\n", pdf, re.S):
        if b"/ObjStm" in match.group(1) or b"/XRef" in match.group(1):
            continue
        position = match.end() + 20
        altered = bytearray(pdf)
        altered[position] ^= 0x01
        return bytes(altered)
    raise AssertionError("no stream to alter")


def choose(page, base, path):
    page.goto(f"{base}/verify/")
    page.locator("#verify-file").set_input_files(str(path))


def test_verify_page_tells_current_replaced_and_never_published_copies(
    page, live_server, example_org, tmp_path, axe, screenshots_dir
):
    base = live_server.url
    page.goto(f"{base}/qolead/")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF（監査・保存用）").click()
    original = tmp_path / "downloaded-v1.pdf"
    download.value.save_as(original)
    assert original.read_bytes() == bytes(example_org.publications.get(number=1).pdf)

    choose(page, base, original)
    result = page.locator("#verify-result")
    expect(result).to_contain_text("このポータルが公開したファイルです。")
    expect(result).to_contain_text("株式会社QOLead の 第1版")
    expect(result).to_contain_text("現在の版です。")
    expect(result.get_by_role("link", name="第1版のページ")).to_have_attribute("href", "/qolead/versions/1/")
    violations, _incomplete = axe(page)
    assert violations == [], violations

    version_2 = publish_change(example_org.sheet, hours_system="24時間稼働（保守時を除く）")
    published_on = f"{version_2.published_at:%Y}年"
    choose(page, base, original)
    expect(result).to_contain_text("株式会社QOLead の 第1版")
    expect(result).to_contain_text(
        re.compile(r"第2版（" + published_on + r"[^）]+公開）に置き換えられました")
    )
    expect(result).not_to_contain_text("現在の版です。")
    page.screenshot(path=str(screenshots_dir / "verify-replaced-version.png"), full_page=True)

    altered = tmp_path / "altered-v1.pdf"
    altered.write_bytes(alter_one_byte(original.read_bytes()))
    choose(page, base, altered)
    expect(result).to_contain_text("このポータルが公開したファイルではありません")

    out = io.StringIO()
    call_command("verify_pdf", str(original), stdout=out)
    assert "署名は有効です" in out.getvalue()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_pdf", str(altered), stdout=out)
    assert "署名が壊れています" in out.getvalue()


def test_verify_page_without_javascript_hides_the_file_input_and_takes_a_pasted_hash(
    browser, live_server, example_org
):
    context = browser.new_context(java_script_enabled=False, locale="ja-JP")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/verify/")
        expect(page.locator("#verify-file")).to_be_hidden()
        page.get_by_label("SHA-256（64桁の16進数）").fill(example_org.publications.get(number=1).pdf_sha256)
        page.get_by_role("button", name="確認する").click()
        expect(page.locator("#verify-result")).to_contain_text("現在の版です。")
    finally:
        context.close()
