"""What visitors receive besides the document itself: only the agency's words, an
Atom feed that validates, a diff that names what changed, compressed pages."""

import datetime
import gzip
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from disclosures import views
from disclosures.notes import SHEET_NOTES
from disclosures.pdf.document import render_publication_pdf
from disclosures.publishing import publish

from .factories import PageReader, change_sheet, plan, publish_change, read

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
NAME = "株式会社QOLead"

# --- 7. the agency's words only ------------------------------------------------------

# The portal's own claim that the fees are tax-included: 注10 tells whoever fills in
# the form to write tax-included amounts; the fees are free text and nothing checks it.
FEE_CLAIM = "事務手数料等の金額はすべて消費税込みです"
NOTE_10 = f"注10) {SHEET_NOTES[10]}"


@pytest.fixture
def pdf_html(example_org, monkeypatch):
    """The HTML the PDF of version 1 is rendered from (WeasyPrint itself left out)."""
    rendered = []
    monkeypatch.setattr(
        "disclosures.pdf.document.render_pdf", lambda html, **_: rendered.append(html) or b"%PDF-"
    )
    publication = example_org.publications.get(number=1)
    render_publication_pdf(
        publication.snapshot,
        number=1,
        published_at=publication.published_at,
        sheet_updated_on=publication.sheet_updated_on,
        checklist_updated_on=publication.checklist_updated_on,
    )
    return rendered[0]


@pytest.mark.parametrize("url", ["/qolead/", "/qolead/versions/1/"])
def test_page_makes_no_fee_claim_of_its_own(client, example_org, url):
    text = read(client.get(url)).text
    assert "消費税込みです" not in text and FEE_CLAIM not in text


def test_preview_makes_no_fee_claim_of_its_own(staff_client, sheet):
    html = staff_client.get(
        reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk])
    ).content.decode()
    assert "未公開の下書き" in html and "消費税込みです" not in html


def test_pdf_makes_no_fee_claim_of_its_own(pdf_html):
    assert "消費税込みです" not in PageReader(pdf_html).text


def test_json_makes_no_fee_claim_of_its_own(client, example_org):
    assert "消費税込みです" not in client.get("/qolead/current.json").content.decode()


def test_note_10_stays_a_note_under_the_fees_on_page_and_pdf(client, example_org, pdf_html):
    for text in (read(client.get("/qolead/")).text, PageReader(pdf_html).text):
        assert text.count(NOTE_10) == 1
        # Printed where the form prints it: after the fee rows, before 注11 and 前年度の取扱件数.
        fees = text.index("事務手数料等")
        assert (
            fees
            < text.index(NOTE_10)
            < text.index(f"注11) {SHEET_NOTES[11]}")
            < text.index("前年度の取扱件数")
        )


# --- 9. the Atom feed validates ---------------------------------------------------------

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def atom_problems(body):
    """What RFC 4287 requires of a feed and its entries (§4.1.1, §4.1.2, §3.3, §4.2.6)
    that this feed breaks, as sentences."""
    problems = []
    feed = ET.fromstring(body)
    if feed.tag != f"{ATOM}feed":
        return [f"root is {feed.tag}, not atom:feed"]
    entries = feed.findall(f"{ATOM}entry")

    def one(element, name, where):
        found = element.findall(f"{ATOM}{name}")
        if len(found) != 1:
            problems.append(f"{where} has {len(found)} atom:{name}, not exactly one")
        return found[0] if found else None

    def has_author(element):
        return any(
            (author.findtext(f"{ATOM}name") or "").strip() for author in element.findall(f"{ATOM}author")
        )

    for name in ("id", "title", "updated"):
        one(feed, name, "the feed")
    if not has_author(feed) and not all(has_author(entry) for entry in entries):
        problems.append("no atom:author on the feed and not on every entry (§4.1.1)")
    if not any(link.get("rel") == "self" for link in feed.findall(f"{ATOM}link")):
        problems.append("no atom:link rel=self on the feed (§4.1.1 SHOULD)")
    seen = set()
    for number, entry in enumerate(entries, start=1):
        where = f"entry {number}"
        ids = [one(entry, name, where) for name in ("id", "title", "updated")][0]
        if ids is not None:
            if ids.text in seen:
                problems.append(f"{where} repeats atom:id {ids.text}")
            seen.add(ids.text)
        if entry.find(f"{ATOM}content") is None and not any(
            link.get("rel", "alternate") == "alternate" for link in entry.findall(f"{ATOM}link")
        ):
            problems.append(f"{where} has neither atom:content nor an alternate link")
    for element in feed.iter():
        if element.tag in (f"{ATOM}updated", f"{ATOM}published") and not RFC3339.match(element.text or ""):
            problems.append(f"{element.tag} {element.text!r} is no RFC 3339 date (§3.3)")
    return problems


@pytest.fixture
def three_versions(sheet):
    publish_change(sheet, "稼働時間を更新しました。", hours_system="24時間")
    change_sheet(sheet, name="株式会社QOLead ホールディングス")
    plan(sheet, 0, "2027年3月")
    publish(sheet, change_note="社名を変更しました。")
    return sheet


def test_atom_check_catches_a_feed_without_author_or_self_link():
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>'
        "<updated>2026-01-01T00:00:00Z</updated>"
        "<entry><id>urn:1</id><title>a</title><updated>2026-01-01</updated></entry>"
        "<entry><id>urn:1</id><title>b</title><updated>2026-01-01T00:00:00Z</updated>"
        '<link href="/x"/></entry></feed>'
    )
    assert atom_problems(body) == [
        "no atom:author on the feed and not on every entry (§4.1.1)",
        "no atom:link rel=self on the feed (§4.1.1 SHOULD)",
        "entry 1 has neither atom:content nor an alternate link",
        "entry 2 repeats atom:id urn:1",
        "{http://www.w3.org/2005/Atom}updated '2026-01-01' is no RFC 3339 date (§3.3)",
    ]


def test_feed_validates_as_rfc_4287_asks(client, three_versions):
    body = client.get("/qolead/feed/").content
    assert atom_problems(body) == []
    feed = ET.fromstring(body)
    assert len(feed.findall(f"{ATOM}entry")) == 3


def test_feed_author_is_the_agency(client, three_versions):
    feed = ET.fromstring(client.get("/qolead/feed/").content)
    assert feed.find(f"{ATOM}author").findtext(f"{ATOM}name") == "株式会社QOLead ホールディングス"
    # Each entry: the name the agency had in that version.
    assert [
        entry.find(f"{ATOM}author").findtext(f"{ATOM}name") for entry in feed.findall(f"{ATOM}entry")
    ] == [
        "株式会社QOLead ホールディングス",
        NAME,
        NAME,
    ]


def test_every_feed_entry_title_names_the_agency(client, three_versions):
    feed = ET.fromstring(client.get("/qolead/feed/").content)
    assert [entry.findtext(f"{ATOM}title") for entry in feed.findall(f"{ATOM}entry")] == [
        "株式会社QOLead ホールディングス 第3版を公開しました",
        f"{NAME} 第2版を公開しました",
        f"{NAME} 第1版を公開しました",
    ]


def test_feed_updated_is_the_latest_publication(client, three_versions):
    feed = ET.fromstring(client.get("/qolead/feed/").content)
    latest = three_versions.organization.publications.get(number=3).published_at
    updated = datetime.datetime.fromisoformat(feed.findtext(f"{ATOM}updated"))
    assert updated == latest
    entry_ids = [entry.findtext(f"{ATOM}id") for entry in feed.findall(f"{ATOM}entry")]
    assert len(set(entry_ids)) == 3 and entry_ids[0].endswith("/qolead/versions/3/")


# --- 9. the diff names checklist items by number and text ----------------------------------


def test_diff_names_a_checklist_item_by_number_and_text(client, three_versions):
    item = three_versions.checklist.ordered_answers()[0].item
    rows = read(client.get("/qolead/versions/3/diff/")).rows
    label = f"{item.section.title} {item.number}. {item.text}"
    assert [label, "■実施済", "■実施予定(2027年3月)"] in rows


def test_diff_names_an_item_of_several_lines_with_its_lines(client, sheet):
    item = sheet.checklist.ordered_answers()[4].item
    assert "\n" in item.text  # 組織的安全管理対策 5. and its (a), (b)
    plan(sheet, 4, "2027年3月")
    publish(sheet, change_note="実施予定に変更")
    html = client.get("/qolead/versions/2/diff/").content.decode()
    assert [
        f"{item.section.title} {item.number}. {item.text}",
        "■実施済",
        "■実施予定(2027年3月)",
    ] in PageReader(html).rows
    assert item.text.replace("\n", "<br>") in html


def test_diff_names_a_changed_item_by_its_new_text_and_shows_the_change_once(client, sheet):
    item = sheet.checklist.ordered_answers()[1].item
    old_text = item.text
    item.text = "様式の改訂で変わった項目文"
    item.save()
    plan(sheet, 1, "2027年4月")
    publish(sheet, change_note="様式の改訂")
    changes = [row for row in read(client.get("/qolead/versions/2/diff/")).rows if row[0] != "項目"]
    assert [
        f"{item.section.title} {item.number}. 様式の改訂で変わった項目文",
        "■実施済",
        "■実施予定(2027年4月)",
    ] in changes
    assert [
        f"{item.section.title} {item.number}. チェック項目",
        old_text,
        "様式の改訂で変わった項目文",
    ] in changes
    assert len([row for row in changes if row[0].startswith(f"{item.section.title} {item.number}.")]) == 2


# --- 6. compressed public pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/qolead/",
        "/qolead/versions/",
        "/qolead/versions/1/",
        "/qolead/versions/1/diff/",
        "/qolead/current.json",
        "/qolead/feed/",
    ],
)
def test_public_pages_are_gzipped_for_clients_that_accept_it(client, example_org, url):
    plain = client.get(url)
    response = client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert gzip.decompress(response.content) == plain.content
    if url == "/qolead/":
        assert len(response.content) < len(plain.content) / 4


def test_public_pages_stay_plain_for_clients_that_do_not_accept_gzip(client, example_org):
    response = client.get("/qolead/")
    assert not response.has_header("Content-Encoding")
    assert "現在公開中の版です。" in response.content.decode()


def test_gzipped_page_still_answers_304_to_its_etag(client, example_org):
    first = client.get("/qolead/", headers={"accept-encoding": "gzip"})
    again = client.get("/qolead/", headers={"accept-encoding": "gzip", "if-none-match": first["ETag"]})
    assert again.status_code == 304


def test_gzipped_page_has_an_etag_of_its_own(client, example_org):
    plain = client.get("/qolead/")
    gzipped = client.get("/qolead/", headers={"accept-encoding": "gzip"})
    assert plain["ETag"] != gzipped["ETag"]
    # A client holding the plain body does not get told its copy is the gzipped one.
    assert (
        client.get(
            "/qolead/", headers={"accept-encoding": "gzip", "if-none-match": plain["ETag"]}
        ).status_code
        == 200
    )


def test_page_of_a_version_is_compressed_once_not_on_every_request(client, example_org, monkeypatch):
    calls = []
    real = views.compress_string
    monkeypatch.setattr(views, "compress_string", lambda body: calls.append(len(body)) or real(body))
    bodies = {client.get("/qolead/", headers={"accept-encoding": "gzip"}).content for _ in range(3)}
    assert len(bodies) == 1 and len(calls) == 1


def test_pdf_is_not_gzipped_again(client, example_org):
    response = client.get("/qolead/pdf/", headers={"accept-encoding": "gzip"})
    assert not response.has_header("Content-Encoding")
    assert response.content.startswith(b"%PDF-")


def test_admin_pages_are_never_compressed(staff_client, sheet):
    """BREACH: a compressed response that reflects a secret (the CSRF token, the
    session's data) next to text an attacker controls leaks it through its size.
    Only the public pages, which carry no secret, are compressed."""
    for url in (
        reverse("admin:index"),
        reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
        reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk]),
    ):
        response = staff_client.get(url, headers={"accept-encoding": "gzip"})
        assert response.status_code == 200, url
        assert not response.has_header("Content-Encoding"), url


def test_json_stays_json_when_gzipped(client, example_org):
    response = client.get("/qolead/current.json", headers={"accept-encoding": "gzip"})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(gzip.decompress(response.content))["publication"]["version"] == 1
