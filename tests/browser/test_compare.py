"""The comparison (/compare/) in a real browser: chosen with the form or from an agency
page, no sideways scroll at 320 and 390 px (each row a block, its values one under
another, each beside its agency's name), differences marked in words, no axe violation, the CSV downloads.

Data: qolead (version 2: one item 実施予定), kenshin, and two more agencies, one with
a 150-character unbroken URL.

Screenshots for people to look at: var/screenshots/compare-<n>-<width>.png.
"""

import pytest
from playwright.sync_api import expect

from disclosures.publishing import publish

from ..factories import new_organization
from .conftest import context_at_width
from .test_phone import LONG_URL, WIDTHS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

SCREENSHOT_WIDTHS = (320, 390, 768, 1280)
FOUR = "/compare/?o=qolead&o=kenshin&o=daisan&o=daiyon"


@pytest.fixture
def four_agencies(two_versions):
    third = new_organization("daisan", "第三健診代行株式会社", classification="insurer")
    publish(third.sheet, change_note="初版")
    fourth = new_organization("daiyon", "第四代行株式会社")
    fourth.sheet.website_url = LONG_URL
    fourth.sheet.save()
    publish(fourth.sheet, change_note="初版")
    return two_versions


def new_page(browser, width):
    context = context_at_width(browser, width)
    return context, context.new_page()


def test_the_comparison_never_scrolls_sideways(browser, live_server, four_agencies, screenshots_dir):
    problems = []
    for width in SCREENSHOT_WIDTHS:
        context, page = new_page(browser, width)
        # The agency page too, whose header now links to the comparison.
        for count, path in ((2, "/compare/?o=qolead&o=kenshin"), (4, FOUR), ("agency", "/qolead/")):
            response = page.goto(live_server.url + path)
            assert response.status == 200
            measured = page.evaluate(WIDTHS)
            if measured["document"] > width:
                problems.append(f"{path} at {width} px: the page is {measured['document']} px wide")
            if width < 768 and measured["scrollingBoxes"]:
                problems.append(
                    f"{path} at {width} px: boxes scroll sideways: {measured['scrollingBoxes'][:5]}"
                )
            page.screenshot(path=screenshots_dir / f"compare-{count}-{width}.png", full_page=True)
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", (320, 390))
def test_on_a_phone_each_value_is_under_its_agencys_name(width, page, live_server, four_agencies):
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_server.url + FOUR)
    row = page.locator("table.comparison tr", has_text="所在地(住所)").first
    cells = row.locator("td")
    expect(cells).to_have_count(4)
    names = cells.locator(".agency-name")
    expect(names).to_have_text(
        ["株式会社QOLead", "健診代行株式会社", "第三健診代行株式会社", "第四代行株式会社"]
    )
    row_box = row.bounding_box()
    previous_bottom = row.locator("th").bounding_box()["y"]
    for index in range(4):
        cell_box = cells.nth(index).bounding_box()
        assert cell_box["width"] >= row_box["width"] - 12, (cell_box, row_box)  # the row's width
        assert cell_box["y"] >= previous_bottom - 1  # one under another
        previous_bottom = cell_box["y"] + cell_box["height"]
        name_box = names.nth(index).bounding_box()
        value_box = cells.nth(index).locator(".compare-value").bounding_box()
        assert name_box["x"] + name_box["width"] <= value_box["x"]  # the name beside its value
        assert value_box["width"] >= 0.55 * row_box["width"]
    # The mark of a differing row is words, on screen and in what is spoken.
    expect(row.locator(".difference")).to_have_text("違いあり")
    assert "違いあり" in row.aria_snapshot()


def test_at_desktop_width_the_agencies_are_columns(page, live_server, four_agencies):
    page.goto(live_server.url + FOUR)
    headers = page.locator("table.comparison thead th")
    expect(headers).to_have_text(
        ["項目", "株式会社QOLead", "健診代行株式会社", "第三健診代行株式会社", "第四代行株式会社"]
    )
    row = page.locator("table.comparison tr", has_text="所在地(住所)").first
    tops = [cell.bounding_box()["y"] for cell in row.locator("td").all()]
    assert max(tops) - min(tops) < 1, tops  # side by side
    expect(row.locator(".agency-name").first).to_be_hidden()  # the column headers name them


def test_agencies_are_chosen_with_the_form_without_javascript(browser, live_server, four_agencies):
    context = browser.new_context(java_script_enabled=False, locale="ja-JP")
    page = context.new_page()
    page.goto(live_server.url + "/qolead/")
    page.get_by_role("link", name="他の代行機関と比較").click()
    expect(page.get_by_role("status")).to_have_text("比較する代行機関を2〜4機関選んでください。")
    expect(page.get_by_role("checkbox", name="株式会社QOLead")).to_be_checked()
    page.get_by_role("checkbox", name="健診代行株式会社", exact=True).check()
    page.get_by_role("checkbox", name="第四代行株式会社").check()
    page.get_by_role("button", name="比較する").click()
    assert page.url.endswith("/compare/?o=kenshin&o=qolead&o=daiyon")
    expect(page.locator("table.comparison thead th.agency")).to_have_count(3)
    context.close()


def test_the_csv_downloads_with_a_bom(page, live_server, four_agencies):
    page.goto(live_server.url + "/compare/?o=kenshin&o=qolead")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="この表をCSVでダウンロード（Excel対応）").click()
    download = download_info.value
    assert download.suggested_filename == "compare-kenshin-qolead.csv"
    content = open(download.path(), "rb").read()
    assert content.startswith("\ufeff見出し,項目,健診代行株式会社,株式会社QOLead,違い".encode())


@pytest.mark.parametrize("viewport", ({"width": 1280, "height": 900}, {"width": 390, "height": 844}))
def test_axe_finds_no_violation(viewport, page, live_server, four_agencies, axe):
    page.set_viewport_size(viewport)
    for path in (FOUR, "/compare/", "/compare/?o=qolead&o=nobody"):
        page.goto(live_server.url + path)
        violations, _incomplete = axe(page)
        assert violations == [], (path, violations)
