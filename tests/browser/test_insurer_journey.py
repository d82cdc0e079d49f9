"""Issue 15's journey in Chromium with 1,000 generated agencies: the directory filtered
with its form (健診機関グループ, 東京都, 遵守済), three results ticked with their
「比較する」 boxes and compared, then an agency's subscription page; at 390, 768 and 1280 px,
the directory and the comparison with no sideways scroll.

Screenshots for people to look at: var/screenshots/journey-<page>-<width>.png.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from checklist.models import Compliance
from disclosures.models import Classification

from .conftest import context_at_width
from .test_phone import WIDTHS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]


@pytest.fixture
def thousand_agencies(db):
    call_command("generate_directory_bench", count=1000, verbosity=0)


def sideways(page, width):
    measured = page.evaluate(WIDTHS)
    problems = []
    if measured["document"] > width:
        problems.append(f"the page is {measured['document']} px wide")
    if measured["scrollingBoxes"]:
        problems.append(f"boxes scroll sideways: {measured['scrollingBoxes'][:5]}")
    return problems


@pytest.mark.parametrize("width", [390, 768, 1280])
def test_filter_tick_three_compare_and_subscribe(
    browser, live_server, thousand_agencies, screenshots_dir, width
):
    context = context_at_width(browser, width)
    page = context.new_page()
    problems = []
    page.goto(live_server.url + "/")
    expect(page.locator("p.directory-count")).to_contain_text("代行機関 1000件")
    page.get_by_label("代行機関の分類").select_option(label=Classification.INSTITUTION_GROUP.label)
    page.get_by_label("都道府県名").select_option(label="東京都")
    page.get_by_label("ガイドラインの遵守").select_option(label=Compliance.COMPLIED.label)
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("p.directory-count")).to_contain_text("条件に合う代行機関")
    cards = page.locator("li.directory-entry")
    assert cards.count() >= 3
    problems += [f"directory at {width} px: {p}" for p in sideways(page, width)]

    names = [cards.nth(i).locator("h2").inner_text() for i in range(3)]
    for i, name in enumerate(names):  # each box is named after its agency
        box = cards.nth(i).get_by_role("checkbox")
        expect(box).to_have_accessible_name(f"比較する（{name}）")
        page.get_by_role("checkbox", name=f"比較する（{name}）").check()
    page.screenshot(path=screenshots_dir / f"journey-directory-{width}.png", full_page=True)
    page.get_by_role("button", name="選んだ代行機関を比較").first.click()

    expect(page.locator("h1")).to_have_text("代行機関の比較")
    expect(page.locator("th.agency")).to_have_text(names)
    assert page.url.count("o=bench-") == 3
    problems += [f"comparison at {width} px: {p}" for p in sideways(page, width)]
    page.screenshot(path=screenshots_dir / f"journey-compare-{width}.png", full_page=True)

    # The agency's page from the comparison (on a phone from the first row: the headings are hidden).
    heading = "tbody.compare-facts .agency-name" if width < 640 else "thead th.agency"
    page.locator(heading).get_by_role("link", name=names[0], exact=True).first.click()
    expect(page).to_have_title(re.compile(re.escape(names[0])))
    page.get_by_role("textbox", name="メールアドレス").fill("tanto@example.jp")
    page.get_by_role("button", name="確認のメールを送る").click()
    expect(page.locator(".subscribe-box")).to_contain_text("メール")
    page.goto(page.url.split("/subscribe/")[0] + "/subscribe/")
    problems += [f"subscribe page at {width} px: {p}" for p in sideways(page, width)]
    page.screenshot(path=screenshots_dir / f"journey-subscribe-{width}.png", full_page=True)
    context.close()
    assert not problems, "\n".join(problems)


def test_the_ticked_directory_and_its_comparison_have_no_accessibility_violation(
    page, live_server, axe, thousand_agencies
):
    page.goto(live_server.url + "/?classification=institution_group&compliance=complied")
    boxes = page.locator("li.directory-entry").get_by_role("checkbox")
    for i in range(3):
        boxes.nth(i).check()
    violations, _incomplete = axe(page)
    assert violations == [], violations
    page.get_by_role("button", name="選んだ代行機関を比較").last.click()
    expect(page.locator("th.agency")).to_have_count(3)
    violations, _incomplete = axe(page)
    assert violations == [], violations
