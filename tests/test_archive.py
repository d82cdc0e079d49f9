"""Issue 16, point 3: /<slug>/archive.zip holds every version's PDF and JSON and a
manifest of their hashes, streamed piece by piece, with an ETag and 304s."""

import hashlib
import io
import json
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosures import public_cache

from .test_publishing import publish_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_versions(sheet):
    publish_change(sheet, "稼働時間を更新しました。", hours_system="24時間稼働")
    publish_change(sheet, "稼働時間を再度更新しました。", hours_system="平日のみ稼働")
    return sheet.organization


def download(client, url="/qolead/archive.zip", **headers):
    response = client.get(url, **headers)
    return response, b"".join(response.streaming_content) if response.streaming else response.content


def test_every_hash_in_the_manifest_matches_the_file_inside(client, three_versions):
    response, body = download(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    manifest = json.loads(archive.read("qolead-archive/manifest.json"))
    assert [v["version"] for v in manifest["versions"]] == [1, 2, 3]
    assert manifest["current_version"] == 3
    for entry in manifest["versions"]:
        for kind in ("pdf", "json"):
            data = archive.read(entry[kind]["path"])
            assert hashlib.sha256(data).hexdigest() == entry[kind]["sha256"], (entry["version"], kind)
    names = set(archive.namelist())
    listed = {v[kind]["path"] for v in manifest["versions"] for kind in ("pdf", "json")}
    assert names == listed | {"qolead-archive/manifest.json"}


def test_archive_holds_each_versions_stored_pdf_json_dates_and_change_note(client, three_versions):
    _response, body = download(client)
    archive = zipfile.ZipFile(io.BytesIO(body))
    manifest = json.loads(archive.read("qolead-archive/manifest.json"))
    for entry, publication in zip(manifest["versions"], three_versions.publications.order_by("number")):
        assert archive.read(entry["pdf"]["path"]) == bytes(publication.pdf)
        assert entry["pdf"]["sha256"] == publication.pdf_sha256
        assert entry["snapshot_sha256"] == publication.snapshot_sha256
        assert entry["change_note"] == publication.change_note
        assert entry["published_at"] == publication.published_at.isoformat()
        assert entry["sheet_updated_on"] == publication.sheet_updated_on.isoformat()
        assert entry["checklist_updated_on"] == publication.checklist_updated_on.isoformat()
        document = json.loads(archive.read(entry["json"]["path"]))
        assert document["publication"]["version"] == publication.number
        assert document["sheet"] == publication.snapshot["sheet"]
    assert manifest["versions"][1]["change_note"] == "稼働時間を更新しました。"


def test_archive_is_streamed_one_version_at_a_time(client, three_versions):
    response = client.get("/qolead/archive.zip")
    assert response.streaming
    pieces = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(pieces)
    # The first piece leaves before any other version's PDF is read.
    assert len(queries) == 1 and first.startswith(b"PK")
    rest = [chunk for chunk in pieces if chunk]
    total = len(first) + sum(len(chunk) for chunk in rest)
    assert len(rest) >= 2 * 3
    assert max(len(first), *(len(chunk) for chunk in rest)) < total / 2


def test_archive_has_an_etag_and_answers_304_until_a_new_version(client, sheet):
    response, _body = download(client)
    etag = response["ETag"]
    assert etag and response["Last-Modified"]
    again = client.get("/qolead/archive.zip", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    publish_change(sheet, hours_system="24時間稼働")
    newer = client.get("/qolead/archive.zip", HTTP_IF_NONE_MATCH=etag)
    assert newer.status_code == 200 and newer["ETag"] != etag


def test_archive_bytes_are_the_same_for_the_same_versions(client, three_versions):
    _r, first = download(client)
    _r, second = download(client)
    assert first == second


def test_archive_of_an_unknown_organisation_is_404(client, db):
    assert client.get("/nobody/archive.zip").status_code == 404


def test_versions_page_links_the_archive(client, example_org):
    page = client.get("/qolead/versions/").content.decode()
    assert 'href="/qolead/archive.zip"' in page


def test_head_of_the_archive_reads_no_pdf(client, three_versions):
    public_cache.generation()  # the go-live times, read once per cache generation
    with CaptureQueriesContext(connection) as queries:
        response = client.head("/qolead/archive.zip")
    assert response.status_code == 200 and response["ETag"]
    assert response["Content-Disposition"].startswith('attachment; filename="qolead-archive-v3-')
    assert len(queries) == 1
