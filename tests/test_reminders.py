"""The dashboard on the admin index and the daily digest (`manage.py send_reminders`):
the same reminders, per organisation, as of a frozen day in Asia/Tokyo."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from disclosures import reminders
from disclosures.models import ReminderDigest
from disclosures.publishing import cancel_schedule
from disclosures.reminders import reminders_by_organization, send_digests
from disclosures.review import ask_for_publication, return_request

from .factories import (
    frozen_at,
    logged_in,
    make_organization,
    member,
    month,
    plan,
    publish,
    publish_change,
    utc,
)
from .smtp import run_queued_tasks

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 28)
NOW = utc(2026, 11, 28, 3, 0)  # 12:00 in Tokyo


JUNE = utc(2026, 6, 1, 3, 0)


def published_organization(slug, name, at=JUNE, **values):
    """An organisation whose version 1 was published `at`, the draft unchanged since."""
    organization = make_organization(slug, name, **values)
    with frozen_at(at):
        publish(organization.sheet, change_note="初版")
    return organization


def kinds(organization, today=TODAY):
    found = reminders_by_organization(type(organization).objects.filter(pk=organization.pk), today)
    return [reminder.source for reminder in found[organization]]


def texts(organization, kind, today=TODAY):
    found = reminders_by_organization(type(organization).objects.filter(pk=organization.pk), today)
    return [reminder.text for reminder in found[organization] if reminder.source == kind]


def with_email(user, address):
    user.email = address
    user.save()
    return user


def test_a_published_unchanged_organisation_has_nothing_to_report():
    organization = published_organization("acme", "株式会社アクメ")
    assert kinds(organization) == []


def test_an_overdue_planned_item_is_on_the_dashboard(django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    plan(organization.sheet, 0, month(2026, 10))
    editor = member(django_user_model, organization, "editor", "editor")
    with frozen_at(NOW):
        page = logged_in(editor).get(reverse("admin:index")).content.decode()
    assert "株式会社アクメ" in page
    assert "組織的安全管理対策 1. " in page
    assert "実施予定の実施時期（2026年10月）が過ぎています。" in page
    checklist_path = reverse("admin:checklist_checklist_change", args=[organization.sheet.checklist_id])
    assert f'href="{checklist_path}"' in page


def test_a_planned_item_is_listed_from_60_days_before_its_month():
    organization = published_organization("acme", "株式会社アクメ")
    plan(organization.sheet, 0, month(2027, 1))  # 2027-01-01: 34 days ahead
    plan(organization.sheet, 1, month(2027, 2))  # 2027-02-01: 65 days ahead
    due = texts(organization, "planned_items")
    assert len(due) == 1
    assert due[0].startswith("組織的安全管理対策 1. ")
    assert "実施時期（2027年1月）が近づいています。" in due[0]
    assert len(texts(organization, "planned_items", today=datetime.date(2026, 12, 3))) == 2
    this_month = texts(organization, "planned_items", today=datetime.date(2027, 1, 31))
    assert "実施時期（2027年1月）は今月です。" in this_month[0]


def test_unpublished_draft_changes_are_listed_with_since_when():
    organization = published_organization("acme", "株式会社アクメ")
    with frozen_at(utc(2026, 11, 20, 5, 7)):
        organization.sheet.hours_system = "24時間"
        organization.sheet.save()
    assert texts(organization, "draft_changes") == [
        "公開版（第1版）との差分が公開されていません（2026年11月20日 14:07 から）。"
    ]


def test_a_never_published_organisation_is_reminded_to_publish():
    organization = make_organization("acme", "株式会社アクメ")
    assert kinds(organization) == ["draft_changes"]
    assert "まだ一度も公開されていません" in texts(organization, "draft_changes")[0]


def test_unconverted_planned_times_are_listed_for_staff_to_fix():
    organization = published_organization("acme", "株式会社アクメ")
    plan(organization.sheet, 2, "2027年度中")
    found = texts(organization, "unconverted_planned_times")
    assert len(found) == 1
    assert found[0].startswith("組織的安全管理対策 3. ")
    assert "実施時期「2027年度中」を年月で入力し直してください。" in found[0]


def test_the_yearly_counts_reminder_runs_from_april_1_until_new_figures_are_published():
    organization = published_organization(
        "acme",
        "株式会社アクメ",
        at=utc(2026, 5, 10, 3, 0),
        cases_last_year_per_year=1200,
        cases_last_year_per_day=5,
    )
    assert "annual_counts" not in kinds(organization, today=datetime.date(2027, 3, 31))
    on_april_1 = texts(organization, "annual_counts", today=datetime.date(2027, 4, 1))
    assert on_april_1 == [
        "注13) 前年度の取扱件数を更新してください: 2027年4月1日から、件数を更新した版が公開されていません。"
    ]
    # A version that changes something else does not end it …
    with frozen_at(utc(2027, 4, 2, 3, 0)):
        publish_change(organization.sheet, hours_system="24時間")
    assert "annual_counts" in kinds(organization, today=datetime.date(2027, 4, 3))
    # … one with new figures does, until the next 4月1日.
    with frozen_at(utc(2027, 4, 5, 3, 0)):
        publish_change(organization.sheet, cases_last_year_per_year=1350)
    assert "annual_counts" not in kinds(organization, today=datetime.date(2027, 4, 6))
    assert "annual_counts" in kinds(organization, today=datetime.date(2028, 4, 1))


def test_the_example_dated_2022_is_reminded_of_its_counts_and_its_age(example_org):
    assert kinds(example_org) == ["annual_counts", "no_recent_publication"]
    assert texts(example_org, "no_recent_publication") == [
        "12か月以上公開していません（第1版、最終更新日 2022年4月1日）。内容が今も正しいか確認してください。"
    ]


def test_no_publication_for_12_months_is_reminded_from_the_same_day_a_year_later():
    organization = published_organization("acme", "株式会社アクメ", at=utc(2025, 11, 28, 3, 0))
    assert "no_recent_publication" not in kinds(organization, today=datetime.date(2026, 11, 27))
    assert "no_recent_publication" in kinds(organization, today=datetime.date(2026, 11, 28))


# A go-live at midnight in Tokyo, a month after TODAY.
GO_LIVE = utc(2026, 12, 31, 15, 0)  # 2027年1月1日 0:00
ASKED_AT = utc(2026, 11, 27, 1, 30)  # 10:30 in Tokyo
SCHEDULED_AT = utc(2026, 11, 21, 3, 0)


def asked_for(organization, user, at=ASKED_AT):
    """`user` changes the draft and asks for publication `at` (10:30 in Tokyo)."""
    with frozen_at(at):
        organization.sheet.hours_system = "平日9時から18時"
        organization.sheet.save()
        return ask_for_publication(organization.sheet, user=user, note="受付時間を変更しました。")


def scheduled(organization, live_from=GO_LIVE, at=SCHEDULED_AT):
    """Version 2 with a changed draft, scheduled `at` for `live_from`."""
    with frozen_at(at):
        organization.sheet.hours_system = "24時間"
        organization.sheet.save()
        return publish(organization.sheet, change_note="1月からの受付時間", live_from=live_from)


def test_an_open_request_is_listed_with_who_asked_and_since_when(django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    editor = member(django_user_model, organization, "editor", "editor")
    editor.last_name, editor.first_name = "山田", "花子"
    editor.save()
    publication_request = asked_for(organization, editor)
    with frozen_at(NOW):
        found = reminders_by_organization(type(organization).objects.filter(pk=organization.pk), TODAY)
    waiting = [reminder for reminder in found[organization] if reminder.source == "open_requests"]
    assert [reminder.text for reminder in waiting] == [
        "公開依頼が承認待ちです（依頼者: 花子 山田、2026年11月27日 10:30 から）。"
    ]
    assert waiting[0].url == reverse(
        "admin:disclosures_publicationrequest_change", args=[publication_request.pk]
    )
    publisher = member(django_user_model, organization, "publisher", "publisher")
    return_request(publication_request, user=publisher, comment="受付時間の表記を直してください。")
    assert texts(organization, "open_requests") == []


def test_a_scheduled_version_is_listed_with_its_go_live_until_it_goes_live():
    organization = published_organization("acme", "株式会社アクメ")
    version = scheduled(organization)
    with frozen_at(NOW):
        assert kinds(organization) == ["scheduled_versions"], "the draft is the scheduled version"
        found = reminders_by_organization(type(organization).objects.filter(pk=organization.pk), TODAY)
    (reminder,) = found[organization]
    assert reminder.text == "第2版が2027年1月1日 0:00に公開予定です。公開前なら取り消せます。"
    assert reminder.url == reverse("admin:disclosures_publication_change", args=[version.pk])
    with frozen_at(GO_LIVE):
        assert kinds(organization, today=datetime.date(2027, 1, 1)) == []


def test_a_cancelled_schedule_is_no_longer_listed_and_the_draft_is_compared_with_version_1():
    organization = published_organization("acme", "株式会社アクメ")
    scheduled(organization)
    with frozen_at(NOW):
        cancel_schedule(organization)
        assert kinds(organization) == ["draft_changes"]
        assert texts(organization, "draft_changes")[0].startswith(
            "公開版（第1版）との差分が公開されていません"
        )


def test_a_draft_changed_after_scheduling_names_the_scheduled_version():
    organization = published_organization("acme", "株式会社アクメ")
    scheduled(organization)
    with frozen_at(utc(2026, 11, 25, 0, 0)):
        organization.sheet.hours_system = "平日のみ"
        organization.sheet.save()
    with frozen_at(NOW):
        assert texts(organization, "draft_changes") == [
            "公開予定の版（第2版）との差分が公開されていません（2026年11月25日 09:00 から）。"
        ]


def test_a_scheduled_first_version_is_not_called_never_published():
    organization = make_organization("acme", "株式会社アクメ")
    with frozen_at(utc(2026, 11, 21, 3, 0)):
        publish(organization.sheet, change_note="初版", live_from=GO_LIVE)
    with frozen_at(NOW):
        assert kinds(organization) == ["scheduled_versions"]


def test_requests_and_schedules_are_on_the_dashboard_and_in_the_digest(smtp_server, django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    version = scheduled(organization)
    editor = with_email(member(django_user_model, organization, "editor", "editor"), "editor@example.jp")
    publication_request = asked_for(organization, editor)
    with frozen_at(NOW):
        page = logged_in(editor).get(reverse("admin:index")).content.decode()
    request_path = reverse("admin:disclosures_publicationrequest_change", args=[publication_request.pk])
    version_path = reverse("admin:disclosures_publication_change", args=[version.pk])
    assert "公開依頼が承認待ちです（依頼者: editor、2026年11月27日 10:30 から）。" in page
    assert f'href="{request_path}"' in page
    assert "第2版が2027年1月1日 0:00に公開予定です。" in page
    assert f'href="{version_path}"' in page

    with frozen_at(NOW):
        assert send_digests(today=TODAY) == 1
    run_queued_tasks()
    body = smtp_server.body(smtp_server.to("editor@example.jp")[-1])
    assert "・公開依頼が承認待ちです（依頼者: editor、2026年11月27日 10:30 から）。" in body
    assert f"https://disclosure.example.jp{request_path}" in body
    assert "・第2版が2027年1月1日 0:00に公開予定です。公開前なら取り消せます。" in body
    assert f"https://disclosure.example.jp{version_path}" in body


def test_the_dashboard_tells_a_publisher_which_requests_are_theirs_to_decide(django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    organization.four_eyes = True
    organization.save()
    publisher = member(django_user_model, organization, "publisher", "publisher")
    other_publisher = member(django_user_model, organization, "publisher", "publisher2")
    editor = member(django_user_model, organization, "editor", "editor")
    asked_for(organization, publisher)

    def dashboard(user):
        with frozen_at(NOW):
            return logged_in(user).get(reverse("admin:index")).content.decode()

    waiting = "公開依頼が承認待ちです（依頼者: publisher、2026年11月27日 10:30 から）。"
    assert waiting + reminders.YOURS_TO_DECIDE in dashboard(other_publisher)
    for user in (publisher, editor):  # their own request under four eyes; no 公開責任者
        page = dashboard(user)
        assert waiting in page and reminders.YOURS_TO_DECIDE not in page


def test_the_scheduled_versions_page_links_to_where_a_publisher_cancels_it(django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    version = scheduled(organization)
    editor = member(django_user_model, organization, "editor", "editor")
    with frozen_at(NOW):
        page = (
            logged_in(editor)
            .get(reverse("admin:disclosures_publication_change", args=[version.pk]))
            .content.decode()
        )
    publish_path = reverse("admin:disclosures_disclosuresheet_publish", args=[organization.sheet.pk])
    assert f'href="{publish_path}#scheduled-version"' in page
    assert "公開ページで取り消す（公開責任者）" in page


def test_the_digest_goes_to_members_once_a_day_while_something_is_due(smtp_server, django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    plan(organization.sheet, 0, month(2026, 10))
    with_email(member(django_user_model, organization, "editor", "editor"), "editor@example.jp")

    assert send_digests(today=TODAY) == 1
    run_queued_tasks()
    assert smtp_server.recipients() == ["editor@example.jp"]
    message = smtp_server.messages[0]
    # (Stripped: the parser keeps the space before a folded, encoded subject.)
    assert message["Subject"].strip() == "【重要事項開示ポータル】お知らせ 2件（2026年11月28日）"
    body = smtp_server.body(message)
    assert "【株式会社アクメ】" in body
    assert "実施予定の実施時期（2026年10月）が過ぎています。" in body
    checklist_path = reverse("admin:checklist_checklist_change", args=[organization.sheet.checklist_id])
    assert f"https://disclosure.example.jp{checklist_path}" in body
    assert "管理画面: https://disclosure.example.jp/admin/" in body

    assert send_digests(today=TODAY) == 0, "a second run the same day sends nothing"
    run_queued_tasks()
    assert len(smtp_server.messages) == 1

    assert send_digests(today=TODAY + datetime.timedelta(days=1)) == 1, "still overdue the next day"
    run_queued_tasks()
    assert len(smtp_server.messages) == 2
    assert ReminderDigest.objects.get().last_sent_on == datetime.date(2026, 11, 29)


def test_the_digest_goes_only_to_active_staff_members_with_an_address(smtp_server, django_user_model):
    due = published_organization("acme", "株式会社アクメ")
    plan(due.sheet, 0, month(2026, 10))
    quiet = published_organization("quiet", "株式会社クワイエット")
    with_email(member(django_user_model, due, "publisher", "publisher"), "publisher@example.jp")
    with_email(member(django_user_model, quiet, "editor", "other"), "other@example.jp")
    member(django_user_model, due, "editor", "no-address")
    inactive = with_email(member(django_user_model, due, "editor", "inactive"), "inactive@example.jp")
    inactive.is_active = False
    inactive.save()
    django_user_model.objects.create_superuser("root", "root@example.jp", "pw-for-tests-123")
    django_user_model.objects.create_user("outsider", "outsider@example.jp", is_staff=True)

    send_digests(today=TODAY)
    run_queued_tasks()
    assert smtp_server.recipients() == ["publisher@example.jp"]
    assert "株式会社クワイエット" not in smtp_server.body(smtp_server.messages[0])


def test_nothing_to_report_sends_no_mail(django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    with_email(member(django_user_model, organization, "editor", "editor"), "editor@example.jp")
    assert send_digests(today=TODAY) == 0
    assert not DBTaskResult.objects.filter(task_path__endswith=".send_email").exists(), "no mail queued"
    assert not ReminderDigest.objects.exists()


def test_the_command_uses_the_day_in_tokyo(smtp_server, django_user_model):
    organization = published_organization("acme", "株式会社アクメ")
    plan(organization.sheet, 0, month(2026, 10))
    with_email(member(django_user_model, organization, "editor", "editor"), "editor@example.jp")
    out = io.StringIO()
    with frozen_at(utc(2026, 11, 28, 14, 59)):  # 23:59 in Tokyo
        call_command("send_reminders", stdout=out)
    with frozen_at(utc(2026, 11, 28, 15, 0)):  # 0:00 on 29 November in Tokyo
        call_command("send_reminders", stdout=out)
        call_command("send_reminders", stdout=out)
    assert out.getvalue().splitlines() == [
        "お知らせのメールを1通送信待ちにしました。",
        "お知らせのメールを1通送信待ちにしました。",
        "お知らせのメールを0通送信待ちにしました。",
    ]
    assert ReminderDigest.objects.get().last_sent_on == datetime.date(2026, 11, 29)


def test_a_member_sees_only_their_organisations(django_user_model):
    mine = published_organization("acme", "株式会社アクメ")
    theirs = published_organization("other", "株式会社アザー")
    plan(mine.sheet, 0, month(2026, 10))
    plan(theirs.sheet, 0, month(2026, 10))
    editor = member(django_user_model, mine, "editor", "editor")
    with frozen_at(NOW):
        page = logged_in(editor).get(reverse("admin:index")).content.decode()
    assert "株式会社アクメ" in page
    assert "株式会社アザー" not in page


def test_superusers_see_every_organisation_a_page_at_a_time(staff_client, monkeypatch):
    monkeypatch.setattr(reminders, "DASHBOARD_PAGE_SIZE", 2)
    for index, slug in enumerate(["a1", "a2", "a3"]):
        make_organization(slug, f"株式会社テスト{index + 1}")
    first = staff_client.get(reverse("admin:index")).content.decode()
    second = staff_client.get(reverse("admin:index") + "?page=2").content.decode()
    assert "株式会社テスト1" in first and "株式会社テスト3" not in first
    assert "株式会社テスト3" in second
    assert "1 / 2 ページ" in first


def dashboard_queries(client):
    with CaptureQueriesContext(connection) as queries, frozen_at(NOW):
        response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return len(queries)


def test_the_dashboard_costs_the_same_queries_for_one_organisation_as_for_five(
    staff_client, django_user_model
):
    def add(slug):
        organization = published_organization(slug, f"株式会社{slug}")
        scheduled(organization)  # the draft changed, version 2 scheduled
        asked_for(organization, member(django_user_model, organization, "editor", f"asker-{slug}"))
        plan(organization.sheet, 0, month(2026, 10))
        plan(organization.sheet, 1, "未定")

    add("org1")
    one = dashboard_queries(staff_client)
    for slug in ("org2", "org3", "org4", "org5"):
        add(slug)
    five = dashboard_queries(staff_client)
    with frozen_at(NOW):  # the session's idle limit counts from the frozen clock
        page = staff_client.get(reverse("admin:index")).content.decode()
    assert page.count("実施時期「未定」を年月で入力し直してください。") == 5
    assert page.count("公開依頼が承認待ちです（依頼者: asker-org") == 5
    assert page.count("第2版が2027年1月1日 0:00に公開予定です。") == 5
    assert page.count("公開予定の版（第2版）との差分が公開されていません") == 5
    assert one == five
