"""Test data: only the rows a test needs.

- `official_template()`: the official checklist template (conftest loads it once per
  session, right after the test database is created).
- `make_organization(slug, name, **sheet_values)`: an organisation whose draft is
  valid and publishable — the example's values (fixtures/example_qolead.json), every
  checklist item 実施済 — changed by `sheet_values`; nothing published.
- `publish_version(sheet, **changes)`: change draft fields, then publish.
- `example_organization()`: what `manage.py load_example` makes (qolead, version 1
  effective 2022年4月1日), without re-reading the template fixture or validating what
  is known to be valid. tests/test_example_and_setup.py proves the two are the same.
"""

import datetime
import json
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft202012Validator
from simple_history.utils import bulk_update_with_history

from checklist.models import Answer, ChecklistTemplate, Item, Note, Section
from checklist.months import parse_legacy_month
from disclosures.models import Membership, Organization
from disclosures.publishing import publish

ROOT = Path(__file__).resolve().parent.parent
SEED_TEXT = (ROOT / "fixtures/seed/disclosure-sheet-and-checklist.txt").read_text(encoding="utf-8")
EXAMPLE = json.loads((ROOT / "fixtures/example_qolead.json").read_text(encoding="utf-8"))

TEMPLATE_FIXTURE = "checklist_guideline_v2"
TEMPLATE_CODE = EXAMPLE["checklist"]["template"]
SNAPSHOT_SCHEMA = json.loads(
    (ROOT / "disclosures/schema/snapshot-v1.schema.json").read_text(encoding="utf-8")
)
EXAMPLE_EFFECTIVE_DATE = datetime.date.fromisoformat(EXAMPLE["effective_date"])

# The moment the example's version 1 is published in every test of a session (the
# session's start, as if load_example had just run): the same inputs give the same
# PDF, which conftest renders once per session for the tests marked real_pdf.
EXAMPLE_PUBLISHED_AT = timezone.now().replace(microsecond=0)


def frozen_at(moment):
    """Make `moment` (an aware datetime) the current time for Django."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def utc(*args):
    return datetime.datetime(*args, tzinfo=datetime.UTC)


def load_official_template():
    call_command("loaddata", TEMPLATE_FIXTURE, verbosity=0)


def official_template():
    """The official template: loaded once per session; loaded again only after a
    transactional test has emptied the tables."""
    template = ChecklistTemplate.objects.filter(code=TEMPLATE_CODE).first()
    if template is None:
        load_official_template()
        template = ChecklistTemplate.objects.get(code=TEMPLATE_CODE)
    return template


def example_sheet_values():
    values = dict(EXAMPLE["sheet"])
    values["service_start_date"] = datetime.date.fromisoformat(values["service_start_date"])
    return values


def change_sheet(sheet, **fields):
    for name, value in fields.items():
        setattr(sheet, name, value)
    sheet.save()


def answer_all(checklist, status=Answer.Status.DONE, planned_time=None):
    """Give every answer of the checklist `status` (with history, as the admin does)."""
    answers = list(checklist.answers.all())
    for answer in answers:
        answer.status = status
        answer.planned_time = planned_time
    bulk_update_with_history(answers, Answer, ["status", "planned_time"])


def month(year, month):
    """A 実施時期: the first day of the month."""
    return datetime.date(year, month, 1)


def plan(sheet, index, planned_time):
    """Mark the checklist's answer number `index` (0-based, form order) 実施予定 in the
    month `planned_time`: a date, or a text as the migration reads it (「2027年3月」 is
    that month; a text naming no month is kept as an unconverted legacy text)."""
    answer = sheet.checklist.ordered_answers()[index]
    answer.status = Answer.Status.PLANNED
    if isinstance(planned_time, str) and parse_legacy_month(planned_time) is not None:
        planned_time = parse_legacy_month(planned_time)
    if isinstance(planned_time, str):
        answer.planned_time, answer.planned_time_text = None, planned_time
    else:
        answer.planned_time, answer.planned_time_text = planned_time, ""
    answer.save()


def make_organization(slug, name, *, template=None, answered=Answer.Status.DONE, **sheet_values):
    """An organisation with a valid, publishable draft: the example's values changed
    by `sheet_values` (the sheet's name is the organisation's unless given), every
    checklist item `answered` (None: left unanswered)."""
    organization = Organization.create_with_drafts(
        slug=slug, name=name, template=template or official_template()
    )
    change_sheet(organization.sheet, **(example_sheet_values() | {"name": name} | sheet_values))
    if answered:
        # One UPDATE: the answers' audit trail starts at their creation, as for a
        # checklist answered in one go (answer_all() records each change).
        organization.sheet.checklist.answers.update(status=answered)
    return organization


def new_organization(slug, name, classification="institution_group"):
    """A second organisation whose draft is complete and can be published."""
    return make_organization(
        slug,
        name,
        address="大阪府大阪市北区梅田1丁目1番1号",
        phone="06-1234-5678",
        classification=classification,
    )


def publish_version(sheet, change_note="内容を更新しました。", **changes):
    """Change draft fields (if any), then publish; returns the new Publication."""
    if changes:
        change_sheet(sheet, **changes)
    return publish(sheet, change_note=change_note)


def publish_change(sheet, note="内容を更新しました。", **fields):
    """Change sheet fields in the draft, then publish it."""
    return publish_version(sheet, note, **fields)


def example_organization():
    """qolead as load_example leaves it: version 1 effective 2022年4月1日, every
    checklist item 実施済."""
    organization = make_organization(**EXAMPLE["organization"])
    with frozen_at(EXAMPLE_PUBLISHED_AT):
        publish(
            organization.sheet,
            change_note=EXAMPLE["change_note"],
            effective_date=EXAMPLE_EFFECTIVE_DATE,
        )
    return Organization.objects.select_related("sheet__checklist").get(pk=organization.pk)


def make_template(code, sections=2, items_per_section=3):
    """A small checklist edition of its own, for tests that vary the size."""
    template = ChecklistTemplate.objects.create(
        code=code, guideline_title="テスト用ガイドライン", title="テスト用チェックリスト"
    )
    note = Note.objects.create(template=template, number=1, text="テスト用の注")
    for order in range(1, sections + 1):
        section = Section.objects.create(template=template, order=order, title=f"区分{order}")
        for number in range(1, items_per_section + 1):
            Item.objects.create(
                section=section,
                number=number,
                text=f"項目{order}-{number}",
                note=note if number == 1 else None,
            )
    return template


# --- users ------------------------------------------------------------------------

PASSWORD = "Kenshin-Hoken-2026!"


def member(django_user_model, organization, role, username):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    Membership.objects.create(organization=organization, user=user, role=role)
    return user


def logged_in(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


# --- what the admin's forms send ------------------------------------------------------


def sheet_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk])


def checklist_url(checklist):
    return reverse("admin:checklist_checklist_change", args=[checklist.pk])


def sheet_post_data(sheet, **changes):
    """What the browser sends for the sheet as it is, with `changes` typed in."""
    from disclosures.forms import DisclosureSheetForm

    data = {}
    for name in DisclosureSheetForm().fields:
        value = getattr(sheet, name)
        if value is None:
            value = ""
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        data[name] = value
    data.update(changes)
    return data


def checklist_post_data(checklist, **by_index):
    """The answers formset as rendered, with answer i replaced by by_index[f'a{i}']."""
    answers = list(checklist.ordered_answers())
    data = {
        "answers-TOTAL_FORMS": len(answers),
        "answers-INITIAL_FORMS": len(answers),
        "answers-MIN_NUM_FORMS": 0,
        "answers-MAX_NUM_FORMS": 0,
    }
    for i, answer in enumerate(answers):
        status, planned_time = by_index.get(f"a{i}", (answer.status, answer.planned_time))
        if isinstance(planned_time, datetime.date):
            planned_time = f"{planned_time:%Y-%m}"
        elif planned_time is None:
            planned_time = ""
        data.update(
            {
                f"answers-{i}-id": answer.pk,
                f"answers-{i}-checklist": checklist.pk,
                f"answers-{i}-status": status,
                f"answers-{i}-planned_time": planned_time,
            }
        )
    return data


def schema_errors(document):
    validator = Draft202012Validator(SNAPSHOT_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(document)]


def publish_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk])


def preview_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk])


# --- reading a page -------------------------------------------------------------


class PageReader(HTMLParser):
    """What a sighted reader sees: the text (words for screen readers only are
    skipped), the table rows as lists of cell texts, and each □ group as a list of
    "■label" / "□label" strings."""

    BLOCKS = {"p", "li", "td", "th", "tr", "h1", "h2", "h3", "dt", "dd", "ul", "table"}

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.chunks, self.rows, self.option_groups = [], [], []
        self._spans = []  # for each open <span>: is it visually hidden?
        self._row = self._cell = self._option = None
        self.feed(html)
        self.close()
        self.text = "".join(self.chunks)

    def _write(self, data):
        if any(self._spans):
            return
        self.chunks.append(data)
        for buffer in (self._cell, self._option):
            if buffer is not None:
                buffer.append(data)

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "span":
            self._spans.append("visually-hidden" in classes)
        elif tag == "br":
            self._write("\n")
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "ul" and "options" in classes:
            self.option_groups.append([])
        elif tag == "li" and "option" in classes:
            self._option = []
        if tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        if tag == "span" and self._spans:
            self._spans.pop()
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "li" and self._option is not None:
            self.option_groups[-1].append("".join(self._option).strip())
            self._option = None
        if tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data):
        self._write(data)


def read(response):
    assert response.status_code == 200, response.status_code
    return PageReader(response.content.decode())
