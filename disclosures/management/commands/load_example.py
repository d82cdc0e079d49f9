"""Load the official checklist template and the example organisation (qolead),
published as version 1 effective 2022年4月1日.

Safe to run again: the template is matched by its natural keys and an existing
example organisation is left as it is, so edits made since are kept.
"""

import datetime
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from checklist.models import Answer, ChecklistTemplate
from disclosures.models import Organization
from disclosures.publishing import PublishError, publish

TEMPLATE_FIXTURE = "checklist_guideline_v2"
EXAMPLE_FILE = "example_qolead.json"


class Command(BaseCommand):
    help = "公式チェックリスト様式と記入例の代行機関（qolead）を読み込みます（何度実行しても重複しません）。"

    def handle(self, *args, **options):
        call_command("loaddata", TEMPLATE_FIXTURE, verbosity=0)
        example = json.loads((settings.FIXTURE_DIRS[0] / EXAMPLE_FILE).read_text(encoding="utf-8"))
        slug = example["organization"]["slug"]
        if Organization.objects.filter(slug=slug).exists():
            self.stdout.write(f"記入例の代行機関 {slug} は登録済みです。変更しません。")
            return
        try:
            load_example_organization(example)
        except ValidationError as error:
            raise CommandError("記入例が不正です: " + "; ".join(error.messages)) from error
        except PublishError as error:
            # Nothing is kept (one transaction): e.g. no certificate to sign the PDF with.
            raise CommandError("記入例を公開できませんでした: " + " ".join(error.problems)) from error
        self.stdout.write(self.style.SUCCESS(f"記入例の代行機関 {slug} を登録しました。"))


@transaction.atomic
def load_example_organization(example):
    template = ChecklistTemplate.objects.get(code=example["checklist"]["template"])
    organization = Organization.create_with_drafts(template=template, **example["organization"])
    sheet = organization.sheet
    values = dict(example["sheet"])
    if values.get("service_start_date"):
        values["service_start_date"] = datetime.date.fromisoformat(values["service_start_date"])
    for name, value in values.items():
        setattr(sheet, name, value)
    sheet.full_clean()  # the same rules as the admin
    sheet.save()
    status = Answer.Status(example["checklist"]["every_item"])
    for answer in sheet.checklist.answers.all():
        answer.status = status
        answer.full_clean(exclude=["checklist", "item"])
        answer.save()
    # The example was already published on paper: version 1 carries that date.
    publish(
        sheet,
        change_note=example["change_note"],
        effective_date=datetime.date.fromisoformat(example["effective_date"]),
    )
    return organization
