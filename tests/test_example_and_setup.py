"""The example data, the form's words and the settings a new user meets."""

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import transaction

from checklist.models import ChecklistTemplate, Item
from disclosures.layout import SHEET_LAYOUT
from disclosures.models import DisclosureSheet, Organization
from disclosures.notes import SHEET_INSTRUCTIONS, SHEET_NOTES, UPDATE_INSTRUCTION

from . import factories
from .factories import EXAMPLE, ROOT, SEED_TEXT

SEED_SHEET = SEED_TEXT.split("別添 医療情報システム")[0]


def load_example():
    call_command("load_example", verbosity=0, stdout=open(os.devnull, "w"))


@pytest.fixture
def example_org(db):
    """These tests are about the example: it comes from the command itself."""
    load_example()
    return Organization.objects.select_related("sheet__checklist").get(slug=EXAMPLE["organization"]["slug"])


def example_state(organization):
    publication = organization.publications.get()
    return (
        organization.slug,
        organization.name,
        {name: getattr(organization.sheet, name) for name in EXAMPLE["sheet"]},
        sorted(organization.sheet.checklist.answers.values_list("item__pk", "status", "planned_time")),
        publication.number,
        publication.snapshot,
        publication.change_note,
        publication.sheet_updated_on,
        publication.checklist_updated_on,
    )


@pytest.mark.django_db
def test_the_tests_example_factory_makes_what_load_example_makes():
    """Elsewhere tests get the example from factories.example_organization(): it
    must be the same draft, answers and version 1 as the command's."""
    with transaction.atomic():
        load_example()
        loaded_state = example_state(Organization.objects.get(slug=EXAMPLE["organization"]["slug"]))
        transaction.set_rollback(True)
    made = factories.example_organization()
    assert example_state(made) == loaded_state


@pytest.mark.django_db
def test_load_example_twice_duplicates_nothing(example_org):
    call_command("load_example", verbosity=0, stdout=open(os.devnull, "w"))
    assert Organization.objects.count() == 1
    assert DisclosureSheet.objects.count() == 1
    assert ChecklistTemplate.objects.count() == 1
    assert Item.objects.count() == 56
    assert example_org.sheet.checklist.answers.count() == 56


@pytest.mark.django_db
def test_load_example_keeps_edits_made_since(sheet):
    sheet.hours_system = "平日のみ"
    sheet.save()
    call_command("load_example", verbosity=0, stdout=open(os.devnull, "w"))
    sheet.refresh_from_db()
    assert sheet.hours_system == "平日のみ"


@pytest.mark.django_db
def test_example_picks_insurer_side_as_note3_requires(sheet):
    assert sheet.classification == "insurer"
    assert sheet.get_classification_display() == "医療保険者サイド"


@pytest.mark.django_db
def test_example_uses_the_official_name_as_note1_asks(example_org, sheet):
    # 注1) 名称等は正式なもので記載する. The seed prints 「株式会社QOL e a d」 (spaced
    # letters of a PDF extraction); the agency's own site is qolead.com.
    assert "注1) 名称等は正式なもので記載する。" in SEED_SHEET
    assert "機関名 ^{注1)}\t株式会社QOL e a d" in SEED_SHEET
    assert sheet.name == example_org.name == "株式会社QOLead"
    assert sheet.website_url == "http://qolead.com"


@pytest.mark.django_db
def test_example_text_values_are_the_seeds(sheet):
    for name, value in EXAMPLE["sheet"].items():
        field = DisclosureSheet._meta.get_field(name)
        if name == "name":  # the official spelling, not the seed's (注1)
            continue
        if isinstance(value, str) and value and not field.choices and name != "service_start_date":
            assert value in SEED_SHEET, name
        if name != "service_start_date":
            assert getattr(sheet, name) == value, name
    assert sheet.service_start_date.isoformat() == "2021-04-01"
    assert "提供開始の年月日 ^{注9)}\t2021年4月1日" in SEED_SHEET


@pytest.mark.django_db
def test_example_checklist_is_all_done(sheet):
    assert set(sheet.checklist.answers.values_list("status", flat=True)) == {"done"}


def test_sheet_notes_are_the_seeds_word_for_word():
    for number, text in SHEET_NOTES.items():
        assert f"\n注{number}) {text}\n" in SEED_SHEET


def test_sheet_instructions_are_the_seeds():
    for line in (*SHEET_INSTRUCTIONS, UPDATE_INSTRUCTION):
        assert f"\n{line}\n" in SEED_SHEET


def test_every_part_heading_and_row_label_is_on_the_form():
    for part in SHEET_LAYOUT:
        assert part.title.text in SEED_SHEET
        for row in part.rows:
            for label in row.labels:
                assert label.text in SEED_SHEET, label.text
            for cell in row.cells:
                assert cell.caption in SEED_SHEET and cell.unit in SEED_SHEET, cell


def test_every_note_reference_is_where_the_form_puts_it():
    referenced = set()
    for part in SHEET_LAYOUT:
        for label in (part.title, *(label for row in part.rows for label in row.labels)):
            if label.notes:
                marker = "^{" + "".join(f"注{n})" for n in label.notes) + "}"
                assert f"{label.text} {marker}" in SEED_SHEET
                referenced.update(label.notes)
    assert sorted(referenced) == list(range(1, 14))


def test_every_option_label_is_on_the_form():
    for field in DisclosureSheet._meta.get_fields():
        for _value, label in getattr(field, "choices", None) or getattr(field, "choice_options", []):
            assert label in SEED_SHEET, label


# The filled seed deleted the options it did not tick (as its instructions allow);
# the blank form's オフライン(媒体) is the one label that went with them.
WORDS_OF_DELETED_OPTIONS = {"媒体"}


def test_every_field_label_is_made_of_the_forms_words():
    for field in DisclosureSheet._meta.concrete_fields:
        if field.name in ("id", "organization", "checklist", "updated_at"):
            continue
        for word in field.verbose_name.split(" "):
            assert word in SEED_SHEET or word in WORDS_OF_DELETED_OPTIONS, field.verbose_name


def run_django(env_overrides, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_production_settings_without_secret_key_stop_with_a_clear_message():
    result = run_django({"DJANGO_ALLOWED_HOSTS": "example.jp"}, "check")
    assert result.returncode != 0
    assert "need DJANGO_SECRET_KEY." in result.stderr


def test_production_settings_without_allowed_hosts_stop_with_a_clear_message():
    result = run_django({"DJANGO_SECRET_KEY": "x" * 50}, "check")
    assert result.returncode != 0
    assert "need DJANGO_ALLOWED_HOSTS." in result.stderr


def test_debug_only_when_the_environment_asks():
    code = "from django.conf import settings; print(settings.DEBUG)"
    production = run_django(
        {"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "a"}, "shell", "--no-imports", "-c", code
    )
    development = run_django({"DJANGO_DEBUG": "true"}, "shell", "--no-imports", "-c", code)
    assert production.stdout.strip() == "False"
    assert development.stdout.strip() == "True"


def test_database_url_switches_the_database():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = run_django(
        {"DJANGO_DEBUG": "true", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"},
        "shell",
        "--no-imports",
        "-c",
        code,
    )
    assert result.stdout.strip() == "django.db.backends.postgresql"
