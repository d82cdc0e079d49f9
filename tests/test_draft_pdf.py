"""Staff see what publishing will do before they do it: the draft's PDF (marked 下書き,
never stored, never public) and, on the publish confirmation, the 版 and both 最終更新日."""

import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from disclosures.models import Publication
from disclosures.snapshot import japanese_date

from .factories import logged_in

pytestmark = [pytest.mark.django_db, pytest.mark.real_pdf]


def preview_pdf_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_preview_pdf", args=[sheet.pk])


def publish_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk])


def page_texts(pdf):
    return [re.sub(r"\s+", "", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_draft_pdf_shows_the_unpublished_draft_marked_on_every_page(staff_client, sheet):
    sheet.hours_system = "下書きでだけ変えた稼働時間"
    sheet.save()
    response = staff_client.get(preview_pdf_url(sheet))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    texts = page_texts(response.content)
    assert len(texts) > 1
    assert all("下書き（未公開）公開すると第2版" in text for text in texts)
    assert "下書きでだけ変えた稼働時間" in "".join(texts)


def test_draft_pdf_is_never_stored_nor_cached(staff_client, sheet):
    sheet.hours_system = "未公開の変更"
    sheet.save()
    pdf_before = bytes(sheet.organization.publications.get().pdf)
    response = staff_client.get(preview_pdf_url(sheet))
    assert "no-store" in response["Cache-Control"]
    assert Publication.objects.count() == 1
    assert bytes(sheet.organization.publications.get().pdf) == pdf_before
    public = staff_client.get("/qolead/pdf/").content
    assert public == pdf_before and "未公開の変更" not in "".join(page_texts(public))


def test_draft_pdf_is_not_public(client, sheet):
    response = client.get(preview_pdf_url(sheet))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_organizations_draft_pdf_is_not_found(editor, other_org):  # noqa: F811
    assert logged_in(editor).get(preview_pdf_url(other_org.sheet)).status_code == 404


def test_sheet_page_offers_the_draft_pdf_beside_the_preview(staff_client, sheet):
    page = staff_client.get(
        reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk])
    ).content.decode()
    preview = reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk])
    assert re.search(
        rf'href="{preview}"[^>]*>プレビュー</a>\s*/\s*<a href="{preview_pdf_url(sheet)}"[^>]*>PDFプレビュー（下書き）</a>',
        page,
    )


def outcome_shown(page):
    return {
        key: re.search(rf'<dd id="outcome-{key}">([^<]*)</dd>', page)[1]
        for key in ("version", "sheet-updated-on", "checklist-updated-on")
    }


def test_publish_confirmation_shows_the_version_and_dates_publishing_gives(staff_client, sheet):
    sheet.hours_system = "平日のみ"  # the sheet changes, the checklist does not
    sheet.save()
    page = staff_client.get(publish_url(sheet)).content.decode()
    today = japanese_date(timezone.localdate())
    assert outcome_shown(page) == {
        "version": "第2版",
        "sheet-updated-on": today,
        "checklist-updated-on": "2022年4月1日",
    }
    assert page.index('id="outcome-version"') < page.index('value="第2版として公開する"')  # before the button

    staff_client.post(publish_url(sheet), {"change_note": "稼働時間を変更"})
    publication = sheet.organization.publications.get(number=2)
    assert japanese_date(publication.sheet_updated_on) == today
    assert japanese_date(publication.checklist_updated_on) == "2022年4月1日"


def test_unchanged_draft_says_so_instead_of_offering_the_button(staff_client, sheet):
    page = staff_client.get(publish_url(sheet)).content.decode()
    assert "同じ内容のため、公開しませんでした。" in page
    assert "として公開する" not in page
