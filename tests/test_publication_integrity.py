"""A published version's stored bytes are never served once they no longer match
the hashes taken at publish, and loaddata cannot overwrite a version.

The example organisation (fixture `example_org`) is published as version 1; the
fixture `two_versions` adds version 2.
"""

import json
import logging

import pytest
from django.core.management import call_command
from django.db import connection

from disclosures.models import Publication
from disclosures.publishing import publish

pytestmark = pytest.mark.django_db

ALTERED_ADDRESS = "改ざんした所在地"


@pytest.fixture
def two_versions(example_org):
    sheet = example_org.sheet
    sheet.hours_system = "24時間 365日"
    sheet.save()
    publish(sheet, change_note="サービス提供時間を更新しました。")
    return example_org


def alter_in_the_database(number, **columns):
    """Change a version's columns as someone with access to the database would."""
    publication = Publication.objects.get(organization__slug="qolead", number=number)
    table = Publication._meta.db_table
    assignments = ", ".join(f"{column} = %s" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*columns.values(), publication.pk])


def alter_snapshot(number):
    snapshot = Publication.objects.get(organization__slug="qolead", number=number).snapshot
    snapshot["sheet"]["values"]["address"] = ALTERED_ADDRESS
    alter_in_the_database(number, snapshot=json.dumps(snapshot, ensure_ascii=False))


def alter_pdf(number):
    pdf = bytearray(Publication.objects.get(organization__slug="qolead", number=number).pdf)
    pdf[10] ^= 0xFF
    alter_in_the_database(number, pdf=bytes(pdf))


@pytest.mark.parametrize(
    "url",
    ["/qolead/", "/qolead/versions/2/", "/qolead/current.json", "/qolead/versions/2.json",
     "/qolead/versions/2/diff/", "/qolead/pdf/", "/qolead/versions/2/pdf/",
     "/qolead/xlsx/", "/qolead/versions/2/xlsx/"],
)  # fmt: skip
@pytest.mark.parametrize("alter", [alter_snapshot, alter_pdf], ids=lambda f: f.__name__)
def test_a_version_whose_stored_bytes_were_altered_is_not_served(client, two_versions, caplog, url, alter):
    alter(2)

    with caplog.at_level(logging.ERROR, logger="disclosures.views"):
        response = client.get(url)

    assert response.status_code == 500
    assert ALTERED_ADDRESS.encode() not in response.content
    assert "no-store" in response["Cache-Control"]
    assert "qolead version 2" in caplog.text and "no longer match" in caplog.text


def test_an_altered_version_is_refused_on_every_request_not_cached(client, two_versions):
    alter_snapshot(2)
    assert client.get("/qolead/versions/2/").status_code == 500
    assert client.get("/qolead/versions/2/").status_code == 500


def test_other_versions_are_served_when_one_was_altered(client, two_versions):
    alter_snapshot(1)
    alter_pdf(1)

    assert client.get("/qolead/").status_code == 200
    assert client.get("/qolead/pdf/").status_code == 200
    assert client.get("/qolead/versions/1/").status_code == 500
    assert client.get("/qolead/versions/1/pdf/").status_code == 500


def test_the_diff_of_the_next_version_is_refused_when_the_previous_one_was_altered(client, two_versions):
    """The diff shows the previous version's content too."""
    alter_snapshot(1)

    assert client.get("/qolead/versions/2/diff/").status_code == 500


def test_a_version_built_before_it_was_altered_is_served_as_published(client, two_versions):
    """The body cached from the verified bytes is what was published: it stays."""
    before = client.get("/qolead/versions/2/").content
    alter_snapshot(2)

    response = client.get("/qolead/versions/2/")

    assert response.status_code == 200
    assert response.content == before


def fixture_overwriting(tmp_path, publication, **fields):
    row = {
        "model": "disclosures.publication",
        "pk": publication.pk,
        "fields": {
            "organization": publication.organization_id,
            "number": publication.number,
            "published_at": publication.published_at.isoformat(),
            "published_by": None,
            "change_note": publication.change_note,
            "snapshot": publication.snapshot,
            "snapshot_sha256": publication.snapshot_sha256,
            "sheet_digest": publication.sheet_digest,
            "checklist_digest": publication.checklist_digest,
            "sheet_updated_on": publication.sheet_updated_on.isoformat(),
            "checklist_updated_on": publication.checklist_updated_on.isoformat(),
            "pdf": "",
            "pdf_sha256": publication.pdf_sha256,
            "title": publication.title,
            "classification": publication.classification,
            **fields,
        },
    }
    path = tmp_path / "overwrite.json"
    path.write_text(json.dumps([row], ensure_ascii=False), encoding="utf-8")
    return path


def test_loaddata_cannot_overwrite_a_publication(example_org, tmp_path):
    publication = example_org.publications.get(number=1)
    before = Publication.objects.values().get(pk=publication.pk)
    path = fixture_overwriting(
        tmp_path, publication, change_note="書き換えた変更内容", published_at="2000-01-01T00:00:00+00:00"
    )

    with pytest.raises(ValueError, match="公開版（id=.*）は既にあり、変更できません"):
        call_command("loaddata", str(path), verbosity=0)

    assert Publication.objects.values().get(pk=publication.pk) == before
