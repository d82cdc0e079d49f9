"""Published versions are shown exactly as they were before the layout code changed.

The reference files under tests/rendered/ were written by the code of commit
2020037 (before the cell kinds became classes and the current version got one
definition): a published snapshot must keep rendering to the same bytes, and the
snapshot builder must keep producing snapshot-v1 unchanged. Regenerate them only
for an intended change of the pages: REGENERATE_RENDERED=1 pytest this file.
"""

import io
import json
import os
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command

from disclosures.diff import diff_snapshots
from disclosures.models import Organization, Publication
from disclosures.pdf.document import publication_html
from disclosures.snapshot import build_snapshot

from .test_publishing import frozen_at, plan, publish_change, utc

pytestmark = pytest.mark.django_db

RENDERED = Path(__file__).resolve().parent / "rendered"
PAGES = {
    "current.html": "/qolead/",
    "version-1.html": "/qolead/versions/1/",
    "version-2-diff.html": "/qolead/versions/2/diff/",
    "versions.html": "/qolead/versions/",
    "version-1.json": "/qolead/versions/1.json",
}


@pytest.fixture
def published_example(db):
    """The example as version 1 (2026-01-15) and a version 2 (2026-02-03) that
    changes a text, ticks boxes differently and plans a checklist item."""
    with frozen_at(utc(2026, 1, 15, 3, 0)):
        call_command("load_example", verbosity=0, stdout=open(os.devnull, "w"))
    sheet = Organization.objects.get(slug="qolead").sheet
    plan(sheet, 0, "2027年3月")
    with frozen_at(utc(2026, 2, 3, 1, 30)):
        publish_change(
            sheet,
            "稼働時間と提供するサービスを更新しました。",
            hours_system="24時間 365日稼働\n（保守時を除く）",
            service_contents=["inspection", "other"],
            service_contents_other="健診結果の <分析> & 報告",
            capacity_per_day=None,
            staff_total_own=1234,
        )
    return sheet


def reference(name, text):
    path = RENDERED / name
    if os.environ.get("REGENERATE_RENDERED"):
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def pdf_document(html):
    """The document of the PDF's HTML (the page chrome and font URLs are the renderer's)."""
    return html[html.index("<article") : html.rindex("</article>") + len("</article>")]


@pytest.mark.parametrize("name", PAGES)
def test_published_pages_render_byte_for_byte_as_before(client, published_example, name):
    response = client.get(PAGES[name])
    assert response.status_code == 200
    text = response.content.decode()
    if name.endswith(".json"):
        # Objects are unordered in JSON, and PostgreSQL's jsonb keeps its own key order:
        # the same data, every value and list order included.
        assert json.loads(text) == json.loads(reference(name, text))
    else:
        assert text == reference(name, text)


def test_the_example_snapshot_is_built_as_before(published_example):
    snapshot = build_snapshot(published_example)
    text = json.dumps(snapshot, ensure_ascii=False, indent=1, sort_keys=True)
    assert text == reference("draft-snapshot.json", text)


def test_the_pdf_document_of_a_published_version_renders_as_before(published_example):
    publication = Publication.objects.get(organization__slug="qolead", number=2)
    html = pdf_document(
        publication_html(
            publication.snapshot,
            number=publication.number,
            published_at=publication.published_at,
            sheet_updated_on=publication.sheet_updated_on,
            checklist_updated_on=publication.checklist_updated_on,
        )
    )
    assert html == reference("pdf-document.html", html)


def test_the_diff_text_of_two_versions_is_as_before(published_example):
    old, new = (
        p.snapshot for p in Publication.objects.filter(organization__slug="qolead").order_by("number")
    )
    changes = diff_snapshots(old, new)
    text = "\n".join(
        f"{group}\t{change.label}\t{change.old}\t{change.new}"
        for group, rows in changes.items()
        for change in rows
    )
    assert text == reference("diff.txt", text)


def test_the_xlsx_of_a_published_version_reads_as_before(client, published_example):
    """Every cell of both worksheets, as text (the bytes depend on openpyxl's version too)."""
    book = openpyxl.load_workbook(io.BytesIO(client.get("/qolead/versions/2/xlsx/").content))
    text = "\n".join(
        f"{worksheet.title}!{row[0].row}\t"
        + "\t".join("" if cell.value is None else str(cell.value) for cell in row)
        for worksheet in book.worksheets
        for row in worksheet.iter_rows()
    )
    assert text == reference("version-2.xlsx.txt", text)
