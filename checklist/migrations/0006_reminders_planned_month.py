"""実施時期 becomes a year and month (a date: the first day of the month).

The old text column is renamed planned_time_text; every value that names one month
(2027年3月, 2027/3, 令和9年3月 …, see checklist.months.parse_legacy_month) is moved
into the new planned_time and its text cleared. The others stay as they were typed,
for staff to fix (the dashboard lists them; publishing refuses them). History rows
are the audit trail and are left as recorded.
"""

import disclosure_portal.validators
from django.db import migrations, models

import checklist.months


def convert_planned_times(apps, schema_editor):
    Answer = apps.get_model("checklist", "Answer")
    converted = []
    for answer in Answer.objects.exclude(planned_time_text="").only("pk", "planned_time_text"):
        month = checklist.months.parse_legacy_month(answer.planned_time_text)
        if month is not None:
            answer.planned_time, answer.planned_time_text = month, ""
            converted.append(answer)
    Answer.objects.bulk_update(converted, ["planned_time", "planned_time_text"], batch_size=500)


def restore_planned_times(apps, schema_editor):
    Answer = apps.get_model("checklist", "Answer")
    restored = []
    for answer in Answer.objects.filter(planned_time__isnull=False).only("pk", "planned_time"):
        answer.planned_time_text = checklist.months.format_month(answer.planned_time)
        restored.append(answer)
    Answer.objects.bulk_update(restored, ["planned_time_text"], batch_size=500)


TEXT_FIELD = dict(
    blank=True,
    max_length=40,
    validators=[disclosure_portal.validators.validate_printable],
    verbose_name="実施時期（年月に変換できなかった記入）",
)
MONTH_FIELD = dict(
    blank=True,
    null=True,
    help_text="「実施予定」を選択した場合は、実施予定時期を明記すること。年月で入力します（例: 2027年3月）。",
    validators=[checklist.months.validate_month],
    verbose_name="実施時期",
)


class Migration(migrations.Migration):
    dependencies = [
        ("checklist", "0005_printable_planned_time"),
    ]

    operations = [
        migrations.RenameField("answer", "planned_time", "planned_time_text"),
        migrations.RenameField("historicalanswer", "planned_time", "planned_time_text"),
        migrations.AlterField("answer", "planned_time_text", models.CharField(**TEXT_FIELD)),
        migrations.AlterField("historicalanswer", "planned_time_text", models.CharField(**TEXT_FIELD)),
        migrations.AddField("answer", "planned_time", models.DateField(**MONTH_FIELD)),
        migrations.AddField("historicalanswer", "planned_time", models.DateField(**MONTH_FIELD)),
        migrations.RunPython(convert_planned_times, restore_planned_times, elidable=False),
    ]
