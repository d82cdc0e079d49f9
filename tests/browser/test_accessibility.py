"""Accessibility of the public pages, in a real browser: axe-core finds no serious or
critical violation, tables have real headers, every □/■ state is spoken, the
keyboard reaches everything, the language is Japanese.

Data (fixture two_versions): qolead versions 1 and 2 (2: a sheet field changed, the
first checklist item 実施予定, so ガイドラインの遵守 is 遵守する予定) and a second
published organisation.
"""

import re

import pytest
from playwright.sync_api import expect

from .conftest import PLANNED_TIME

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

PUBLIC_PAGES = {
    "index": "/",
    "current": "/qolead/",
    "versions": "/qolead/versions/",
    "version-1": "/qolead/versions/1/",
    "version-2": "/qolead/versions/2/",
    "diff": "/qolead/versions/2/diff/",
    "not-found": "/no-such-organisation/",
}
WIDTHS = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
    "small phone": {"width": 320, "height": 640},  # the stacked checklist and lists
}
BLOCKING = {"serious", "critical"}


def describe(results, nodes=10):
    """axe's results as lines: rule id, impact, help, then the first nodes' targets
    with the last line of axe's explanation."""
    lines = []
    for rule in results:
        lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']}")
        for node in rule["nodes"][:nodes]:
            reason = node["summary"].splitlines()[-1].strip() if node["summary"] else ""
            lines.append(f"    {node['target']}: {reason}")
        if len(rule["nodes"]) > nodes:
            lines.append(f"    … and {len(rule['nodes']) - nodes} more")
    return "\n".join(lines)


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_axe_finds_no_serious_or_critical_violation(name, page, live_server, two_versions, axe):
    path = PUBLIC_PAGES[name]
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        response = page.goto(live_server.url + path)
        assert response.status == (404 if name == "not-found" else 200)
        expect(page).to_have_url(live_server.url + path)  # the index lists two: no redirect
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page).to_have_title(re.compile(r"\S"))
        expect(page.locator("h1")).to_have_count(
            1 if name not in ("current", "version-1", "version-2") else 2
        )
        violations, incomplete = axe(page)
        # Everything axe reports is printed (pytest -rA or on failure) for people to judge.
        print(f"\n{path} at {width} width: {len(violations)} violations, {len(incomplete)} to review")
        print(describe(violations))
        print("to review (axe could not decide):\n" + (describe(incomplete) or "none"))
        blocking = [rule for rule in violations if rule["impact"] in BLOCKING]
        assert not blocking, f"{path} at {width} width:\n{describe(blocking)}"


def test_axe_really_runs_and_reports_violations(page, live_server, axe):
    """The vendored axe-core is injected and would catch a real problem: a page of
    ours spoiled on purpose (an image without alt, a button without a name, a
    headerless table cell is left to the table test) is reported."""
    page.goto(live_server.url + PUBLIC_PAGES["not-found"])
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
            '<img src="/static/none.png"><button type="button"></button>')"""
    )
    violations, _ = axe(page)
    found = {rule["id"]: rule["impact"] for rule in violations}
    assert found.get("image-alt") == "critical" and found.get("button-name") == "critical", found


# JavaScript: every data cell of a table has a header cell (<th>) in its row, to its
# left, or in its column, above it, after rowspan/colspan are laid out on a grid.
HEADERLESS_CELLS = """(table) => {
    const grid = [];
    table.querySelectorAll("tr").forEach((tr, y) => {
        grid[y] = grid[y] || [];
        let x = 0;
        for (const cell of tr.cells) {
            while (grid[y][x]) x++;
            for (let dy = 0; dy < cell.rowSpan; dy++) {
                grid[y + dy] = grid[y + dy] || [];
                for (let dx = 0; dx < cell.colSpan; dx++) grid[y + dy][x + dx] = cell;
            }
            x += cell.colSpan;
        }
    });
    const missing = [];
    grid.forEach((row, y) => row.forEach((cell, x) => {
        if (cell.tagName !== "TD" || !cell.textContent.trim()) return;
        const inRow = row.slice(0, x).some((c) => c.tagName === "TH");
        const inColumn = grid.slice(0, y).some((r) => r[x] && r[x].tagName === "TH");
        if (!inRow && !inColumn) missing.push(cell.textContent.trim().slice(0, 40));
    }));
    return missing;
}"""


# The index is a list of organisations, each with a <dl>: no table (tests/browser/test_directory.py).
@pytest.mark.parametrize("name", ["current", "versions", "diff"])
def test_tables_have_real_headers(name, page, live_server, two_versions):
    page.goto(live_server.url + PUBLIC_PAGES[name])
    tables = page.locator("main table")
    assert tables.count() > 0
    for table in tables.all():
        assert table.evaluate(HEADERLESS_CELLS) == []
        # Every <th> says what it heads; no header is a bold <td>.
        headers = table.locator("th")
        assert headers.count() > 0
        for scope in headers.evaluate_all("(ths) => ths.map((th) => th.scope)"):
            assert scope in ("col", "row", "rowgroup", "colgroup")
        # ... and the browser exposes them as headers.
        assert (
            table.get_by_role("columnheader").count() + table.get_by_role("rowheader").count()
            == headers.count()
        )

    if name == "versions":
        expect(tables.get_by_role("columnheader")).to_have_text(
            ["版", "公開日", "最終更新日（概要）", "最終更新日（チェックリスト）", "変更内容", "変更点"]
        )
        expect(tables.locator("tbody").get_by_role("rowheader")).to_have_count(2)
    if name == "current":
        for table in page.locator("table.checklist-items").all():
            expect(table.get_by_role("columnheader")).to_have_text(
                ["No", "チェック項目", "実施済", "実施予定(実施時期)"]
            )
            expect(table.get_by_role("rowheader")).to_have_count(table.locator("tbody tr").count())
    if name == "diff":
        for table in tables.all():
            expect(table.get_by_role("columnheader")).to_have_text(["項目", "変更前", "変更後"])


# JavaScript: for each □ group option and each checklist status cell, the glyph
# (hidden from screen readers), the words screen readers get, and whether those
# words are really rendered into the accessibility tree (not display:none etc.).
STATES = """(elements) => elements.map((element) => {
    const box = element.querySelector(".box");
    const spoken = element.querySelector(".visually-hidden");
    const style = spoken && getComputedStyle(spoken);
    return {
        glyph: box ? box.textContent : null,
        glyphHidden: box ? box.getAttribute("aria-hidden") === "true" : null,
        spoken: spoken ? spoken.textContent : null,
        spokenRendered: !!style && style.display !== "none" && style.visibility !== "hidden"
            && !spoken.closest("[aria-hidden=true], [hidden]"),
        checkedClass: element.classList.contains("is-checked"),
    };
})"""


def test_every_box_state_is_spoken_not_only_drawn(page, live_server, two_versions):
    page.goto(live_server.url + "/qolead/")

    snapshot = two_versions.publications.get(number=2).snapshot
    options = page.locator("li.option").evaluate_all(STATES)
    assert len(options) == sum(
        len(cell["options"])
        for part in snapshot["sheet"]["parts"]
        for row in part["rows"]
        for cell in row["cells"]
        if cell["kind"] == "options"
    )
    for option in options:
        assert option["glyphHidden"] and option["spokenRendered"], option
        checked = option["glyph"] == "■"
        assert option["glyph"] in ("■", "□") and checked == option["checkedClass"], option
        assert option["spoken"] == ("（選択）" if checked else "（非選択）"), option

    statuses = page.locator("table.checklist-items td.status").evaluate_all(STATES)
    assert len(statuses) == 2 * 56
    for done, planned in zip(statuses[::2], statuses[1::2]):
        for cell, words in ((done, "実施済："), (planned, "実施予定：")):
            assert cell["glyphHidden"] and cell["spokenRendered"], cell
            assert cell["spoken"] == words + ("はい" if cell["glyph"] == "■" else "いいえ"), cell
        assert [done["glyph"], planned["glyph"]].count("■") == 1

    # What a screen reader gets, from the browser's accessibility tree: the words,
    # never the glyphs. ガイドラインの遵守 (注8) is 遵守する予定 on version 2.
    compliance = page.locator("table.sheet-part tr").filter(
        has=page.locator("th.label", has_text=re.compile(r"^ガイドラインの遵守"))
    )
    tree = compliance.locator("ul.options").aria_snapshot()
    assert "■" not in tree and "□" not in tree, tree
    assert re.search(r"listitem: （非選択）\s?最低限のガイドラインを遵守済\n", tree), tree
    assert re.search(r"listitem: （選択）\s?最低限のガイドラインを遵守する予定\n", tree), tree
    assert re.search(r"listitem: （非選択）\s?最低限のガイドラインを遵守していない$", tree), tree

    first_item = page.locator("#checklist-section-1 + .table-scroll tbody tr").first
    tree = first_item.aria_snapshot()
    assert "■" not in tree and "□" not in tree, tree
    assert 'cell "実施済：いいえ"' in tree, tree
    assert re.search(rf'cell "実施予定：はい\s?\({PLANNED_TIME}\)"', tree), tree

    # Every table of both documents: no glyph reaches the tree (the instructions
    # above the tables quote □ and ■ as words, which is right).
    chosen = 0
    for table in page.locator("table.sheet-part, table.checklist-items").all():
        tree = table.aria_snapshot()
        assert "■" not in tree and "□" not in tree, tree
        chosen += len(re.findall(r"- listitem: （選択）", tree))
    assert chosen == page.locator("li.option.is-checked").count()


def focused(page):
    """The focused element: its text, whether it shows a focus ring, the ring's
    colour and the colour behind the ring (the first opaque ancestor's)."""
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            let behind = "rgb(255, 255, 255)";
            for (let a = e.parentElement; a; a = a.parentElement) {
                const color = getComputedStyle(a).backgroundColor;
                if (color !== "rgba(0, 0, 0, 0)" && color !== "transparent") { behind = color; break; }
            }
            const style = getComputedStyle(e);
            return {
                tag: e.tagName, id: e.id, text: (e.innerText || "").trim(),
                visible: e.matches(":focus-visible"), outline: style.outlineStyle,
                outlineColor: style.outlineColor, behind,
            };
        }"""
    )


def contrast(color_a, color_b):
    """WCAG contrast ratio of two computed colours ("rgb(r, g, b)")."""

    def luminance(color):
        channels = [int(c) / 255 for c in re.findall(r"\d+", color)[:3]]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(color_a), luminance(color_b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def assert_focus_ring(stop):
    """A solid ring of at least 3:1 against what surrounds it (WCAG 1.4.11)."""
    assert stop["visible"] and stop["outline"] not in ("none", "auto"), stop
    assert contrast(stop["outlineColor"], stop["behind"]) >= 3, stop


def tab_through(page, limit=40):
    """Press Tab until focus leaves the page or `limit`; the focused elements in order."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        if element["tag"] == "BODY" or (seen and element == seen[0]):
            break
        seen.append(element)
    return seen


def tab_to(page, locator, limit=40):
    """Press Tab until `locator` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("(element) => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {locator}")


def test_skip_link_is_the_first_stop_and_moves_focus_to_main(page, live_server, two_versions):
    page.goto(live_server.url + "/qolead/")
    skip = page.get_by_role("link", name="本文へ移動")
    expect(skip).not_to_be_in_viewport()  # out of sight until focused

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_ring(focused(page))

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"#main$"))
    # The next Tab goes on inside main, past the header's links.
    page.keyboard.press("Tab")
    expect(page.locator(".version-summary").get_by_role("link", name="この版の固定リンク")).to_be_focused()


def test_keyboard_reaches_every_version_link_with_a_visible_focus(page, live_server, two_versions):
    page.goto(live_server.url + "/qolead/")
    stops = tab_through(page, limit=25)
    texts = [stop["text"] for stop in stops]
    assert texts[:4] == ["本文へ移動", "代行機関 重要事項の開示", "現在の版", "変更履歴"], texts
    for link in ("更新情報 (Atom)", "この版の固定リンク", "第1版からの変更点", "PDF（監査・保存用）", "JSON"):
        assert link in texts, texts
    for stop in stops:
        assert_focus_ring(stop)

    # The history page: each version and each diff, then Enter follows the link.
    page.goto(live_server.url + "/qolead/versions/")
    texts = [stop["text"] for stop in tab_through(page)]
    for link in ("第2版", "第1版との差分", "第1版"):
        assert link in texts, texts
    page.reload()
    tab_to(page, page.get_by_role("link", name="第1版との差分"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/qolead/versions/2/diff/")

    # The index: both organisations.
    page.goto(live_server.url + "/")
    texts = [stop["text"] for stop in tab_through(page)]
    assert texts.count(two_versions.sheet.name) == 1 and texts.count("健診代行株式会社") == 1, texts
