"""The directory at /, the checklist summary, the feed of all agencies, the PDF shown
in the browser, the print button and the bench data generator (issue 15)."""

import importlib
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from checklist.models import Answer
from disclosures import directory, public_cache
from disclosures.directory_facts import (
    ChecklistSummary,
    checklist_summary,
    directory_facts,
    latest_planned_time,
    planned_month,
)
from disclosures.management.commands.generate_directory_bench import SLUG_PREFIX
from disclosures.models import DirectoryEntry, Organization, Publication, PublicationQuerySet
from disclosures.publishing import draft_problems
from disclosures.snapshot import build_snapshot

from .factories import ROOT, change_sheet, frozen_at, new_organization, plan, publish_change, utc
from .html_forms import form_to, forms_of

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


class DirectoryReader(HTMLParser):
    """The directory as read: each organisation's card as {"名称": …, <dt>: <dd>}, the
    count line and the error messages."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.entries, self.errors, self.count = [], [], ""
        self._buffer, self._dt, self._where = None, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "li" and "directory-entry" in classes:
            self.entries.append({})
        elif tag in ("h2", "dt", "dd") and self.entries and self._where is None:
            self._buffer, self._where = [], tag
        elif tag == "div" and "form-errors" in classes:
            self._where = "errors"
        elif tag == "li" and self._where == "errors":
            self._buffer = []
        elif tag == "p" and "directory-count" in classes:
            self._buffer, self._where = [], "count"

    def handle_endtag(self, tag):
        text = "".join(self._buffer or []).strip()
        if tag == "h2" and self._where == "h2":
            self.entries[-1]["名称"] = text
        elif tag == "dt" and self._where == "dt":
            self._dt = text
        elif tag == "dd" and self._where == "dd":
            self.entries[-1][self._dt] = text
        elif tag == "li" and self._where == "errors":
            self.errors.append(text)
            return
        elif tag == "div" and self._where == "errors":
            pass
        elif tag == "p" and self._where == "count":
            self.count = " ".join(text.split())
        else:
            return
        self._buffer, self._where = None, None

    def handle_data(self, data):
        if self._buffer is not None:
            self._buffer.append(data)


def directory_of(client, query=""):
    response = client.get("/" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.status_code
    return DirectoryReader(response.content.decode())


def names(client, query=""):
    return [entry["名称"] for entry in directory_of(client, query).entries]


@pytest.fixture
def three(sheet):
    """qolead (医療保険者サイド, 東京都, 保険者向け, 事務点検 …, all 実施済) and two others."""
    kenshin = new_organization("kenshin", "健診代行株式会社", classification="institution_group")
    change_sheet(
        kenshin.sheet,
        facility_prefectures="大阪府、京都府",
        service_targets=["institution"],
        service_contents=["billing", "other"],
        service_contents_other="結果通知の印刷",
        hours_system="平日 8:00-20:00",
        website_url="https://kenshin.example.jp/",
        contact_email="info@kenshin.example.jp",
    )
    plan(kenshin.sheet, 3, "2027年3月")
    plan(kenshin.sheet, 10, "2026年12月")
    with frozen_at(utc(2026, 11, 28, 16, 0)):  # 29 November in Tokyo
        publish_change(kenshin.sheet, "初版")
    hoken = new_organization("hoken", "保健データ協会", classification="institution_other")
    change_sheet(
        hoken.sheet,
        facility_prefectures="東京都",
        service_targets=["insurer", "institution"],
        website_url="https://hoken.example.jp/",
        contact_email="info@hoken.example.jp",
    )
    publish_change(hoken.sheet, "初版")
    return sheet, kenshin, hoken


# --- what a row shows ------------------------------------------------------------------


def test_directory_shows_every_organisation_with_its_facts(client, three):
    entries = directory_of(client).entries
    assert [e["名称"] for e in entries] == ["保健データ協会", "健診代行株式会社", "株式会社QOLead"]
    kenshin = entries[1]
    assert kenshin == {
        "名称": "健診代行株式会社",
        "代行機関の分類": "健診・保健指導機関サイド（健診機関グループ）",
        "提供するサービス 対象": "健診・保健指導機関向け",
        "提供するサービス 内容": "請求・支払のとりまとめ・代行、その他（結果通知の印刷）",
        "都道府県名": "大阪府、京都府",
        "ガイドラインの遵守": "最低限のガイドラインを遵守する予定",
        "チェックリスト": "56項目中54項目実施済・2項目実施予定（最終の実施予定 2027年3月）",
        "最終更新日（重要事項の概要）": "2026年11月29日",
        "最終更新日（チェックリスト）": "2026年11月29日",
        "版": "第1版",
    }
    qolead = entries[2]
    assert qolead["ガイドラインの遵守"] == "最低限のガイドラインを遵守済"
    assert qolead["チェックリスト"] == "56項目中56項目実施済"
    assert qolead["最終更新日（重要事項の概要）"] == "2022年4月1日"


def test_directory_shows_the_current_version_only(client, three):
    sheet = three[0]
    with frozen_at(utc(2026, 11, 28, 16, 0)):
        publish_change(sheet, "拠点を追加", facility_prefectures="東京都、北海道")
    qolead = directory_of(client).entries[2]
    assert qolead["版"] == "第2版"
    assert qolead["都道府県名"] == "東京都、北海道"
    assert qolead["最終更新日（重要事項の概要）"] == "2026年11月29日"
    assert qolead["最終更新日（チェックリスト）"] == "2022年4月1日"
    assert names(client, "prefecture=北海道") == ["株式会社QOLead"]


def test_directory_rows_go_through_current(client, three, monkeypatch):
    """Always Publication.objects.current(): a version current() leaves out (e.g. one
    scheduled for later) is neither listed nor found."""
    original = PublicationQuerySet.current
    monkeypatch.setattr(
        PublicationQuerySet, "current", lambda self: original(self).exclude(title="保健データ協会")
    )
    assert names(client) == ["健診代行株式会社", "株式会社QOLead"]
    assert names(client, "q=保健データ") == []


def test_unpublished_organisations_and_drafts_are_neither_shown_nor_found(client, three):
    new_organization("mikoukai", "未公開株式会社")
    change_sheet(three[0], hours_helpdesk="未公開の下書きの値")
    body = client.get("/").content.decode()
    assert "未公開株式会社" not in body
    assert names(client, "q=未公開") == []


def test_only_organisation_and_no_parameters_redirects_to_its_page(client, example_org):
    assert client.get("/")["Location"] == "/qolead/"
    # With a condition it is the directory, even for one result.
    assert names(client, "q=QOLead") == ["株式会社QOLead"]


# --- filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("classification=insurer", ["株式会社QOLead"]),
        ("classification=institution_group", ["健診代行株式会社"]),
        ("target=institution", ["保健データ協会", "健診代行株式会社"]),
        ("target=insurer", ["保健データ協会", "株式会社QOLead"]),
        ("content=other", ["健診代行株式会社"]),
        ("content=inspection", ["保健データ協会", "株式会社QOLead"]),
        ("prefecture=東京都", ["保健データ協会", "株式会社QOLead"]),
        ("prefecture=京都府", ["健診代行株式会社"]),
        ("compliance=planned", ["健診代行株式会社"]),
        ("compliance=complied", ["保健データ協会", "株式会社QOLead"]),
        ("prefecture=東京都&target=institution&compliance=complied", ["保健データ協会"]),
        ("prefecture=東京都&classification=institution_group", []),
    ],
)
def test_filters_narrow_the_directory(client, three, query, expected):
    assert names(client, query) == expected


def test_no_match_says_so(client, three):
    page = directory_of(client, "prefecture=沖縄県")
    assert page.entries == []
    assert page.count == "条件に合う代行機関はありません。条件を変えてお試しください。"


def test_the_form_keeps_the_chosen_conditions(client, three):
    html = client.get("/?prefecture=東京都&q=QOLead").content.decode()
    assert '<option value="東京都" selected>東京都</option>' in html
    assert 'name="q" id="id_q" value="QOLead"' in html


@pytest.mark.parametrize(
    "query, message",
    [
        (
            "classification=nosuch",
            "代行機関の分類: 「nosuch」は選べません。この条件では絞り込まずに表示しています。",
        ),
        ("prefecture=東京", "都道府県名: 「東京」は選べません。この条件では絞り込まずに表示しています。"),
        (
            "compliance=%3Cscript%3E",
            "ガイドラインの遵守: 「<script>」は選べません。この条件では絞り込まずに表示しています。",
        ),
    ],
)
def test_a_value_not_offered_is_reported_and_left_out(client, three, query, message):
    page = directory_of(client, query + "&target=institution")
    assert page.errors == [message]
    assert [e["名称"] for e in page.entries] == ["保健データ協会", "健診代行株式会社"]  # target still applies


def test_a_bad_value_is_escaped(client, three):
    html = client.get("/?compliance=%3Cscript%3E").content.decode()
    assert "<script>" not in html and "&lt;script&gt;" in html


# --- search ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q, expected",
    [
        ("QOLead", ["株式会社QOLead"]),
        ("qolead", ["株式会社QOLead"]),  # case folded
        ("ＱＯＬｅａｄ", ["株式会社QOLead"]),  # full-width: NFKC
        ("結果通知", ["健診代行株式会社"]),  # その他's words
        ("8:00-20:00", ["健診代行株式会社"]),  # a text value
        ("2026年12月", ["健診代行株式会社"]),  # a 実施時期
        ("事務点検", ["保健データ協会", "株式会社QOLead"]),  # a ticked box's label
        ("大阪府大阪市北区", ["保健データ協会", "健診代行株式会社"]),  # 所在地
        ("代行 印刷", ["健診代行株式会社"]),  # every term
        ("健診 存在しない語", []),
        ("  ", ["保健データ協会", "健診代行株式会社", "株式会社QOLead"]),
    ],
)
def test_search_finds_names_and_every_published_text(client, three, q, expected):
    assert names(client, f"q={q}") == expected


def test_search_treats_like_wildcards_literally(client, three):
    assert names(client, "q=%25") == []
    assert names(client, "q=_") == []


@pytest.mark.parametrize("q", ["a" * 101, "\x00", "<script>alert(1)</script>"])
def test_hostile_or_overlong_search_is_answered(client, three, q):
    response = client.get("/", {"q": q})
    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()


def test_overlong_search_says_so(client, three):
    page = directory_of(client, "q=" + "a" * 101)
    assert page.errors == [
        "キーワード: 100文字以内で入力してください。キーワードでは絞り込まずに表示しています。"
    ]
    assert len(page.entries) == 3


# --- choosing agencies to compare from the directory ---------------------------------------


def test_each_card_can_be_ticked_for_comparison_in_a_form_of_its_own(client, three):
    html = client.get("/?target=institution").content.decode()
    filters = form_to(html, "/")
    assert "o" not in filters.names() and filters.buttons == ["絞り込む"]
    choose = form_to(html, "/compare/")
    assert choose.method == "get" and "q" not in choose.names()
    assert choose.name == "2〜4機関の「比較する」を選ぶと、記載内容を並べて比べられます。"
    # One checkbox per card, its label naming the agency (to a screen reader too).
    assert [(c.name, c.value, c.label) for c in choose.checkboxes()] == [
        ("o", "hoken", "比較する（保健データ協会）"),
        ("o", "kenshin", "比較する（健診代行株式会社）"),
    ]
    assert not any(c.checked for c in choose.checkboxes())
    assert set(choose.buttons) == {"選んだ代行機関を比較"}


def test_ticked_cards_open_their_comparison(client, three):
    choose = form_to(client.get("/").content.decode(), "/compare/")
    query = choose.query(ticked={"qolead", "kenshin"})
    assert query == "o=kenshin&o=qolead"  # in the directory's order
    response = client.get(f"/compare/?{query}")
    assert response.status_code == 200
    headings = [f.label for f in forms_of(response.content.decode())[0].checkboxes() if f.checked]
    assert headings == ["健診代行株式会社", "株式会社QOLead"]
    assert "2機関の現在公開中の版を並べています。" in response.content.decode()


def test_ticking_one_card_or_none_asks_for_two_to_four(client, three):
    choose = form_to(client.get("/").content.decode(), "/compare/")
    for ticked, words in (
        ({"hoken"}, "比較する代行機関を2〜4機関選んでください。"),
        # Nothing ticked reads as /compare/ opened directly: its form, open, says how many.
        (set(), "<legend>2〜4機関を選んでください</legend>"),
    ):
        response = client.get(f"/compare/?{choose.query(ticked=ticked)}")
        assert response.status_code == 200
        assert words in response.content.decode()
        assert "<details open>" in response.content.decode()
        ticked_again = {
            c.value for c in form_to(response.content.decode(), "/compare/").checkboxes() if c.checked
        }
        assert ticked_again == ticked  # the choice is kept in the comparison's own form


def test_ticking_five_cards_is_refused_with_the_number(client, official_template):
    call_command("generate_directory_bench", count=5, verbosity=0)
    choose = form_to(client.get("/").content.decode(), "/compare/")
    assert len(choose.checkboxes()) == 5
    response = client.get(f"/compare/?{choose.query(ticked={c.value for c in choose.checkboxes()})}")
    assert response.status_code == 400
    assert "比較できるのは4機関までです（5機関が選ばれています）。4機関以内に減らしてください。" in (
        response.content.decode()
    )


def test_the_directory_links_to_subscribing_to_all_and_to_the_feed(client, three):
    html = client.get("/").content.decode()
    links = html.split('<ul class="directory-links">', 1)[1].split("</ul>", 1)[0]
    assert '<a href="/subscribe/">すべての代行機関の更新をメールで受け取る</a>' in links
    assert '<a href="/feed/">すべての代行機関の更新情報 (Atom)</a>' in links
    assert client.get("/subscribe/").status_code == 200 and client.get("/feed/").status_code == 200


def test_no_results_means_no_comparison_form(client, three):
    html = client.get("/?prefecture=沖縄県").content.decode()
    assert [f.action for f in forms_of(html)] == ["/"]


# --- pages -----------------------------------------------------------------------------


def test_directory_is_paginated_and_keeps_the_conditions(client, three, monkeypatch):
    monkeypatch.setattr(directory, "PAGE_SIZE", 2)
    first = directory_of(client)
    assert [e["名称"] for e in first.entries] == ["保健データ協会", "健診代行株式会社"]
    assert first.count == "代行機関 3件（1〜2件目）"
    assert [e["名称"] for e in directory_of(client, "page=2").entries] == ["株式会社QOLead"]
    html = client.get("/?target=insurer&page=1").content.decode()
    assert "?target=insurer&amp;page=2" not in html  # two results: one page
    monkeypatch.setattr(directory, "PAGE_SIZE", 1)
    html = client.get("/?prefecture=東京都").content.decode()
    assert 'href="?prefecture=%E6%9D%B1%E4%BA%AC%E9%83%BD&amp;page=2" rel="next"' in html


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99", "1e999", "9" * 40, "\x00"])
def test_a_bad_page_number_shows_the_first_page_and_says_so(client, three, monkeypatch, page):
    monkeypatch.setattr(directory, "PAGE_SIZE", 2)
    result = directory_of(client, f"page={page}")
    assert [e["名称"] for e in result.entries] == ["保健データ協会", "健診代行株式会社"]
    assert len(result.errors) == 1 and result.errors[0].endswith(
        "ページはありません。1ページ目を表示しています。"
    )


def test_directory_costs_the_same_queries_for_3_and_30_organisations(client, django_assert_num_queries):
    call_command("generate_directory_bench", count=3, verbosity=0)
    public_cache.generation()  # the go-live times, read once per cache generation
    with django_assert_num_queries(2):  # the count and the page
        assert len(directory_of(client).entries) == 3
    with django_assert_num_queries(2):
        assert len(directory_of(client, "q=株式会社").entries) == 3
    call_command("generate_directory_bench", count=27, verbosity=0)
    public_cache.generation()
    with django_assert_num_queries(2):
        assert len(directory_of(client).entries) == 30
    with django_assert_num_queries(2):
        assert len(directory_of(client, "q=株式会社").entries) == 30


# --- the checklist summary -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2027年3月", (2027, 3)),
        ("２０２７年３月末", (2027, 3)),
        ("2027/9", (2027, 9)),
        ("2027-03", (2027, 3)),
        ("令和9年4月", (2027, 4)),
        ("令和元年5月", (2019, 5)),
        ("2027年度中", (2028, 3)),
        ("2028年中", (2028, 12)),
        ("2026年10月〜2027年1月", (2027, 1)),
        ("来年度", None),
        ("", None),
        ("2027年13月", None),
    ],
)
def test_planned_month_reads_the_usual_ways_of_writing_a_time(text, expected):
    assert planned_month(text) == expected


def test_latest_planned_time_is_the_latest_readable_one_as_written():
    assert latest_planned_time(["2027年3月", "令和10年1月", "2026年12月"]) == "令和10年1月"
    assert latest_planned_time(["未定", "2027年3月末"]) == "2027年3月末"
    assert latest_planned_time(["来期", "検討中"]) == "検討中"  # none readable: the last, as written
    assert latest_planned_time([]) == ""


@pytest.mark.parametrize(
    "summary, text",
    [
        (ChecklistSummary(56, 56, 0, ""), "56項目中56項目実施済"),
        (
            ChecklistSummary(56, 55, 1, "2027年3月"),
            "56項目中55項目実施済・1項目実施予定（最終の実施予定 2027年3月）",
        ),
        (
            ChecklistSummary(56, 54, 2, "2027-03"),
            "56項目中54項目実施済・2項目実施予定（最終の実施予定 2027年3月）",
        ),
        (ChecklistSummary(56, 55, 1, "来期"), "56項目中55項目実施済・1項目実施予定（最終の実施予定 来期）"),
    ],
)
def test_summary_text(summary, text):
    assert summary.text == text


def test_summary_is_computed_from_the_published_snapshot(client, sheet):
    plan(sheet, 0, "2027年3月")
    publication = publish_change(sheet, "実施予定を追加")
    plan(sheet, 1, "2030年1月")  # the draft: not published
    assert checklist_summary(publication.snapshot).text == (
        "56項目中55項目実施済・1項目実施予定（最終の実施予定 2027年3月）"
    )
    html = client.get("/qolead/").content.decode()
    assert "56項目中55項目実施済・1項目実施予定（最終の実施予定 2027年3月）" in html
    assert html.index("checklist-summary") < html.index('id="sheet-title"')  # at the top
    assert "56項目中56項目実施済" in client.get("/qolead/versions/1/").content.decode()


# --- the stored facts ------------------------------------------------------------------


def test_publish_stores_the_directory_facts_of_the_snapshot(three):
    for publication in Publication.objects.select_related("directory_entry"):
        entry = publication.directory_entry
        facts = directory_facts(publication.snapshot)
        assert {name: getattr(entry, name) for name in facts} == facts
        copied = (
            "organization_id",
            "number",
            "title",
            "classification",
            "sheet_updated_on",
            "checklist_updated_on",
        )
        assert [getattr(entry, name) for name in copied] == [getattr(publication, name) for name in copied]


def test_the_data_migration_fills_the_facts_of_older_versions(three):
    DirectoryEntry.objects.all().delete()
    migration = importlib.import_module("disclosures.migrations.0009_directory_fill_entries")
    migration.fill_entries(apps, None)
    assert DirectoryEntry.objects.count() == Publication.objects.count() == 3
    test_publish_stores_the_directory_facts_of_the_snapshot(three)


# --- the feed of all agencies ------------------------------------------------------------


def test_feed_of_all_agencies_lists_live_versions_newest_first(client, three, monkeypatch):
    sheet = three[0]
    publish_change(sheet, "稼働時間を更新しました。", hours_system="24時間")
    response = client.get("/feed/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(response.content)
    assert feed.findtext(f"{ATOM}title") == "代行機関 重要事項の開示 すべての代行機関の更新情報"
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert titles[0] == "株式会社QOLead 第2版を公開しました"
    assert sorted(titles) == sorted(
        [
            "株式会社QOLead 第2版を公開しました",
            "株式会社QOLead 第1版を公開しました",
            "健診代行株式会社 第1版を公開しました",
            "保健データ協会 第1版を公開しました",
        ]
    )
    # A version the public does not see (one scheduled for later) is left out.
    monkeypatch.setattr(PublicationQuerySet, "live", lambda self, now=None: self.filter(number=1))
    feed = ET.fromstring(client.get("/feed/").content)
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert "株式会社QOLead 第2版を公開しました" not in titles and len(titles) == 3


def test_feed_of_all_agencies_is_announced_on_the_directory(client, three):
    html = client.get("/").content.decode()
    assert 'type="application/atom+xml"' in html and 'href="/feed/"' in html


def test_feed_is_no_organisation_slug(example_org):
    with pytest.raises(Exception, match="URL名に使えません"):
        Organization(slug="feed", name="x").full_clean()


# --- the PDF in the browser, the print button ---------------------------------------------


@pytest.mark.parametrize(
    "download, inline, cache_control",
    [
        ("/qolead/pdf/", "/qolead/pdf/view/", "public, max-age=60"),
        ("/qolead/versions/1/pdf/", "/qolead/versions/1/pdf/view/", "public, max-age=31536000, immutable"),
    ],
)
def test_pdf_can_be_opened_in_the_browser(client, example_org, download, inline, cache_control):
    saved, shown = client.get(download), client.get(inline)
    assert shown.status_code == 200
    assert shown["Content-Type"] == "application/pdf"
    assert saved["Content-Disposition"].startswith("attachment; ")
    assert shown["Content-Disposition"] == saved["Content-Disposition"].replace("attachment; ", "inline; ")
    assert shown.content == saved.content
    assert shown["ETag"] == saved["ETag"] and shown["Last-Modified"] == saved["Last-Modified"]
    assert shown["Cache-Control"] == saved["Cache-Control"] == cache_control
    # Chrome's viewer needs object-src and inline styles; framing stays forbidden.
    assert shown["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert shown["X-Frame-Options"] == "DENY"
    assert client.get(inline, HTTP_IF_NONE_MATCH=shown["ETag"]).status_code == 304


def test_agency_page_links_to_the_pdf_in_the_browser_and_has_a_print_button(client, example_org):
    html = client.get("/qolead/").content.decode()
    assert '<a href="/qolead/versions/1/pdf/view/">PDFをブラウザで開く</a>' in html
    # Shown by static/js/print.js (no inline script: the CSP forbids it), never printed.
    assert '<button type="button" class="print-button" data-print hidden>' in html
    assert '<script src="/static/js/print.js" defer></script>' in html
    script = (ROOT / "static/js/print.js").read_text(encoding="utf-8")
    assert "window.print()" in script and "hidden = false" in script
    css = (ROOT / "static/css/portal.css").read_text(encoding="utf-8")
    print_rules = css[css.index("@media print") :]
    hidden = next(line for line in print_rules.splitlines() if "display: none" in line)
    assert ".print-action" in hidden


# --- the bench data -------------------------------------------------------------------------


def test_bench_generator_makes_valid_varied_published_organisations(official_template):
    call_command("generate_directory_bench", count=30, verbosity=0)
    organizations = Organization.objects.filter(slug__startswith=SLUG_PREFIX)
    assert organizations.count() == 30
    assert Publication.objects.current().count() == 30 == DirectoryEntry.objects.count()
    for organization in organizations[:5]:
        sheet = organization.sheet
        assert draft_problems(sheet) == []
        publication = organization.publications.get()
        # The very snapshot publish() would build from the stored draft.
        assert publication.snapshot == build_snapshot(sheet)
        assert publication.altered_artefacts() == []
    entries = DirectoryEntry.objects.all()
    assert {e.publication.classification for e in entries.select_related("publication")} == {
        "insurer",
        "institution_group",
        "institution_other",
    }
    assert {e.compliance for e in entries} == {"complied", "planned"}
    assert len({e.prefectures for e in entries}) > 10
    assert Answer.objects.filter(status="planned").exists()


def test_bench_generator_refuses_a_database_with_real_organisations(example_org):
    with pytest.raises(CommandError, match="ベンチマーク用ではない代行機関"):
        call_command("generate_directory_bench", count=3, verbosity=0)
    assert not Organization.objects.filter(slug__startswith=SLUG_PREFIX).exists()


def test_which_version_is_current_is_read_from_an_index_alone(three):
    """SQLite keeps a version's PDF and snapshot in its row before the columns that
    say which version is current: reading the rows for them took 20 ms for 1,000
    organisations. The directory's query reads them from the `publication_current` index."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query plan (PostgreSQL keeps large values apart from the row)")
    sql, params = directory.directory_queryset({}).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = [row[-1] for row in cursor.fetchall()]
    publication_steps = [step for step in plan if " V0" in step or " U0" in step]
    assert publication_steps, plan
    assert all("USING COVERING INDEX publication_current" in step for step in publication_steps), plan
