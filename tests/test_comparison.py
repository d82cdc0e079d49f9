"""/compare/: the current versions of 2 to 4 agencies side by side, and as CSV."""

import csv
import gzip
import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from disclosures import public_cache
from disclosures.comparison import csv_value
from disclosures.layout import SHEET_LAYOUT
from disclosures.models import Organization
from disclosures.publishing import publish

from .factories import PageReader, change_sheet, new_organization, plan, publish_change

pytestmark = pytest.mark.django_db

BOM = "\ufeff".encode()


@pytest.fixture
def kenshin(example_org):
    """A second published agency: another address, phone and 分類, one item 実施予定."""
    organization = new_organization("kenshin", "健診代行株式会社")
    plan(organization.sheet, 0, "2027年3月")
    publish(organization.sheet, change_note="初版")
    return organization


@pytest.fixture
def four(kenshin):
    """Four published agencies: qolead, kenshin, a3 and a4."""
    for slug, name in (("a3", "第三代行株式会社"), ("a4", "第四代行株式会社")):
        publish(new_organization(slug, name).sheet, change_note="初版")
    return ["qolead", "kenshin", "a3", "a4"]


def compare(client, *slugs, path="/compare/", **extra):
    query = "&".join(f"o={slug}" for slug in slugs)
    return client.get(f"{path}?{query}" if query else path, **extra)


def page_text(response):
    return PageReader(response.content.decode()).text


def agency_headings(response):
    return re.findall(
        r'<th scope="col" class="agency"><a href="[^"]*">([^<]*)</a></th>', response.content.decode()
    )


def table_rows(response):
    """{row label: (is marked as differing, [cell texts])} of the comparison table."""
    html = response.content.decode()
    rows = {}
    for row_class, row_html in re.findall(r'<tr class="(differs|same)">(.*?)</tr>', html, re.S):
        cells = PageReader(f"<table><tr>{row_html}</tr></table>").rows[0]
        label = cells[0].replace(" 違いあり", "").strip()
        rows[label] = (row_class == "differs", cells[1:])
    return rows


def read_csv(response):
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- the table ----------------------------------------------------------------------------


def test_one_column_per_agency_in_the_order_of_the_url(client, kenshin):
    response = compare(client, "kenshin", "qolead")
    assert response.status_code == 200
    assert agency_headings(response) == ["健診代行株式会社", "株式会社QOLead"]
    assert agency_headings(compare(client, "qolead", "kenshin")) == ["株式会社QOLead", "健診代行株式会社"]


def test_duplicates_are_shown_once_and_the_csv_link_keeps_the_order(client, kenshin):
    response = compare(client, "kenshin", "qolead", "kenshin", "qolead")
    assert agency_headings(response) == ["健診代行株式会社", "株式会社QOLead"]
    assert 'href="/compare/csv/?o=kenshin&amp;o=qolead"' in response.content.decode()


def test_every_row_of_the_form_is_compared_under_its_labels(client, kenshin):
    rows = table_rows(compare(client, "qolead", "kenshin"))
    expected = [
        " › ".join(label.text for label in row.labels) or part.title.text
        for part in SHEET_LAYOUT
        for row in part.rows
    ]
    labels = [label.replace("\n", "") for label in rows]
    assert [label for label in labels if label in expected] == expected


def test_values_are_rendered_as_on_the_agencys_page(client, kenshin):
    """Each cell is the agency page's own cell template, from the published snapshot."""
    html = compare(client, "qolead", "kenshin").content.decode()
    for organization in (kenshin, Organization.objects.get(slug="qolead")):
        snapshot = organization.publications.get().snapshot
        for part in snapshot["sheet"]["parts"]:
            for row in part["rows"]:
                for cell in row["cells"]:
                    assert render_to_string("disclosures/_cell.html", {"cell": cell}) in html, cell["field"]


def test_rows_whose_values_differ_are_marked_in_words(client, kenshin):
    rows = table_rows(compare(client, "qolead", "kenshin"))
    differs, cells = rows["所在地(住所)"]
    assert differs is True
    assert cells[1] == "健診代行株式会社大阪府大阪市北区梅田1丁目1番1号"  # its agency's name, then the value
    assert rows["代行機関の分類"][0] is True
    assert rows["サービス提供時間 › 拠点"][0] is False
    html = compare(client, "qolead", "kenshin").content.decode()
    # Marked by words a screen reader reads with the row's header, not by colour alone.
    assert re.search(
        r'<th scope="row" class="row-label"><span class="label-text">代行機関の分類</span> <span class="difference">違いあり</span></th>',
        html,
    )


def test_the_checklist_is_summarised_per_agency_and_per_section(client, kenshin):
    rows = table_rows(compare(client, "qolead", "kenshin"))
    assert rows["全体"] == (
        True,
        [
            "株式会社QOLead56項目中56項目実施済・0項目実施予定",
            "健診代行株式会社56項目中55項目実施済・1項目実施予定実施予定: 1.(2027年3月)",
        ],
    )
    assert rows["組織的安全管理対策"][0] is True
    assert rows["組織的安全管理対策"][1][1].startswith("健診代行株式会社")
    assert "項目中" in rows["物理的安全管理対策"][1][0]
    assert rows["物理的安全管理対策"][0] is False


def test_only_the_published_current_version_is_shown_never_the_draft(client, kenshin):
    qolead = Organization.objects.get(slug="qolead")
    publish_change(qolead.sheet, hours_office="平日 9:00〜18:00（第2版）")
    change_sheet(qolead.sheet, hours_office="下書きの時間")
    text = page_text(compare(client, "qolead", "kenshin"))
    assert "平日 9:00〜18:00（第2版）" in text and "第2版" in text
    assert "下書きの時間" not in text


# --- choosing -----------------------------------------------------------------------------


def test_the_form_lists_organisations_with_a_current_version_only(client, kenshin, other_org):
    html = client.get("/compare/").content.decode()
    assert re.findall(r'<input type="checkbox" name="o" value="([^"]+)"', html) == ["kenshin", "qolead"]
    assert 'action="/compare/"' in html and 'method="get"' in html


def test_the_chosen_agencies_are_ticked_in_the_form(client, four):
    html = compare(client, "a3", "qolead").content.decode()
    assert sorted(re.findall(r'value="([^"]+)" checked', html)) == ["a3", "qolead"]


def test_an_agency_page_links_to_the_comparison(client, kenshin):
    html = client.get("/qolead/").content.decode()
    assert '<a href="/compare/?o=qolead">他の代行機関と比較</a>' in html
    response = client.get("/compare/?o=qolead")
    assert response.status_code == 200
    assert "比較する代行機関を2〜4機関選んでください。" in page_text(response)
    assert re.findall(r'value="([^"]+)" checked', response.content.decode()) == ["qolead"]


def test_compare_is_no_organisation_url_name():
    organization = Organization(slug="compare", name="比較株式会社")
    with pytest.raises(ValidationError, match="URL名に使えません"):
        organization.full_clean()


# --- bad input: a message, never a 500 ----------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("o=qolead&o=kenshin&o=a3&o=a4&o=nobody", "比較できるのは4機関までです（5機関が選ばれています）。"),
        ("o=qolead&o=nobody", "「nobody」に該当する公開中の代行機関はありません。"),
        ("o=qolead&o=" + "x" * 51, "代行機関の指定が正しくありません。"),
        ("o=qolead&o=%3Cscript%3E", "代行機関の指定が正しくありません。"),
        ("&".join(["o=qolead"] * 21), "指定が多すぎます。"),
        ("o=qolead&o=kenshin&x=" + "y" * 3000, "指定が長すぎます。"),
    ],
)
def test_a_selection_that_cannot_be_compared_is_refused_with_a_message(client, four, query, message):
    response = client.get(f"/compare/?{query}")
    assert response.status_code == 400
    assert message in page_text(response)
    assert "<script>" not in response.content.decode()
    assert "public" not in response["Cache-Control"]


def test_an_organisation_without_a_published_version_is_named_like_an_unknown_one(client, kenshin, other_org):
    response = compare(client, "qolead", "other-agency")
    assert response.status_code == 400
    assert "「other-agency」に該当する公開中の代行機関はありません。" in page_text(response)


def test_the_csv_of_a_bad_selection_is_the_page_with_its_message(client, kenshin):
    response = compare(client, "qolead", path="/compare/csv/")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "比較する代行機関を2〜4機関選んでください。" in page_text(response)
    response = compare(client, "qolead", "nobody", path="/compare/csv/")
    assert response.status_code == 400
    assert "「nobody」に該当する公開中の代行機関はありません。" in page_text(response)


# --- cost, caching, cookies ---------------------------------------------------------------


@pytest.mark.parametrize(("path", "most"), [("/compare/", 3), ("/compare/csv/", 2)])
def test_the_number_of_queries_does_not_grow_with_the_agencies(client, four, path, most):
    """Built: the chosen versions, their snapshots (and for the page the form's list);
    then answered from the cached body: the chosen versions only."""
    counts = {}
    public_cache.generation()  # the go-live times, read once per cache generation
    for agencies in (four[:2], four):
        for attempt in ("built", "cached"):
            with CaptureQueriesContext(connection) as queries:
                assert compare(client, *agencies, path=path).status_code == 200
            counts[len(agencies), attempt] = len(queries)
    assert counts[2, "built"] == counts[4, "built"] <= most, counts
    assert counts[2, "cached"] == counts[4, "cached"] == 1, counts


def test_responses_are_public_with_an_etag_of_the_versions_shown(client, kenshin):
    for hour, path in enumerate(("/compare/", "/compare/csv/"), start=7):
        response = compare(client, "qolead", "kenshin", path=path)
        assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
        etag = response["ETag"]
        again = compare(client, "qolead", "kenshin", path=path, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304
        publish_change(kenshin.sheet, hours_office=f"平日 {hour}:00〜17:00")
        changed = compare(client, "qolead", "kenshin", path=path, HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200 and changed["ETag"] != etag


def test_an_agency_publishing_for_the_first_time_joins_the_form_at_once(client, kenshin):
    response = compare(client, "qolead", "kenshin")
    publish(new_organization("shinki", "新規代行株式会社").sheet, change_note="初版")
    again = compare(client, "qolead", "kenshin", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 200 and again["ETag"] != response["ETag"]
    assert 'value="shinki"' in again.content.decode()


def test_the_etag_follows_the_combination_and_its_order(client, four):
    tags = {
        compare(client, *slugs)["ETag"]
        for slugs in (["qolead", "kenshin"], ["kenshin", "qolead"], ["qolead", "a3"])
    }
    assert len(tags) == 3


def test_no_cookie_is_set_even_for_a_logged_in_staff_member(staff_client, kenshin):
    for path in ("/compare/", "/compare/csv/"):
        response = compare(staff_client, "qolead", "kenshin", path=path)
        assert response.status_code == 200
        assert not response.cookies


# --- CSV ----------------------------------------------------------------------------------


def test_the_csv_is_the_pages_table_in_utf8_with_a_bom(client, kenshin):
    page_rows = table_rows(compare(client, "kenshin", "qolead"))
    response = compare(client, "kenshin", "qolead", path="/compare/csv/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="compare-kenshin-qolead.csv"'
    rows = read_csv(response)
    assert rows[0] == ["見出し", "項目", "健診代行株式会社", "株式会社QOLead", "違い"]
    assert rows[1] == ["公開版", "版", "第1版", "第1版", ""]
    by_label = {row[1]: row for row in rows[4:]}
    assert len(rows[4:]) == len(page_rows)
    for label, (differs, _cells) in page_rows.items():
        assert by_label[label][4] == ("違いあり" if differs else ""), label
    assert by_label["全体"] == [
        "最低限のガイドライン遵守チェックリスト",
        "全体",
        "56項目中55項目実施済・1項目実施予定 実施予定: 1.(2027年3月)",
        "56項目中56項目実施済・0項目実施予定",
        "違いあり",
    ]
    assert by_label["機関名"][2:4] == ["健診代行株式会社", "株式会社QOLead"]


def test_csv_values_that_a_spreadsheet_would_run_are_neutralised(client, kenshin):
    formulas = {
        "hours_office": '=HYPERLINK("http://example.com","x")',
        "hours_system": "+81-3-1234",
        "hours_helpdesk": "-1+1",
        "security_online": "@SUM(A1:A2)",
    }
    publish_change(kenshin.sheet, **formulas)
    rows = read_csv(compare(client, "kenshin", "qolead", path="/compare/csv/"))
    cells = [cell for row in rows for cell in row]
    for value in formulas.values():
        assert "'" + value in cells
        assert value not in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("1-1", "1-1"),
        ("", ""),
    ],
)
def test_csv_value(value, written):
    assert csv_value(value) == written


def test_a_gzipped_page_has_an_etag_of_its_own_and_is_revalidated_with_it(client, kenshin):
    plain = compare(client, "qolead", "kenshin")
    response = compare(client, "qolead", "kenshin", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip" and "Accept-Encoding" in response["Vary"]
    assert gzip.decompress(response.content) == plain.content
    assert response["ETag"] != plain["ETag"]
    again = compare(
        client, "qolead", "kenshin", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/compare/", "/compare/csv/"])
def test_a_version_whose_stored_snapshot_was_altered_is_not_compared(client, kenshin, path):
    publication = kenshin.publications.get()
    snapshot = publication.snapshot
    snapshot["sheet"]["values"]["address"] = "改ざんした所在地"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {publication._meta.db_table} SET snapshot = %s WHERE id = %s",
            [json.dumps(snapshot, ensure_ascii=False), publication.pk],
        )
    response = compare(client, "qolead", "kenshin", path=path)
    assert response.status_code == 500
    assert "no-store" in response["Cache-Control"]
    assert "改ざんした所在地" not in response.content.decode()


def test_typed_markup_is_shown_as_text(client, kenshin):
    hostile = "<script>alert(1)</script>&<>\"'"
    publish_change(kenshin.sheet, hours_office=hostile)
    html = compare(client, "qolead", "kenshin").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&lt;&gt;&quot;&#x27;" in html
    rows = read_csv(compare(client, "qolead", "kenshin", path="/compare/csv/"))
    assert [row[3] for row in rows if row[1] == "サービス提供時間 › 拠点"] == [hostile]
