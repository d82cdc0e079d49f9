"""実施時期 as a year and month: the migration's parser, the admin's input, the
snapshot's text, and publishing refusing a 実施予定 whose month has passed."""

import datetime

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from checklist.months import format_month, parse_legacy_month, parse_month_input
from disclosures.forms import AnswerForm
from disclosures.publishing import PublishError, publish

from .factories import (
    checklist_post_data,
    checklist_url,
    frozen_at,
    month,
    plan,
    publish_change,
    schema_errors,
    utc,
)

MIGRATION = __import__(
    "checklist.migrations.0006_reminders_planned_month", fromlist=["convert_planned_times"]
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2027年3月", (2027, 3)),
        ("2027年03月", (2027, 3)),
        ("2027/3", (2027, 3)),
        ("2027/03", (2027, 3)),
        ("2027-03", (2027, 3)),
        ("2027.3", (2027, 3)),
        ("2027/3月", (2027, 3)),
        (" 2027 年 3 月 ", (2027, 3)),
        ("２０２７年３月", (2027, 3)),
        ("２０２７／３", (2027, 3)),
        ("2027年12月", (2027, 12)),
        ("令和9年3月", (2027, 3)),
        ("令和９年３月", (2027, 3)),
        ("令和元年5月", (2019, 5)),
        ("平成31年4月", (2019, 4)),
        ("R9.3", (2027, 3)),
        ("r9.3", (2027, 3)),
        ("Ｒ９．３", (2027, 3)),
        ("R09/03", (2027, 3)),
        ("H31.4", (2019, 4)),
        ("2027年3月末", (2027, 3)),
        ("2027年3月頃", (2027, 3)),
        ("2027年3月ごろ", (2027, 3)),
        ("2027年3月まで", (2027, 3)),
        ("2019年3月", (2019, 3)),  # passed, but a month: publishing refuses it, not the migration
    ],
)
def test_legacy_texts_naming_one_month_are_converted(text, expected):
    assert parse_legacy_month(text) == datetime.date(*expected, 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "未定",
        "2027年度",
        "2027年度中",
        "2027年春",
        "2027年",
        "2027年13月",
        "2027年0月",
        "2027/00",
        "1999年12月",  # before 2000
        "2101年1月",  # after 2100
        "9999-12",
        "27年3月",
        "令和0年3月",
        "令和999年3月",
        "昭和50年3月",
        "R.3",
        "2027年3月1日",
        "2027年3月〜4月",
        "2027年3月末頃まで予定です",
        "3月",
        "末",
        "2027-3-1",
        "<script>alert(1)</script>",
        "2027年3月\u202e",
        "2027年3月😀",
        "2027年3月\x00",
        "'; DROP TABLE checklist_answer; --",
        "2" * 100_000,
        "２０２７年" + "３" * 50 + "月",
        "٢٠٢٧/٣",  # Arabic-Indic digits: not the form's
        None,
        20273,
    ],
)
def test_legacy_texts_naming_no_single_month_are_kept(text):
    assert parse_legacy_month(text) is None


@pytest.mark.parametrize("text", ["2027-03", "2027-3", "2027年3月", "２０２７年３月", " 2027-03 "])
def test_the_admin_accepts_a_month_as_the_picker_or_in_japanese(text):
    assert parse_month_input(text) == datetime.date(2027, 3, 1)


@pytest.mark.parametrize("text", ["2027/3", "令和9年3月", "2027年13月", "来年", "2027-03-01", "<b>", "2027"])
def test_the_admin_refuses_anything_else_in_japanese(text):
    with pytest.raises(ValidationError) as raised:
        parse_month_input(text)
    assert raised.value.messages == ["実施時期は年月で入力してください（例: 2027-03 または 2027年3月）。"]


@pytest.mark.parametrize("text", ["1999-12", "2101-01", "0001年1月"])
def test_the_admin_refuses_years_outside_2000_to_2100(text):
    with pytest.raises(ValidationError, match="2000年から2100年まで"):
        parse_month_input(text)


def test_a_month_is_written_without_leading_zero():
    assert format_month(datetime.date(2027, 3, 1)) == "2027年3月"
    assert format_month(None) == ""


@pytest.mark.django_db
def test_the_migration_converts_what_parses_and_keeps_the_rest(sheet):
    answers = list(sheet.checklist.ordered_answers()[:4])
    for answer, text in zip(answers, ["2027/03", "令和9年4月", "未定", "２０２８年１月"]):
        answer.status, answer.planned_time_text = "planned", text
        answer.save()
    MIGRATION.convert_planned_times(apps, None)
    stored = [(a.planned_time, a.planned_time_text) for a in sheet.checklist.ordered_answers()[:4]]
    assert stored == [
        (month(2027, 3), ""),
        (month(2027, 4), ""),
        (None, "未定"),
        (month(2028, 1), ""),
    ]
    MIGRATION.restore_planned_times(apps, None)
    assert sheet.checklist.ordered_answers()[0].planned_time_text == "2027年3月"


@pytest.mark.django_db
def test_the_snapshot_keeps_the_month_as_text_the_schema_accepts(sheet):
    plan(sheet, 0, month(2027, 3))
    with frozen_at(utc(2026, 11, 28, 3, 0)):
        publication = publish_change(sheet, note="実施予定を追加")
    item = publication.snapshot["checklist"]["sections"][0]["items"][0]
    assert item["planned_time"] == "2027年3月"
    assert schema_errors(publication.snapshot) == []


@pytest.mark.django_db
def test_publishing_refuses_a_planned_item_whose_month_has_passed_naming_it(sheet):
    plan(sheet, 0, month(2026, 10))
    with frozen_at(utc(2026, 11, 28, 3, 0)), pytest.raises(PublishError) as raised:
        publish(sheet, change_note="更新")
    item = sheet.checklist.ordered_answers()[0].item
    assert raised.value.problems == [
        f"組織的安全管理対策 1. {item.text}: 実施予定の実施時期（2026年10月）が過ぎています。"
        "「実施済」にするか、新しい実施時期を入力してください。"
    ]


@pytest.mark.django_db
def test_the_current_month_in_tokyo_is_not_passed(sheet):
    plan(sheet, 0, month(2026, 12))
    # 2026-12-01 00:30 in Tokyo is still 2026-11-30 in UTC.
    with frozen_at(utc(2026, 11, 30, 15, 30)):
        publication = publish(sheet, change_note="実施予定を追加")
    assert publication.number == 2
    plan(sheet, 1, month(2026, 11))
    with frozen_at(utc(2026, 11, 30, 15, 30)), pytest.raises(PublishError, match="2026年11月"):
        publish(sheet, change_note="更新")


@pytest.mark.django_db
def test_publishing_refuses_an_unconverted_legacy_text(sheet):
    plan(sheet, 2, "2027年度中")
    with pytest.raises(PublishError) as raised:
        publish(sheet, change_note="更新")
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith("組織的安全管理対策 3. ")
    assert "実施時期「2027年度中」が年月ではありません。" in raised.value.problems[0]


@pytest.mark.django_db
def test_an_unconverted_text_is_shown_to_staff_and_replaced_by_a_typed_month(staff_client, sheet):
    plan(sheet, 0, "未定")
    checklist = sheet.checklist
    page = staff_client.get(checklist_url(checklist)).content.decode()
    assert "以前の記入「未定」を年月に変換できませんでした。" in page
    response = staff_client.post(
        checklist_url(checklist), checklist_post_data(checklist, a0=("planned", "2027年3月"))
    )
    assert response.status_code == 302
    answer = checklist.ordered_answers()[0]
    assert (answer.planned_time, answer.planned_time_text) == (month(2027, 3), "")


@pytest.mark.django_db
def test_saving_other_answers_keeps_an_unconverted_text(staff_client, sheet):
    plan(sheet, 0, "未定")
    checklist = sheet.checklist
    data = checklist_post_data(checklist, a0=("planned", ""), a1=("done", ""))
    assert staff_client.post(checklist_url(checklist), data).status_code == 302
    assert checklist.ordered_answers()[0].planned_time_text == "未定"


def test_the_month_input_shows_a_stored_month_as_the_picker_reads_it():
    form = AnswerForm(initial={"status": "planned", "planned_time": datetime.date(2027, 3, 1)})
    html = str(form["planned_time"])
    assert 'type="month"' in html
    assert 'value="2027-03"' in html


@pytest.mark.django_db
def test_the_public_page_shows_the_month_in_japanese(client, sheet):
    plan(sheet, 0, month(2027, 3))
    with frozen_at(utc(2026, 11, 28, 3, 0)):
        publish_change(sheet, note="実施予定を追加")
    response = client.get("/qolead/")
    assert response.status_code == 200
    assert "2027年3月" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_migrating_a_database_converts_its_planned_times():
    """The migration itself, from the text column of 0005 to the month of 0006."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from .factories import make_organization

    checklist_id = make_organization("acme", "株式会社アクメ").sheet.checklist_id
    before, after = (
        ("checklist", "0005_printable_planned_time"),
        ("checklist", "0006_reminders_planned_month"),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old_answer = executor.loader.project_state(before).apps.get_model("checklist", "Answer")
    rows = old_answer.objects.filter(checklist_id=checklist_id).order_by(
        "item__section__order", "item__number"
    )
    pks = list(rows.values_list("pk", flat=True)[:4])
    for pk, text in zip(pks, ["R9.3", "２０２７年３月末", "未定", ""]):
        old_answer.objects.filter(pk=pk).update(status="planned" if text else "done", planned_time=text)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([after])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from checklist.models import Answer

    stored = {a.pk: (a.planned_time, a.planned_time_text) for a in Answer.objects.filter(pk__in=pks)}
    assert [stored[pk] for pk in pks] == [
        (month(2027, 3), ""),
        (month(2027, 3), ""),
        (None, "未定"),
        (None, ""),
    ]
