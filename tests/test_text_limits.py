"""Every text field has a maximum that fits the PDF (README, "Text limits").

The maxima are enforced by the admin forms (maxlength on the widget), by the
models' full_clean and so by publish(); a draft with every text at its maximum
publishes, and its page, JSON and PDF are served.
"""

import datetime
import io
import re
import subprocess
import time

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import DataError, connection, models, transaction
from django.urls import reverse
from pypdf import PdfReader

from checklist.models import Answer, ChecklistTemplate, Item, Note, Section
from disclosure_portal.text_limits import (
    FREE_TEXT_MAX_LINES,
    SHORT_TEXT_MAX_LINES,
    MaxLinesValidator,
)
from disclosures.models import DisclosureSheet, Organization, Publication
from disclosures.pdf.document import render_publication_pdf
from disclosures.prefectures import PREFECTURES
from disclosures.publishing import PublishError, publish

pytestmark = pytest.mark.django_db

# The bounds the README gives for a version's PDF: every text of the draft at its
# maximum; and the checklist edition's texts (a superuser's) at theirs too.
MAX_PDF_PAGES = 25
MAX_PDF_PAGES_WITH_EDITION_AT_MAXIMUM = 40

PROSE = "当機関は特定健診・特定保健指導のデータを暗号化通信と施錠管理により安全に取り扱います。"

# Fields whose value is one of a few codes, not text.
CODE_FIELDS = {"classification", "similar_services", "insurer_selection", "institution_selection",
               "system_ownership", "system_operation", "fee_separate_billing_insurer",
               "fee_separate_billing_institution"}  # fmt: skip


def too_long(limit, length):
    """Django's Japanese max_length message."""
    return f"この値は {limit} 文字以下でなければなりません( {length} 文字になっています)。"


def too_many_lines(limit, lines):
    return f"{limit}行以内で入力してください（{lines}行になっています）。"


def max_lines(field):
    return min((v.limit_value for v in field.validators if isinstance(v, MaxLinesValidator)), default=None)


def prose(length, lines=1):
    """Japanese text of exactly `length` characters in exactly `lines` lines."""
    text = (PROSE * (length // len(PROSE) + 1))[: length - (lines - 1)]
    if lines == 1:
        return text
    step = len(text) // lines
    parts = [text[i * step : (i + 1) * step] for i in range(lines - 1)] + [text[(lines - 1) * step :]]
    return "\n".join(parts)


def prefectures_of_length(length):
    names, value = list(PREFECTURES) * 5, ""
    for name in names:
        if len(value) + len(name) + 1 > length:
            break
        value += ("、" if value else "") + name
    return value + "、" * (length - len(value))  # empty names between separators are ignored


def email_of_length(length):
    local = "a" * 64
    domain_length = length - len(local) - 1 - len(".jp")
    labels = []
    while domain_length > 0:
        label = min(63, domain_length)
        labels.append("b" * label)
        domain_length -= label + 1
    domain = ".".join(labels)
    if len(domain) < length - 68:  # a dot's worth short
        domain += "c"
    return f"{local}@{domain}.jp"


def value_at_maximum(field):
    """The longest valid value of a sheet text field."""
    limit = field.max_length
    if field.name == "phone":
        return "03-5774-3631".ljust(limit, "-")
    if field.name == "website_url":
        return "https://example.jp/" + "a" * (limit - len("https://example.jp/"))
    if field.name == "contact_email":
        return email_of_length(limit)
    if field.name == "agency_code":
        return "12345678"
    if field.name == "facility_prefectures":
        return prefectures_of_length(limit)
    return prose(limit, max_lines(field) or 1)


def sheet_text_fields():
    return [
        field
        for field in DisclosureSheet._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField)) and field.name not in CODE_FIELDS
    ]


def fill_to_the_maximum(sheet):
    """Every text field of the sheet at its maximum (with the boxes its words need)."""
    for field in sheet_text_fields():
        setattr(sheet, field.name, value_at_maximum(field))
    sheet.similar_services = "yes"
    sheet.service_contents = ["inspection", "billing", "data_exchange", "other"]
    sheet.institution_selection = "yes"
    sheet.data_in_methods = sheet.data_out_methods = ["online", "offline"]
    sheet.full_clean()
    sheet.save()
    # 実施時期 is a month: its longest text is 「2100年12月」.
    for answer in sheet.checklist.answers.all():
        answer.status, answer.planned_time = Answer.Status.PLANNED, datetime.date(2100, 12, 1)
        answer.full_clean()
        answer.save()


def every_text_field_of_the_project():
    for app_label in ("disclosures", "checklist", "subscriptions"):
        for model in apps.get_app_config(app_label).get_models():
            if model._meta.label == "disclosures.DirectoryEntry":
                continue  # derived from a published snapshot, each of whose texts has its maximum
            for field in model._meta.concrete_fields:
                if isinstance(field, (models.CharField, models.TextField)):
                    yield model, field


@pytest.mark.parametrize(
    "model, field",
    list(every_text_field_of_the_project()),
    ids=lambda value: getattr(value, "__name__", getattr(value, "name", "")),
)
def test_every_text_field_has_a_maximum_that_full_clean_enforces(model, field):
    assert field.max_length, f"{model.__name__}.{field.name} has no max_length"
    assert any(
        isinstance(v, MaxLengthValidator) and v.limit_value == field.max_length for v in field.validators
    ), f"{model.__name__}.{field.name}: full_clean would not enforce its max_length"


@pytest.mark.parametrize("field", ["financial_reference", "fee_unit_insurer", "name", "hours_office"])
def test_the_admin_widgets_show_the_maximum(staff_client, sheet, field):
    response = staff_client.get(reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    limit = DisclosureSheet._meta.get_field(field).max_length
    assert re.search(rf'<(textarea|input)[^>]*name="{field}"[^>]*maxlength="{limit}"|'
                     rf'<(textarea|input)[^>]*maxlength="{limit}"[^>]*name="{field}"',
                     response.content.decode())  # fmt: skip


@pytest.mark.parametrize("field", [f.name for f in sheet_text_fields()])
def test_one_character_over_the_maximum_is_refused_by_publish_naming_the_field(sheet, field):
    model_field = DisclosureSheet._meta.get_field(field)
    fill_to_the_maximum(sheet)
    value = value_at_maximum(model_field)
    # One more character of the same kind (a digit for the code, a letter elsewhere).
    longer = value + ("9" if field == "agency_code" else "-" if field == "phone" else "a")
    setattr(sheet, field, longer)
    try:
        with transaction.atomic():
            sheet.save()  # a draft may hold it (imported, typed before the limit): publish refuses it
    except DataError:
        # PostgreSQL's varchar(n) refuses it already: such a draft cannot exist there.
        assert connection.vendor == "postgresql"
        assert sheet.organization.publications.count() == 1
        return

    with pytest.raises(PublishError) as refused:
        publish(sheet, change_note="上限を超える値")

    expected = f"{model_field.verbose_name}: {too_long(model_field.max_length, len(longer))}"
    assert expected in refused.value.problems
    assert sheet.organization.publications.count() == 1


@pytest.mark.parametrize(
    "field, limit",
    [("financial_reference", FREE_TEXT_MAX_LINES), ("required_equipment", FREE_TEXT_MAX_LINES),
     ("address", SHORT_TEXT_MAX_LINES), ("hours_helpdesk", SHORT_TEXT_MAX_LINES)],
)  # fmt: skip
def test_one_line_over_the_maximum_is_refused_naming_the_field(sheet, field, limit):
    setattr(sheet, field, "\n".join(["1行"] * (limit + 1)))
    sheet.save()

    with pytest.raises(PublishError) as refused:
        publish(sheet, change_note="行数の上限を超える値")

    label = DisclosureSheet._meta.get_field(field).verbose_name
    assert f"{label}: {too_many_lines(limit, limit + 1)}" in refused.value.problems


def test_an_unconverted_planned_time_one_character_over_is_refused_naming_the_item_and_field(sheet):
    field = Answer._meta.get_field("planned_time_text")
    limit = field.max_length
    answer = sheet.checklist.ordered_answers()[0]
    answer.status, answer.planned_time_text = Answer.Status.PLANNED, "あ" * (limit + 1)
    answer.save()

    with pytest.raises(PublishError) as refused:
        publish(sheet, change_note="実施時期")

    assert (
        f"組織的安全管理対策 1. {field.verbose_name}: {too_long(limit, limit + 1)}" in refused.value.problems
    )


def test_a_change_note_one_character_over_is_refused(sheet):
    limit = Publication._meta.get_field("change_note").max_length
    sheet.hours_system = "24時間"
    sheet.save()

    with pytest.raises(PublishError) as refused:
        publish(sheet, change_note="あ" * (limit + 1))

    assert f"変更内容: {too_long(limit, limit + 1)}" in refused.value.problems
    assert publish(sheet, change_note="あ" * limit).number == 2


@pytest.mark.parametrize(
    "model, field",
    [(ChecklistTemplate, "preamble"), (ChecklistTemplate, "instructions"), (Item, "text"),
     (Note, "text"), (Section, "title"), (Organization, "name")],
    ids=lambda value: getattr(value, "__name__", value),
)  # fmt: skip
def test_checklist_template_and_organization_texts_over_the_maximum_are_refused(example_org, model, field):
    instance = model.objects.first()
    limit = model._meta.get_field(field).max_length
    setattr(instance, field, "あ" * (limit + 1))

    with pytest.raises(ValidationError) as refused:
        instance.full_clean()

    assert refused.value.message_dict[field] == [too_long(limit, limit + 1)]


def words_outside_the_page(pdf):
    """Words that pdftotext places beyond the page's right edge (cut off in print)."""
    bbox = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    outside = []
    for page in re.finditer(r'<page width="([\d.]+)".*?</page>', bbox, re.S):
        width = float(page.group(1))
        words = re.finditer(
            r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)</word>', page.group(0)
        )
        for word in words:
            if float(word.group(1)) > width + 0.5:
                outside.append(word.group(2))
    return outside


@pytest.mark.real_pdf
def test_a_draft_with_every_text_field_at_its_maximum_publishes_and_is_served(client, example_org):
    sheet = example_org.sheet
    fill_to_the_maximum(sheet)
    note_limit = Publication._meta.get_field("change_note").max_length
    change_note = prose(note_limit, FREE_TEXT_MAX_LINES)

    started = time.perf_counter()
    publication = publish(sheet, change_note=change_note)
    seconds = time.perf_counter() - started

    assert publication.number == 2
    page = client.get("/qolead/")
    assert page.status_code == 200
    body = page.content.decode()
    assert re.sub(r"\s", "", prose(200, SHORT_TEXT_MAX_LINES)) in re.sub(r"<br>|\s", "", body)
    json_response = client.get("/qolead/current.json")
    assert json_response.status_code == 200
    assert json_response.json()["publication"]["change_note"] == change_note
    assert client.get("/qolead/versions/").status_code == 200
    assert client.get("/qolead/versions/2/diff/").status_code == 200
    assert client.get("/qolead/feed/").status_code == 200
    pdf_response = client.get("/qolead/pdf/")
    assert pdf_response.status_code == 200
    pdf = pdf_response.content
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    started = time.perf_counter()
    render_publication_pdf(
        publication.snapshot,
        number=2,
        published_at=publication.published_at,
        sheet_updated_on=publication.sheet_updated_on,
        checklist_updated_on=publication.checklist_updated_on,
    )
    warm = time.perf_counter() - started
    print(
        f"\nEvery text at its maximum: publish {seconds:.2f} s (first PDF render in the process), "
        f"render again {warm:.2f} s; {pages} pages, {len(pdf):,} bytes"
    )
    assert pages <= MAX_PDF_PAGES


def fill_edition_to_the_maximum(template):
    def at_maximum(instance, *fields):
        for name in fields:
            field = type(instance)._meta.get_field(name)
            setattr(instance, name, prose(field.max_length, max_lines(field) or 1))
        instance.full_clean()
        instance.save()

    at_maximum(template, "guideline_title", "title", "preamble", "instructions")
    for section in template.sections.all():
        at_maximum(section, "title")
    for note in template.notes.all():
        at_maximum(note, "text")
    for item in Item.objects.filter(section__template=template):
        at_maximum(item, "text")


@pytest.mark.real_pdf
def test_with_the_checklist_edition_at_its_maximum_too_the_pdf_stays_bounded(client, example_org):
    fill_edition_to_the_maximum(example_org.sheet.checklist.template)
    fill_to_the_maximum(example_org.sheet)

    started = time.perf_counter()
    publish(example_org.sheet, change_note="上限")
    seconds = time.perf_counter() - started

    pdf = client.get("/qolead/pdf/").content
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(
        f"\nDraft and checklist edition at their maximum: publish {seconds:.2f} s, {pages} pages, {len(pdf):,} bytes"
    )
    assert pages <= MAX_PDF_PAGES_WITH_EDITION_AT_MAXIMUM


@pytest.mark.real_pdf
def test_at_every_maximum_no_word_runs_off_the_pdf_page(client, example_org):
    fill_to_the_maximum(example_org.sheet)
    publish(example_org.sheet, change_note="上限")

    assert words_outside_the_page(client.get("/qolead/pdf/").content) == []
