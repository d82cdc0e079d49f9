"""The public pages: only published versions, rendered from their snapshots."""

import datetime
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checklist.models import Compliance, Item
from disclosures import public_cache
from disclosures.layout import COMPLIANCE_FIELD, SHEET_LAYOUT
from disclosures.models import DisclosureSheet
from disclosures.notes import SHEET_NOTES

from .factories import (
    EXAMPLE,
    ROOT,
    SEED_TEXT,
    PageReader,
    change_sheet,
    frozen_at,
    new_organization,
    plan,
    publish_change,
    read,
    schema_errors,
    utc,
)

pytestmark = pytest.mark.django_db

CHECKLIST_FIXTURE = json.loads((ROOT / "fixtures/checklist_guideline_v2.json").read_text(encoding="utf-8"))
FIXTURE_ITEMS = [o["fields"] for o in CHECKLIST_FIXTURE if o["model"] == "checklist.item"]
FIXTURE_NOTES = [o["fields"] for o in CHECKLIST_FIXTURE if o["model"] == "checklist.note"]
ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = "<script>alert(1)</script>&<>\"'"
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&lt;&gt;&quot;&#x27;"

# --- reading a page -------------------------------------------------------------


def option_choices(cell):
    """(value, label) of each box of an options cell, in the form's order."""
    if cell.field == COMPLIANCE_FIELD:
        return Compliance.choices
    field = DisclosureSheet._meta.get_field(cell.field)
    return field.choices or field.choice_options


def options_cells():
    return [
        cell for part in SHEET_LAYOUT for row in part.rows for cell in row.cells if cell.kind == "options"
    ]


def expected_option_groups():
    """Each □ group of the form in order, ticked as the example (all 実施済 → 遵守済)."""
    values = {**EXAMPLE["sheet"], COMPLIANCE_FIELD: "complied"}
    groups = []
    for cell in options_cells():
        value = values[cell.field]
        chosen = value if isinstance(value, list) else [value]
        details = {choice: (name, words) for choice, name, words in cell.details}
        group = []
        for choice, label in option_choices(cell):
            text = ("■" if choice in chosen else "□") + label
            if choice in details:
                name, words = details[choice]
                text += f"({words}{values[name]})"
            group.append(text)
        groups.append(group)
    return groups


def queries_for(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def a_moment_later(**delta):
    return timezone.now() + datetime.timedelta(**delta)


@pytest.fixture
def two_versions(sheet):
    """Version 2 changes システム's hours and plans checklist item 組織的安全管理対策 1."""
    plan(sheet, 0, "2027年3月")
    with frozen_at(a_moment_later(hours=1)):
        return publish_change(
            sheet, "稼働時間と実施予定を更新しました。", hours_system="24時間 365日稼働（保守時を除く）"
        )


# --- the current page shows the seed's text exactly ------------------------------


def test_current_page_shows_every_part_label_and_caption_of_the_form(client, example_org):
    text = read(client.get("/qolead/")).text
    for part in SHEET_LAYOUT:
        assert part.title.text in text
        for row in part.rows:
            for label in row.labels:
                assert label.text in text, label.text
            for cell in row.cells:
                assert cell.caption in text and cell.unit in text, cell


def test_current_page_ticks_every_option_as_the_example_does(client, example_org):
    page = read(client.get("/qolead/"))
    assert page.option_groups == expected_option_groups()
    for cell in options_cells():
        for _value, label in option_choices(cell):
            assert label in SEED_TEXT, label


def test_current_page_marks_options_with_black_and_white_squares(client, example_org):
    html = client.get("/qolead/").content.decode()
    assert (
        '<span class="box" aria-hidden="true">■</span><span class="visually-hidden">（選択）</span>医療保険者サイド'
        in html
    )
    assert (
        '<span class="box" aria-hidden="true">□</span><span class="visually-hidden">（非選択）</span>'
        "健診・保健指導機関サイド（健診機関グループ）" in html
    )


def test_current_page_shows_every_value_of_the_example(client, example_org):
    text = read(client.get("/qolead/")).text
    for name, value in EXAMPLE["sheet"].items():
        field = DisclosureSheet._meta.get_field(name)
        if isinstance(value, str) and value and not field.choices and name != "service_start_date":
            assert value in text, name
    for count in ("機関本体 8人", "機関本体 10人", "機関本体 18人", "委託先 7人", "年間 —件"):
        assert count in text, count
    assert "2021年4月1日" in text  # 提供開始の年月日


def test_current_page_shows_every_sheet_note_word_for_word(client, example_org):
    text = read(client.get("/qolead/")).text
    assert sorted(SHEET_NOTES) == list(range(1, 14))
    for number, note in SHEET_NOTES.items():
        assert f"注{number}) {note}" in text, number


def test_current_page_shows_all_56_checklist_items_and_their_sub_items(client, example_org):
    html = client.get("/qolead/").content.decode()
    text = PageReader(html).text
    assert len(FIXTURE_ITEMS) == 56
    for item in FIXTURE_ITEMS:
        assert item["text"] in text, item["text"]
        for line in item["sub_items"]:
            assert line in text, line
    assert html.count('<span class="visually-hidden">実施済：はい</span>') == 56


def test_current_page_shows_the_10_checklist_notes(client, example_org):
    text = read(client.get("/qolead/")).text
    assert len(FIXTURE_NOTES) == 10
    for note in FIXTURE_NOTES:
        assert f"注{note['number']}: {note['text']}" in text, note["number"]


def test_current_page_shows_the_version_and_both_last_updated_dates(client, example_org):
    html = client.get("/qolead/").content.decode()
    assert '<td class="updated-on" data-document="sheet">2022年4月1日</td>' in html
    assert '<td class="updated-on" data-document="checklist">2022年4月1日</td>' in html
    assert "<dt>版</dt><dd>第1版</dd>" in html
    assert "<dt>最終更新日（重要事項の概要）</dt><dd>2022年4月1日</dd>" in html
    assert "<dt>最終更新日（チェックリスト）</dt><dd>2022年4月1日</dd>" in html


# --- the index ---------------------------------------------------------------------


def test_index_redirects_to_the_only_organization(client, example_org):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/qolead/"


def test_index_lists_every_published_organization(client, example_org):
    """The directory (tests/test_directory.py has the rest): one card per organisation."""
    other = new_organization("kenshin", "健診代行株式会社", classification="institution_group")
    with frozen_at(utc(2026, 11, 28, 16, 0)):  # 29 November in Tokyo
        publish_change(other.sheet, "初版")
    text = read(client.get("/")).text
    assert text.index("健診代行株式会社") < text.index("株式会社QOLead")
    assert "健診・保健指導機関サイド（健診機関グループ）" in text and "医療保険者サイド" in text
    assert "2026年11月29日" in text and "2022年4月1日" in text


def test_index_shows_both_last_updated_dates(client, sheet):
    other = new_organization("kenshin", "健診代行株式会社")
    with frozen_at(utc(2026, 11, 28, 16, 0)):  # 29 November in Tokyo
        publish_change(other.sheet, "初版")
        publish_change(sheet, "稼働時間を更新", hours_system="24時間")  # the checklist keeps 2022年4月1日
    text = read(client.get("/")).text
    qolead = text[text.index("株式会社QOLead") :]
    assert "最終更新日（重要事項の概要）\n\n2026年11月29日" in qolead
    assert "最終更新日（チェックリスト）\n\n2022年4月1日" in qolead
    assert "第2版" in qolead


def test_organization_without_a_publication_is_not_listed(client, example_org):
    new_organization("kenshin", "健診代行株式会社")
    response = client.get("/")
    assert response.status_code == 302  # only qolead is published
    assert client.get("/kenshin/").status_code == 404


def test_organization_without_a_publication_is_not_in_a_longer_list(client, example_org):
    second = new_organization("kenshin", "健診代行株式会社")
    publish_change(second.sheet, "初版")
    new_organization("mikoukai", "未公開株式会社")
    text = read(client.get("/")).text
    assert "健診代行株式会社" in text and "株式会社QOLead" in text
    assert "未公開株式会社" not in text
    assert client.get("/mikoukai/").status_code == 404


# --- versions and permalinks -------------------------------------------------------


def test_versions_are_listed_newest_first_with_change_notes(client, sheet):
    publish_change(sheet, "稼働時間を更新しました。", hours_system="24時間")
    publish_change(sheet, "拠点の時間を更新しました。", hours_office="平日 10:00-18:00")
    rows = read(client.get("/qolead/versions/")).rows[1:]
    assert [row[0] for row in rows] == ["第3版 現在の版", "第2版", "第1版"]
    assert [row[4] for row in rows] == [
        "拠点の時間を更新しました。",
        "稼働時間を更新しました。",
        "2022年4月1日に公開した内容を登録しました（初版）。",
    ]
    assert [row[5] for row in rows] == ["第2版との差分", "第1版との差分", "初版"]


def test_old_version_says_it_is_not_current_and_links_to_the_current_one(client, two_versions):
    html = client.get("/qolead/versions/1/").content.decode()
    assert "この版は現在の版ではありません。" in html
    assert "現在公開中の版です。" not in html
    assert '現在の版は <a href="/qolead/">第2版</a> です。' in html


def test_current_version_permalink_says_it_is_current(client, two_versions):
    html = client.get("/qolead/versions/2/").content.decode()
    assert "現在公開中の版です。" in html
    assert "この版は現在の版ではありません。" not in html


def test_old_version_shows_its_own_values(client, two_versions):
    text = read(client.get("/qolead/versions/1/")).text
    assert "24時間 365日稼働" in text
    assert "24時間 365日稼働（保守時を除く）" not in text


# --- the diff ------------------------------------------------------------------


def test_diff_lists_exactly_the_changed_rows_with_old_and_new_values(client, two_versions):
    rows = read(client.get("/qolead/versions/2/diff/")).rows
    changes = [row for row in rows if row != ["項目", "変更前", "変更後"]]
    assert changes == [
        [
            "施設及び設備情報 › ガイドラインの遵守",
            "■最低限のガイドラインを遵守済 □最低限のガイドラインを遵守する予定 □最低限のガイドラインを遵守していない",
            "□最低限のガイドラインを遵守済 ■最低限のガイドラインを遵守する予定 □最低限のガイドラインを遵守していない",
        ],
        [
            "運営に関する情報 › サービス提供時間 › システム",
            "24時間 365日稼働",
            "24時間 365日稼働（保守時を除く）",
        ],
        [f"組織的安全管理対策 1. {FIXTURE_ITEMS[0]['text']}", "■実施済", "■実施予定(2027年3月)"],
    ]


def test_diff_shows_the_change_note(client, two_versions):
    assert "稼働時間と実施予定を更新しました。" in read(client.get("/qolead/versions/2/diff/")).text


def test_diff_shows_a_changed_checklist_item_text(client, sheet):
    item = Item.objects.get(section__order=2, number=1)
    old_text = item.text
    item.text = "様式の改訂で変わった項目文"
    item.save()
    publish_change(sheet, "様式の改訂を反映")
    rows = read(client.get("/qolead/versions/2/diff/")).rows
    assert ["物理的安全管理対策 1. チェック項目", old_text, "様式の改訂で変わった項目文"] in rows


def test_first_version_diff_says_it_is_the_first(client, example_org):
    text = read(client.get("/qolead/versions/1/diff/")).text
    assert "第1版は初版です。" in text


# --- JSON -----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/qolead/versions/1.json", "/qolead/current.json"])
def test_json_is_served_as_json_and_validates_against_the_schema(client, example_org, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    document = json.loads(response.content)
    assert schema_errors(document) == []
    assert document["publication"]["version"] == 1
    assert document["publication"]["is_current"] is True
    assert document["publication"]["url"] == "/qolead/versions/1/"


def test_current_json_follows_the_latest_version(client, two_versions):
    current = json.loads(client.get("/qolead/current.json").content)
    first = json.loads(client.get("/qolead/versions/1.json").content)
    assert current["publication"]["version"] == 2
    assert current["publication"]["is_current"] is True
    assert current["sheet"]["values"]["hours_system"] == "24時間 365日稼働（保守時を除く）"
    assert first["publication"]["version"] == 1
    assert first["publication"]["is_current"] is False
    assert first["sheet"]["values"]["hours_system"] == "24時間 365日稼働"


# --- Atom feed --------------------------------------------------------------------


def test_feed_lists_versions_newest_first_with_change_notes(client, sheet):
    publish_change(sheet, "稼働時間を更新しました。", hours_system="24時間")
    response = client.get("/qolead/feed/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    entries = ET.fromstring(response.content).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "株式会社QOLead 第2版を公開しました",
        "株式会社QOLead 第1版を公開しました",
    ]
    assert [e.findtext(f"{ATOM}summary") for e in entries] == [
        "稼働時間を更新しました。",
        "2022年4月1日に公開した内容を登録しました（初版）。",
    ]
    assert entries[0].find(f"{ATOM}link").get("href") == "http://testserver/qolead/versions/2/"


# --- 404 and 405 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/nosuch/",
        "/nosuch/versions/",
        "/nosuch/current.json",
        "/nosuch/feed/",
        "/nosuch/versions/1/",
        "/nosuch/versions/1.json",
        "/nosuch/versions/1/diff/",
        "/qolead/versions/0/",
        "/qolead/versions/2/",
        "/qolead/versions/2.json",
        "/qolead/versions/2/diff/",
        "/qolead/versions/999999999/",
        "/qolead/versions/99999999999/",
        "/qolead/versions/99999999999.json",
        "/qolead/versions/abc/",
        "/qolead/versions/-1/",
    ],
)
def test_missing_pages_are_404(client, example_org, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "ページが見つかりません" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/qolead/",
        "/qolead/current.json",
        "/qolead/versions/",
        "/qolead/versions/1/",
        "/qolead/versions/1.json",
        "/qolead/versions/1/diff/",
        "/qolead/feed/",
    ],
)
def test_public_pages_refuse_post(client, example_org, url):
    assert client.post(url).status_code == 405


# --- HTTP caching -----------------------------------------------------------------

VERSION_URLS = [
    "/qolead/",
    "/qolead/current.json",
    "/qolead/versions/1/",
    "/qolead/versions/1.json",
    "/qolead/versions/1/diff/",
]


@pytest.mark.parametrize("url", VERSION_URLS)
def test_version_responses_carry_etag_and_last_modified(client, example_org, url):
    response = client.get(url)
    assert response["ETag"].startswith('"') and response["ETag"].endswith('"')
    assert response["Last-Modified"].endswith(" GMT")


@pytest.mark.parametrize("url", VERSION_URLS)
def test_matching_etag_gets_304_without_a_body(client, example_org, url):
    etag = client.get(url)["ETag"]
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize("url", VERSION_URLS)
def test_unchanged_since_last_modified_gets_304(client, example_org, url):
    last_modified = client.get(url)["Last-Modified"]
    response = client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert response.status_code == 304
    assert response.content == b""


def test_current_page_etag_stops_matching_after_a_new_version(client, sheet):
    old_etag = client.get("/qolead/")["ETag"]
    publish_change(sheet, hours_system="24時間")
    response = client.get("/qolead/", HTTP_IF_NONE_MATCH=old_etag)
    assert response.status_code == 200
    assert "24時間" in read(response).text


def test_old_version_etag_stops_matching_once_it_is_no_longer_current(client, sheet):
    old_etag = client.get("/qolead/versions/1/")["ETag"]
    publish_change(sheet, hours_system="24時間")
    response = client.get("/qolead/versions/1/", HTTP_IF_NONE_MATCH=old_etag)
    assert response.status_code == 200
    assert "この版は現在の版ではありません。" in response.content.decode()


def test_old_version_is_modified_since_a_newer_version_was_published(client, sheet):
    """Version 1's page changes (現在公開中 → 現在の版ではありません) when version 2 is
    published, so a client revalidating with If-Modified-Since alone must get the new page."""
    last_modified = client.get("/qolead/versions/1/")["Last-Modified"]
    with frozen_at(a_moment_later(hours=1)):
        publish_change(sheet, hours_system="24時間")
    response = client.get("/qolead/versions/1/", HTTP_IF_MODIFIED_SINCE=last_modified)
    assert response.status_code == 200
    assert "この版は現在の版ではありません。" in response.content.decode()


def test_version_restoring_older_content_has_its_own_page(client, sheet):
    """Version 3 undoes version 2, so its snapshot equals version 1's: still a
    different version, with its own number, dates and status."""
    publish_change(sheet, hours_system="24時間")
    publish_change(sheet, hours_system=EXAMPLE["sheet"]["hours_system"])
    first = client.get("/qolead/versions/1/")
    third = client.get("/qolead/versions/3/")
    assert first["ETag"] != third["ETag"]
    assert "この版は現在の版ではありません。" in first.content.decode()
    assert "現在公開中の版です。" in third.content.decode()
    assert "<dd>第3版</dd>" in third.content.decode()


def test_version_restoring_older_content_has_its_own_json(client, sheet):
    publish_change(sheet, hours_system="24時間")
    publish_change(sheet, hours_system=EXAMPLE["sheet"]["hours_system"])
    first = json.loads(client.get("/qolead/versions/1.json").content)
    third = json.loads(client.get("/qolead/versions/3.json").content)
    assert first["publication"]["version"] == 1
    assert third["publication"]["version"] == 3
    assert third["publication"]["is_current"] is True


def test_version_restoring_older_content_has_its_own_diff(client, sheet):
    publish_change(sheet, hours_system="24時間")
    publish_change(sheet, hours_system=EXAMPLE["sheet"]["hours_system"])
    assert "第1版は初版です。" in client.get("/qolead/versions/1/diff/").content.decode()
    third = read(client.get("/qolead/versions/3/diff/"))
    assert ["運営に関する情報 › サービス提供時間 › システム", "24時間", "24時間 365日稼働"] in third.rows


# --- query counts ----------------------------------------------------------------

MEASURED_URLS = [
    "/qolead/",
    "/qolead/versions/1/",
    "/qolead/versions/1.json",
    "/qolead/versions/",
    "/qolead/feed/",
    "/qolead/versions/2/diff/",
]


@pytest.mark.parametrize("url", MEASURED_URLS)
def test_public_page_costs_at_most_3_queries_cold_and_warm(
    client, two_versions, url, django_assert_max_num_queries
):
    cache.clear()
    # An emptied cache reads the go-live times of scheduled versions once (one
    # query per cache generation, whatever the page): then the body is built.
    with django_assert_max_num_queries(1):
        public_cache.generation()
    with django_assert_max_num_queries(3):
        assert client.get(url).status_code == 200  # cold: the body is built
    with django_assert_max_num_queries(3):
        assert client.get(url).status_code == 200  # warm: the body comes from the cache


@pytest.mark.parametrize("url", MEASURED_URLS)
def test_public_page_query_count_does_not_grow_with_the_number_of_versions(client, sheet, two_versions, url):
    cache.clear()
    before = (queries_for(client, url), queries_for(client, url))  # (cold, warm)
    for hours in range(1, 6):
        publish_change(sheet, f"第{hours + 2}版", hours_helpdesk=f"平日 9:00-{16 + hours}:00")
    cache.clear()
    after = (queries_for(client, url), queries_for(client, url))
    assert after == before


def test_index_costs_two_queries_whatever_the_number_of_organizations(client, example_org):
    """The count and the page (tests/test_directory.py compares 3 and 30 organisations)."""
    for i in range(3):
        publish_change(new_organization(f"org{i}", f"機関{i}").sheet, "初版")
    public_cache.generation()  # the go-live times, read once per cache generation
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    assert len(queries) == 2


# --- drafts stay private ----------------------------------------------------------


def test_draft_values_appear_on_no_public_url(client, sheet, two_versions):
    change_sheet(sheet, hours_system="未公開の下書きの値", name="未公開の機関名")
    plan(sheet, 5, "未公開の実施時期")
    urls = [
        "/",
        "/qolead/",
        "/qolead/current.json",
        "/qolead/feed/",
        "/qolead/versions/",
        "/qolead/versions/1/",
        "/qolead/versions/2/",
        "/qolead/versions/1.json",
        "/qolead/versions/2.json",
        "/qolead/versions/2/diff/",
    ]
    for url in urls:
        body = client.get(url, follow=True).content.decode()
        for draft_value in ("未公開の下書きの値", "未公開の機関名", "未公開の実施時期"):
            assert draft_value not in body, (url, draft_value)


# --- hostile text -----------------------------------------------------------------


@pytest.fixture
def hostile_version(sheet):
    """Version 2 with markup-like text in the name and a multi-line text field."""
    return publish_change(sheet, "機関名を変更", name=HOSTILE, security_offline=f"1行目\n{HOSTILE}")


def test_hostile_text_is_escaped_on_the_page(client, hostile_version):
    html = client.get("/qolead/").content.decode()
    assert "<script>" not in html
    assert HOSTILE_ESCAPED in html
    assert f"1行目<br>{HOSTILE_ESCAPED}" in html
    assert HOSTILE in PageReader(html).text


def test_hostile_text_is_escaped_on_the_diff(client, hostile_version):
    html = client.get("/qolead/versions/2/diff/").content.decode()
    assert "<script>" not in html
    assert ["基本情報 › 機関名", "株式会社QOLead", HOSTILE] in PageReader(html).rows


def test_hostile_text_is_escaped_on_the_versions_list(client, hostile_version):
    html = client.get("/qolead/versions/").content.decode()
    assert "<script>" not in html
    assert HOSTILE in PageReader(html).text


def test_hostile_name_is_plain_text_in_the_feed(client, hostile_version):
    body = client.get("/qolead/feed/").content
    assert b"<script>" not in body
    title = ET.fromstring(body).find(f"{ATOM}title")
    assert title.get("type", "text") == "text"
    assert title.text.startswith(HOSTILE)


def test_hostile_text_is_verbatim_in_json(client, hostile_version):
    document = json.loads(client.get("/qolead/current.json").content)
    assert document["sheet"]["values"]["name"] == HOSTILE
    assert document["sheet"]["values"]["security_offline"] == f"1行目\n{HOSTILE}"
