"""Generate N organisations with a published version, for measuring the directory.

Bench data, never for a real portal: the command refuses a database that holds any
organisation it did not make itself (a slug not starting with "bench-").

Each organisation is the example (fixtures/example_qolead.json) with its own name,
分類, 提供するサービス (対象, 内容), サポート拠点の都道府県 and checklist answers
(about 6 in 10 all 実施済, the others with one to three 実施予定 items and a 実施時期),
so every filter of the directory has matches. Its draft sheet, checklist and answers are
stored (bulk inserts, no change history), and version 1 is made from them as publish()
makes it: the same snapshot builder, digests and directory facts. Only the PDF is a
stand-in, a few bytes saying so, neither rendered nor signed: rendering 1,000 PDFs
would take minutes and the directory never reads them (a bench organisation's
/pdf/ is therefore no real PDF). About 5 s for 1,000 organisations.
"""

import datetime
import json
import random

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from checklist.models import Answer, Checklist, ChecklistTemplate, Item
from checklist.months import month_of
from disclosures.models import (
    SERVICE_CONTENTS,
    SERVICE_TARGETS,
    Classification,
    DirectoryEntry,
    DisclosureSheet,
    Organization,
    Publication,
)
from disclosures.pdf import pdf_sha256
from disclosures.prefectures import PREFECTURES
from disclosures.snapshot import build_snapshot, document_digests, sha256_of

SLUG_PREFIX = "bench-"
TEMPLATE_FIXTURE = "checklist_guideline_v2"
EXAMPLE_FILE = "example_qolead.json"
BATCH = 200
NAME_PARTS = (
    ("日本", "東都", "関西", "北海", "九州", "中部", "みらい", "さくら", "ひかり", "あおば"),
    ("健診", "保健", "ヘルス", "メディカル", "データ", "医療情報", "ケア", "ウェルネス"),
    ("サービス", "センター", "システムズ", "ネットワーク", "ソリューションズ", "協会"),
)
# 実施予定 months, counted from the month the data is generated (they must lie ahead).
PLANNED_MONTHS_AHEAD = (1, 4, 10, 16, 29)


def planned_month(rng, today):
    ahead = today.month - 1 + rng.choice(PLANNED_MONTHS_AHEAD)
    return month_of(today.year + ahead // 12, ahead % 12 + 1)


def bench_name(rng, index):
    first, second, third = (rng.choice(part) for part in NAME_PARTS)
    return f"{first}{second}{third}株式会社 {index:05d}"


def some(rng, choices, at_most=None):
    """A non-empty random subset of the codes of `choices`, in their order."""
    codes = [code for code, _label in choices]
    chosen = set(rng.sample(codes, rng.randint(1, at_most or len(codes))))
    return [code for code in codes if code in chosen]


class Command(BaseCommand):
    help = (
        "ベンチマーク用に、公開版（第1版）のある代行機関を指定した数だけ作ります"
        "（PDFは代用の数バイトで、実際の公開には使えません）。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=1000, help="作る代行機関の数（既定 1000）")
        parser.add_argument("--seed", type=int, default=15, help="乱数の種（同じ種なら同じデータ）")

    def handle(self, *args, count, seed, **options):
        if count < 1 or count > 100_000:
            raise CommandError("--count は1から100000までの数を指定してください。")
        others = Organization.objects.exclude(slug__startswith=SLUG_PREFIX)
        if others.exists():
            raise CommandError(
                "ベンチマーク用ではない代行機関が登録されたデータベースには作れません"
                f"（{others.count()}件）。ベンチマーク専用のデータベースで実行してください。"
            )
        call_command("loaddata", TEMPLATE_FIXTURE, verbosity=0)
        started = timezone.now()
        first = Organization.objects.filter(slug__startswith=SLUG_PREFIX).count()
        generate(count, first=first, rng=random.Random(seed))
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(
            self.style.SUCCESS(f"ベンチマーク用の代行機関を{count}件作りました（{seconds:.1f}秒）。")
        )


@transaction.atomic
def generate(count, *, first=0, rng):
    template = ChecklistTemplate.objects.get(is_default=True)
    items = list(
        Item.objects.filter(section__template=template)
        .select_related("section", "note")
        .order_by("section__order", "number")
    )
    example = json.loads((settings.FIXTURE_DIRS[0] / EXAMPLE_FILE).read_text(encoding="utf-8"))
    for start in range(first, first + count, BATCH):
        generate_batch(range(start, min(start + BATCH, first + count)), template, items, example, rng)


def generate_batch(indexes, template, items, example, rng):
    now = timezone.now()
    organizations = Organization.objects.bulk_create(
        [
            Organization(slug=f"{SLUG_PREFIX}{index + 1:05d}", name=bench_name(rng, index + 1))
            for index in indexes
        ]
    )
    checklists = Checklist.objects.bulk_create([Checklist(template=template) for _ in organizations])
    sheets, answer_lists = [], []
    for organization, checklist in zip(organizations, checklists, strict=True):
        sheet = DisclosureSheet(organization=organization, checklist=checklist, **sheet_values(example, rng))
        sheet.name = organization.name
        sheets.append(sheet)
        answer_lists.append(answers_for(checklist, items, rng))
    DisclosureSheet.objects.bulk_create(sheets)
    Answer.objects.bulk_create([answer for answers in answer_lists for answer in answers])

    publications = []
    for sheet, answers in zip(sheets, answer_lists, strict=True):
        snapshot = build_snapshot(sheet, answers)
        sheet_digest, checklist_digest = document_digests(snapshot)
        published_at = now - datetime.timedelta(days=rng.randint(1, 3 * 365), minutes=rng.randint(0, 1440))
        published_on = timezone.localdate(published_at)
        pdf = f"%PDF-1.7\n% generate_directory_bench stand-in for {sheet.organization.slug}, not a document\n"
        pdf = pdf.encode()
        publications.append(
            Publication(
                organization=sheet.organization,
                number=1,
                published_at=published_at,
                live_from=published_at,
                change_note="ベンチマーク用のデータです（初版）。",
                snapshot=snapshot,
                snapshot_sha256=sha256_of(snapshot),
                sheet_digest=sheet_digest,
                checklist_digest=checklist_digest,
                sheet_updated_on=published_on,
                checklist_updated_on=published_on,
                pdf=pdf,
                pdf_sha256=pdf_sha256(pdf),
                title=sheet.name,
                classification=sheet.classification,
            )
        )
    publications = Publication.objects.bulk_create(publications)
    DirectoryEntry.objects.bulk_create([DirectoryEntry.for_publication(p) for p in publications])


def sheet_values(example, rng):
    values = dict(example["sheet"])
    values["service_start_date"] = datetime.date.fromisoformat(values["service_start_date"])
    values["classification"] = rng.choice(Classification.values)
    values["service_targets"] = some(rng, SERVICE_TARGETS)
    values["service_contents"] = some(rng, SERVICE_CONTENTS)
    values["service_contents_other"] = "健診結果の集計・分析" if "other" in values["service_contents"] else ""
    values["facility_prefectures"] = "、".join(rng.sample(PREFECTURES, rng.randint(1, 3)))
    return values


def answers_for(checklist, items, rng):
    planned = set(rng.sample(range(len(items)), rng.randint(1, 3))) if rng.random() < 0.4 else set()
    return [
        Answer(
            checklist=checklist,
            item=item,
            status=Answer.Status.PLANNED if index in planned else Answer.Status.DONE,
            planned_time=planned_month(rng, timezone.localdate()) if index in planned else None,
        )
        for index, item in enumerate(items)
    ]
