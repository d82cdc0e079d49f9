"""The directory at / in a browser: no sideways scrolling at 320, 390, 768 and 1280 px
(with a 100-character unbroken name, the longest allowed, among generated organisations), filters that work
as a plain form, no accessibility violation; the print button on an agency page.

Screenshots for people to look at: var/screenshots/directory-<page>-<width>.png.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from disclosures.publishing import publish

from ..factories import make_organization
from .conftest import context_at_width
from .test_phone import SCREENSHOT_WIDTHS, WIDTHS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

LONG_NAME = "株式会社" + "ヘルスデータマネジメントサービス" * 6  # the longest name allowed, unbroken
assert len(LONG_NAME) == 100


@pytest.fixture
def directory_data(db):
    """24 generated organisations, then one with a 100-character name and many prefectures."""
    call_command("generate_directory_bench", count=24, verbosity=0)
    organization = make_organization(
        "longname",
        LONG_NAME,
        classification="institution_group",
        facility_prefectures="北海道、青森県、岩手県、宮城県、秋田県、山形県、福島県、東京都、鹿児島県、沖縄県",
        service_contents=["inspection", "billing", "data_exchange", "other"],
        service_contents_other="健診結果の集計・分析と保険者への報告書作成",
    )
    publish(organization.sheet, change_note="初版")
    return organization


def pages():
    return {
        "all": "/",
        "filtered": "/?classification=institution_group&prefecture=%E6%9D%B1%E4%BA%AC%E9%83%BD",
        "bad-values": "/?classification=nosuch&page=abc&q=" + "あ" * 101,
        "none": "/?q=%E5%AD%98%E5%9C%A8%E3%81%97%E3%81%AA%E3%81%84",
    }


def test_directory_never_scrolls_sideways(browser, live_server, screenshots_dir, directory_data):
    problems = []
    for width in SCREENSHOT_WIDTHS:
        context = context_at_width(browser, width)
        page = context.new_page()
        for name, path in pages().items():
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            measured = page.evaluate(WIDTHS)
            if measured["document"] > width:
                problems.append(f"{name} at {width} px: the page is {measured['document']} px wide")
            if measured["scrollingBoxes"]:
                problems.append(
                    f"{name} at {width} px: boxes scroll sideways: {measured['scrollingBoxes'][:5]}"
                )
            page.screenshot(path=screenshots_dir / f"directory-{name}-{width}.png", full_page=True)
        context.close()
    assert not problems, "\n".join(problems)


def test_filters_are_a_plain_form_with_a_shareable_url(page, live_server, directory_data):
    page.goto(live_server.url + "/")
    expect(page.locator("li.directory-entry")).to_have_count(25)
    page.get_by_label("代行機関の分類").select_option(label="健診・保健指導機関サイド（健診機関グループ）")
    page.get_by_label("キーワード").fill("ヘルスデータマネジメント")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("li.directory-entry")).to_have_count(1)
    expect(page.locator("li.directory-entry h2")).to_have_text(LONG_NAME)
    assert "classification=institution_group" in page.url and "q=" in page.url
    # The same URL gives the same result to anyone.
    other = page.context.new_page()
    other.goto(page.url)
    expect(other.locator("li.directory-entry")).to_have_count(1)
    expect(other.get_by_label("代行機関の分類")).to_have_value("institution_group")
    page.get_by_role("link", name="条件をすべて解除").click()
    expect(page.locator("li.directory-entry")).to_have_count(25)


def test_directory_has_no_accessibility_violation(page, live_server, axe, directory_data):
    for path in ("/", pages()["bad-values"]):
        page.goto(live_server.url + path)
        violations, _incomplete = axe(page)
        assert violations == [], (path, violations)


def test_print_button_prints_and_is_not_printed(page, live_server, directory_data):
    page.context.add_init_script(
        script="window.print = () => { window.printCalls = (window.printCalls || 0) + 1; };"
    )
    page.goto(live_server.url + "/longname/")
    expect(page.locator(".checklist-summary")).to_contain_text("56項目中56項目実施済")
    button = page.get_by_role("button", name="このページを印刷する")
    expect(button).to_be_visible()  # shown by static/js/print.js
    button.click()
    assert page.evaluate("() => window.printCalls") == 1
    page.emulate_media(media="print")
    expect(button).to_be_hidden()


def test_print_button_stays_hidden_without_javascript(browser, live_server, directory_data):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/longname/")
    expect(page.locator("button.print-button")).to_be_hidden()
    context.close()
