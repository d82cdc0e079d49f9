"""What a visitor's browser receives and shows, on a phone as on a desktop: no page
scrolls sideways at 320, 390 or 768 px (with the example and with a 150-character
unbroken URL), the checklist's item text keeps most of the row, rows stay short, no
font file is downloaded and a first visit to /qolead/ transfers at most 60 KB.

Screenshots for people to look at: var/screenshots/phone-<data>-<page>-<width>.png.
"""

import pytest
from playwright.sync_api import expect

from disclosures.publishing import publish

from ..factories import change_sheet
from .conftest import context_at_width

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

PHONE_WIDTHS = (320, 390, 768)
SCREENSHOT_WIDTHS = (*PHONE_WIDTHS, 1280)
# 150 characters without a space or a hyphen: nowhere a browser may break by itself.
LONG_URL = "https://qolead.com/ir/" + "financialstatements2024" * 5 + "kessanreport1"
assert len(LONG_URL) == 150 and " " not in LONG_URL and "-" not in LONG_URL
FIRST_VISIT_LIMIT = 60_000  # 60 KB, 1 KB = 1000 bytes (as make bench counts)
TALLEST_ROW_LIMIT = 800  # px at 390 px; 3,900 px before the checklist was restacked
TEXT_SHARE = 0.60


def public_pages(latest):
    """Every public HTML page, by name; `latest` is the current version's number."""
    return {
        "index": "/",
        "current": "/qolead/",
        "versions": "/qolead/versions/",
        "version-1": "/qolead/versions/1/",
        f"version-{latest}": f"/qolead/versions/{latest}/",
        "diff": f"/qolead/versions/{latest}/diff/",
        "not-found": "/no-such-organisation/",
    }


@pytest.fixture
def long_url_version(two_versions):
    """Version 3 of qolead: a 150-character URL in 財務基盤に関する資料または照会先 (注6
    asks for the URL of the 決算報告書) and as ホームページアドレス."""
    sheet = two_versions.sheet
    change_sheet(sheet, financial_reference=LONG_URL, website_url=LONG_URL)
    publish(sheet, change_note="決算報告書のURLを掲載しました。")
    return two_versions


DATA = {"example": ("two_versions", 2), "long-url": ("long_url_version", 3)}

# JavaScript: how far the page and each of its boxes reach sideways.
WIDTHS = """() => {
    const overflowing = [];
    for (const element of document.querySelectorAll("body *")) {
        const style = getComputedStyle(element);
        if (["auto", "scroll"].includes(style.overflowX) && element.scrollWidth > element.clientWidth + 1) {
            overflowing.push(`${element.tagName.toLowerCase()}.${element.className} ${element.scrollWidth}>${element.clientWidth}`);
        }
    }
    return {
        viewport: document.documentElement.clientWidth,
        document: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
        scrollingBoxes: overflowing,
    };
}"""


@pytest.mark.parametrize("data", DATA)
def test_no_public_page_scrolls_sideways_on_a_phone(data, request, browser, live_server, screenshots_dir):
    fixture, latest = DATA[data]
    request.getfixturevalue(fixture)
    problems = []
    for width in SCREENSHOT_WIDTHS:
        context = context_at_width(browser, width)
        page = context.new_page()
        for name, path in public_pages(latest).items():
            response = page.goto(live_server.url + path)
            assert response.status == (404 if name == "not-found" else 200), path
            if data == "long-url" and name == "current":
                expect(page.locator("main")).to_contain_text(LONG_URL)
            measured = page.evaluate(WIDTHS)
            if measured["viewport"] != width:
                problems.append(f"{path} at {width} px: the viewport is {measured['viewport']} px")
            if measured["document"] > width:
                problems.append(f"{path} at {width} px: the page is {measured['document']} px wide")
            if measured["scrollingBoxes"]:
                problems.append(
                    f"{path} at {width} px: boxes scroll sideways: {measured['scrollingBoxes'][:5]}"
                )
            page.screenshot(path=screenshots_dir / f"phone-{data}-{name}-{width}.png", full_page=True)
        context.close()
    assert not problems, "\n".join(problems)


# JavaScript: for every checklist row, the widths of the row and of its item text,
# and the row's height.
CHECKLIST_ROWS = """() => [...document.querySelectorAll("table.checklist-items tbody tr")].map((row) => ({
    number: row.querySelector("th.no").textContent.trim(),
    row: row.getBoundingClientRect().width,
    text: row.querySelector("td.item-text").getBoundingClientRect().width,
    height: row.getBoundingClientRect().height,
}))"""


@pytest.mark.parametrize("width", SCREENSHOT_WIDTHS)
def test_checklist_item_text_gets_most_of_the_row(width, page, live_server, two_versions):
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(live_server.url + "/qolead/")
    rows = page.evaluate(CHECKLIST_ROWS)
    assert len(rows) == 56
    narrow = [
        f"{row['number']} {row['text']:.0f}/{row['row']:.0f} px"
        for row in rows
        if row["text"] < TEXT_SHARE * row["row"]
    ]
    assert not narrow, f"at {width} px the item text has less than {TEXT_SHARE:.0%} of the row: {narrow[:5]}"


def test_tallest_checklist_row_on_a_phone_is_short(page, live_server, two_versions):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/qolead/")
    rows = page.evaluate(CHECKLIST_ROWS)
    tallest = max(rows, key=lambda row: row["height"])
    print(f"\ntallest checklist row at 390 px: {tallest['number']} {tallest['height']:.0f} px")
    assert tallest["height"] <= TALLEST_ROW_LIMIT, tallest


def test_checklist_status_on_a_phone_says_which_box_is_which(page, live_server, two_versions):
    """Stacked under the item text, each box carries its column's words (実施済 /
    実施予定) on screen; screen readers still get the cell's own words, once."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/qolead/")
    first = page.locator("#checklist-section-1 + .table-scroll tbody tr").first
    boxes = first.locator("td.status .box")
    labels = boxes.evaluate_all("(boxes) => boxes.map((b) => getComputedStyle(b, '::after').content)")
    assert labels == ['"実施済"', '"実施予定"'], labels
    # 実施予定 is below the item text, not beside it.
    text_box = first.locator("td.item-text").bounding_box()
    for status in first.locator("td.status").all():
        assert status.bounding_box()["y"] >= text_box["y"] + text_box["height"] - 1
    tree = first.aria_snapshot()
    assert 'cell "実施済：いいえ"' in tree and "■" not in tree, tree
    # At desktop width the columns are back, without the words beside the boxes.
    page.set_viewport_size({"width": 1280, "height": 900})
    labels = boxes.evaluate_all("(boxes) => boxes.map((b) => getComputedStyle(b, '::after').content)")
    assert labels == ["none", "none"], labels


def test_lists_on_a_phone_show_each_value_with_its_column_words(page, live_server, two_versions):
    """At 390 px the versions list is one block per version, each value after its
    column's words; screen readers get the words from the column headers only."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/qolead/versions/")
    cells = page.locator("table.listing tbody tr").first.locator("td")
    befores = cells.evaluate_all("(cells) => cells.map((c) => getComputedStyle(c, '::before').content)")
    assert befores == [
        f'"{words}：" / ""'
        for words in ("公開日", "最終更新日（概要）", "最終更新日（チェックリスト）", "変更内容", "変更点")
    ]
    first = page.locator("table.listing tbody tr").first
    widths = first.locator("td").evaluate_all("(cells) => cells.map((c) => c.getBoundingClientRect().width)")
    row_width = first.bounding_box()["width"]
    assert all(width >= row_width - 4 for width in widths), (widths, row_width)  # stacked, full width
    tree = first.aria_snapshot()
    assert "公開日：" not in tree and "変更内容：" not in tree, tree
    assert page.get_by_role("columnheader").count() == 6


# --- weight -----------------------------------------------------------------------------


def record_responses(page):
    responses = []
    page.on("response", lambda response: responses.append(response))
    return responses


@pytest.mark.parametrize("width", (390, 1280))
def test_public_pages_load_no_font_file(width, page, live_server, long_url_version):
    page.set_viewport_size({"width": width, "height": 844})
    responses = record_responses(page)
    for path in public_pages(3).values():
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        page.evaluate("() => document.fonts.ready")
        assert page.evaluate("() => [...document.fonts].map((font) => font.family)") == [], path
        # The style sheets ask for none either (no @import of the PDF's @font-face).
        sheets = [response for response in responses if response.request.resource_type == "stylesheet"]
        assert sheets, path
        for response in sheets:
            css = response.text()
            assert "@font-face" not in css and "@import" not in css and ".ttf" not in css, response.url
        fonts = [
            response.url
            for response in responses
            if response.request.resource_type == "font"
            or response.url.split("?")[0].endswith((".ttf", ".otf", ".woff", ".woff2"))
        ]
        assert fonts == [], path
        responses.clear()


def test_public_pages_use_the_visitors_japanese_system_font(page, live_server, two_versions):
    page.goto(live_server.url + "/qolead/")
    family = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    stack = [name.strip().strip('"') for name in family.split(",")]
    for name in ("Hiragino Sans", "Yu Gothic UI", "Meiryo", "Noto Sans CJK JP", "Noto Sans JP"):
        assert name in stack, stack
    assert stack[-1] == "sans-serif"


def test_first_visit_to_the_current_page_transfers_at_most_60_kb(browser, live_server, two_versions):
    """A fresh browser (empty cache) opens /qolead/: everything it receives, headers
    included, as sent (compressed where the server compresses)."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    responses = record_responses(page)
    page.goto(live_server.url + "/qolead/")
    page.wait_for_load_state("networkidle")
    transferred = {}
    for response in responses:
        sizes = response.request.sizes()
        transferred[response.url] = sizes["responseBodySize"] + sizes["responseHeadersSize"]
    total = sum(transferred.values())
    print(f"\nfirst visit to /qolead/: {total:,} bytes", transferred)
    page_response = next(r for r in responses if r.url == live_server.url + "/qolead/")
    assert page_response.header_value("content-encoding") == "gzip"
    assert set(transferred) == {
        live_server.url + "/qolead/",
        live_server.url + "/static/css/portal.css",
        live_server.url + "/static/js/print.js",  # the print button's
    }
    assert total <= FIRST_VISIT_LIMIT, transferred
    context.close()
