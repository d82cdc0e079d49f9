"""The auditors' PDF of each published version, read back from the bytes served.

These tests publish with the real WeasyPrint rendering (marker real_pdf).
"""

import datetime
import hashlib
import io
import re
import shutil
import subprocess
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from disclosures.layout import SHEET_LAYOUT
from disclosures.models import Publication
from disclosures.notes import SHEET_NOTES
from disclosures.pdf import PdfRenderError
from disclosures.publishing import PublishError, publish

from .factories import answer_all

pytestmark = [pytest.mark.django_db, pytest.mark.real_pdf]

RARE_NAME = "株式会社髙﨑𠮷德神"


def squeeze(text):
    """Text without whitespace: extraction breaks long lines where the layout does."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def published(example_org):
    return example_org.publications.get(number=1)


@pytest.fixture
def pdf_bytes(client, published):
    response = client.get("/qolead/pdf/")
    assert response.status_code == 200
    return response.content


@pytest.fixture
def reader(pdf_bytes):
    return PdfReader(io.BytesIO(pdf_bytes))


def page_texts(reader):
    return [page.extract_text() for page in reader.pages]


def test_pdf_is_a4_with_the_checklist_starting_on_a_new_page(reader):
    texts = page_texts(reader)
    assert all(
        round(float(p.mediabox.width)) == 595 and round(float(p.mediabox.height)) == 842 for p in reader.pages
    )
    first_checklist_page = next(
        i
        for i, t in enumerate(texts)
        if "最低限のガイドライン遵守チェックリスト" in squeeze(t) and "本遵守チェックリストは" in t
    )
    assert first_checklist_page > 0
    assert "前年度の取扱件数" not in texts[first_checklist_page]
    assert "前年度の取扱件数" in "".join(texts[:first_checklist_page])


def test_every_page_carries_organization_version_date_and_page_numbers(reader, published):
    published_on = timezone.localdate(published.published_at)
    date = f"{published_on.year}年{published_on.month}月{published_on.day}日"
    total = len(reader.pages)
    for number, text in enumerate(page_texts(reader), start=1):
        flat = squeeze(text)
        assert squeeze("株式会社QOLead") in flat
        assert "第1版" in flat
        assert f"公開日{date}" in flat
        assert f"{number}/{total}ページ" in flat


def test_text_holds_every_label_note_and_checklist_item(reader, official_template):
    flat = squeeze("".join(page_texts(reader)))
    for part in SHEET_LAYOUT:
        assert squeeze(part.title.text) in flat
        for row in part.rows:
            for label in row.labels:
                assert squeeze(label.text) in flat, label.text
    for number, text in SHEET_NOTES.items():
        assert squeeze(f"注{number}) {text}") in flat, number
    for section in official_template.sections.prefetch_related("items"):
        assert squeeze(section.title) in flat
        for item in section.items.all():
            for line in [item.text, *item.sub_items]:
                assert squeeze(line) in flat, line
    for note in official_template.notes.all():
        assert squeeze(note.text) in flat
    assert "■医療保険者サイド" in flat and "□健診・保健指導機関サイド（健診機関グループ）" in flat
    assert flat.count("2022年4月1日") >= 2  # both 最終更新日


def test_fonts_are_embedded_and_subset(reader):
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts.append((str(font["/BaseFont"]), "/FontFile2" in descriptor))
    assert fonts
    assert all(embedded for _name, embedded in fonts)
    assert all(re.match(r"/[A-Z]{6}\+", name) for name, _embedded in fonts)


def test_pdffonts_reports_every_font_embedded_and_subset(pdf_bytes, tmp_path):
    if shutil.which("pdffonts") is None:
        pytest.skip("poppler-utils (pdffonts) is not installed")
    path = tmp_path / "v1.pdf"
    path.write_bytes(pdf_bytes)
    lines = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert lines
    assert all(re.search(r"\byes yes yes\b", line) for line in lines), lines


def test_metadata_and_pdf_a_marker(reader, published):
    meta = reader.metadata
    assert meta.title == "事業運営上開示すべき重要事項の概要[代行機関] 株式会社QOLead 第1版"
    assert meta.author == "株式会社QOLead"
    assert "最低限のガイドライン遵守チェックリスト" in meta.subject
    assert meta.creation_date.timestamp() == int(published.published_at.timestamp())
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "pdfaid:part" in xmp and ('pdfaid:part="3"' in xmp or "<pdfaid:part>3</pdfaid:part>" in xmp)
    assert reader.trailer["/Root"]["/Lang"] == "ja"


def test_pdf_is_rendered_once_at_publish_time_and_never_on_download(client, published):
    with mock.patch("disclosures.pdf.document.render_pdf", side_effect=AssertionError("rendered again")):
        first = client.get("/qolead/pdf/")
        second = client.get("/qolead/versions/1/pdf/")
    assert first.content == second.content == bytes(published.pdf)


def test_sha256_on_the_page_and_in_the_json_match_the_downloaded_file(client, pdf_bytes):
    digest = hashlib.sha256(pdf_bytes).hexdigest()
    assert f'<code class="sha256" id="pdf-sha256">{digest}</code>' in client.get("/qolead/").content.decode()
    assert client.get("/qolead/current.json").json()["publication"]["pdf_sha256"] == digest


def test_download_name_gives_organization_version_and_date(client, published):
    disposition = client.get("/qolead/versions/1/pdf/")["Content-Disposition"]
    published_on = timezone.localdate(published.published_at)
    assert f'filename="qolead-v1-{published_on:%Y-%m-%d}.pdf"' in disposition
    assert "filename*=UTF-8''" in disposition
    assert "%E7%AC%AC1%E7%89%88" in disposition  # 第1版, percent-encoded


def test_pdf_answers_conditional_requests_with_304(client, published):
    response = client.get("/qolead/versions/1/pdf/")
    assert client.get("/qolead/versions/1/pdf/", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    again = client.get("/qolead/versions/1/pdf/", HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert again.status_code == 304
    assert "immutable" in response["Cache-Control"]


def publish_with(sheet, **values):
    for name, value in values.items():
        setattr(sheet, name, value)
    sheet.save()
    return publish(sheet, change_note="テスト")


def test_rare_kanji_of_real_names_render_as_glyphs(sheet):
    publication = publish_with(sheet, name=RARE_NAME, address="神奈川県川崎市髙津区﨑町1-2-3 德ビル")
    text = squeeze("".join(page_texts(PdfReader(io.BytesIO(bytes(publication.pdf))))))
    for char in "髙﨑𠮷德神":
        assert char in text
    assert squeeze(RARE_NAME) in text


def test_hostile_text_is_printed_as_text(sheet):
    hostile = '<script>alert("x")</script><b>太字</b>&amp;'
    publication = publish_with(sheet, hours_system=hostile)
    text = "".join(page_texts(PdfReader(io.BytesIO(bytes(publication.pdf)))))
    assert squeeze(hostile) in squeeze(text)


def test_failed_rendering_publishes_nothing_and_says_why(sheet, staff_client):
    sheet.hours_system = "平日のみ"
    sheet.save()
    failure = PdfRenderError(["フォントを読み込めません。"])
    with mock.patch("disclosures.publishing.render_publication_pdf", side_effect=failure):
        with pytest.raises(PublishError) as error:
            publish(sheet, change_note="テスト")
        assert "PDFを作成できませんでした。" in error.value.problems[0]
        response = staff_client.post(
            reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]),
            {"change_note": "テスト"},
        )
    assert response.status_code == 200
    assert "フォントを読み込めません。" in response.content.decode()
    assert Publication.objects.count() == 1


def test_checklist_planned_answer_is_in_the_pdf(sheet):
    answer_all(sheet.checklist)
    answer = sheet.checklist.ordered_answers()[0]
    answer.status, answer.planned_time = "planned", datetime.date(2027, 3, 1)
    answer.save()
    publication = publish(sheet, change_note="テスト")
    text = squeeze("".join(page_texts(PdfReader(io.BytesIO(bytes(publication.pdf))))))
    assert "■最低限のガイドラインを遵守する予定" in text
    assert "■(2027年3月)" in text
