"""Issue 14, "Done when", tried as new staff would, through HTTP only: the admin's
login and forms, the mail on a real SMTP server (aiosmtpd) and the public's pages,
on a frozen clock.

qolead (the example, version 1 public) has an 編集者 and a 公開責任者; another
organisation's 公開責任者 must never hear of qolead. The editor changes the draft
through an Excel round trip and asks for publication; the publisher, mailed, follows
the link, reviews the diff and schedules version 2; the public keeps version 1 until
the go-live and shows version 2 right after; an overdue 実施予定 is on the dashboard
and in the next digest, once."""

import datetime
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from checklist.models import Answer
from checklist.months import format_month
from disclosures import spreadsheet
from disclosures.models import DisclosureSheet, Membership, Publication, PublicationRequest

from .factories import EXAMPLE_PUBLISHED_AT, PASSWORD, checklist_post_data, frozen_at, member
from .smtp import run_queued_tasks

pytestmark = pytest.mark.django_db

SITE = "https://disclosure.example.jp"
NEW_PHONE = "03-9999-0000"
NOTE = "電話番号を変更しました。4月1日から公開してください。"

# The story's clock: an hour after version 1, a go-live at midnight (Tokyo) three
# days later, and a day in the next month, when this month's 実施予定 is overdue.
NOW = EXAMPLE_PUBLISHED_AT + datetime.timedelta(hours=1)
GO_LIVE = timezone.localtime(NOW).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(
    days=3
)
BEFORE = GO_LIVE - datetime.timedelta(seconds=1)
# The month in which the editor plans an item (an hour after NOW), and the next.
PLANNED_MONTH = timezone.localdate(NOW + datetime.timedelta(hours=1)).replace(day=1)
NEXT_MONTH = (PLANNED_MONTH + datetime.timedelta(days=32)).replace(day=1)
OVERDUE_AT = timezone.make_aware(datetime.datetime.combine(NEXT_MONTH, datetime.time(9, 0)))


def later(minutes):
    return NOW + datetime.timedelta(minutes=minutes)


def log_in(username, at):
    """A browser's session: the login form posted with the user's password."""
    client = Client()
    with frozen_at(at):
        response = client.post(
            reverse("admin:login"),
            {"username": username, "password": PASSWORD, "next": reverse("admin:index")},
        )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("admin:index")
    return client


def get(client, url, at, **kwargs):
    with frozen_at(at):
        return client.get(url, **kwargs)


def post(client, url, data, at, **kwargs):
    with frozen_at(at):
        return client.post(url, data, **kwargs)


def text(response):
    return response.content.decode()


def admin_path(url):
    """The path of a link in a mail (the site's address is settings.SITE_URL)."""
    assert url.startswith(SITE + "/admin/"), url
    return url.removeprefix(SITE)


def links(body):
    return re.findall(rf"{re.escape(SITE)}/\S+", body)


@pytest.fixture
def staff(django_user_model, example_org, other_org, smtp_server):
    """The two people of qolead, and another organisation's 公開責任者."""
    people = {
        "editor": member(django_user_model, example_org, Membership.Role.EDITOR, "editor"),
        "publisher": member(django_user_model, example_org, Membership.Role.PUBLISHER, "publisher"),
        "outsider": member(django_user_model, other_org, Membership.Role.PUBLISHER, "outsider"),
    }
    for name, user in people.items():
        user.email = f"{name}@example.jp"
        user.save()
    # Nobody approves their own request at qolead.
    example_org.four_eyes = True
    example_org.save()
    return people


def test_the_staff_workflow_from_excel_to_the_go_live_and_the_reminders(
    client, example_org, staff, smtp_server
):
    sheet = example_org.sheet
    old_phone = sheet.phone
    sheet_page = reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk])

    # --- the editor changes the draft through Excel ------------------------------------
    editor = log_in("editor", NOW)
    page = text(get(editor, sheet_page, NOW))
    download = reverse("admin:disclosures_disclosuresheet_xlsx", args=[sheet.pk])
    upload = reverse("admin:disclosures_disclosuresheet_xlsx_upload", args=[sheet.pk])
    assert f'href="{download}"' in page and f'href="{upload}"' in page
    response = get(editor, download, NOW)
    assert response.status_code == 200 and response["Content-Type"] == spreadsheet.CONTENT_TYPE
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    (phone_row,) = [row for row in book[spreadsheet.SHEET_NAME].iter_rows() if row[0].value == "phone"]
    assert phone_row[spreadsheet.VALUE - 1].value == old_phone
    phone_row[spreadsheet.VALUE - 1].value = NEW_PHONE  # typed into the yellow cell, saved
    edited = io.BytesIO()
    book.save(edited)

    response = post(editor, upload, {"file": SimpleUploadedFile("qolead.xlsx", edited.getvalue())}, NOW)
    page = text(response)
    assert response.status_code == 200 and "下書きからの変更点" in page
    assert old_phone in page and NEW_PHONE in page
    assert DisclosureSheet.objects.get(pk=sheet.pk).phone == old_phone, "shown, not applied yet"
    confirmation = re.search(r'name="confirmation" value="([^"]+)"', page).group(1)
    response = post(editor, upload, {"confirmation": confirmation}, NOW, follow=True)
    assert "Excelファイルの内容で下書きを更新しました" in text(response)
    assert DisclosureSheet.objects.get(pk=sheet.pk).phone == NEW_PHONE

    # --- the editor asks for publication -------------------------------------------------
    ask = reverse("admin:disclosures_disclosuresheet_request", args=[sheet.pk])
    page = text(get(editor, ask, later(5)))
    assert NEW_PHONE in page, "the changes asked for are shown"
    # The editor may not publish: four eyes send them to the request.
    publish_page = reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk])
    assert get(editor, publish_page, later(5)).status_code == 403
    response = post(editor, ask, {"note": NOTE}, later(5), follow=True)
    assert "公開を依頼しました。公開責任者（1名）にメールで知らせます。" in text(response)
    publication_request = PublicationRequest.objects.get()
    assert publication_request.requested_by == staff["editor"]

    # --- only the publisher is mailed, with the link to the request ---------------------
    assert smtp_server.messages == [], "mail is sent by the worker, not by the request"
    run_queued_tasks()
    assert smtp_server.recipients() == ["publisher@example.jp"]
    (mail,) = smtp_server.messages
    assert mail["Subject"].strip() == f"【公開依頼】{example_org.name}"
    body = smtp_server.body(mail)
    assert "依頼者: editor" in body and NOTE in body
    (request_link,) = [link for link in links(body) if "publicationrequest" in link]
    request_page = admin_path(request_link)

    # The outsider sees nothing of qolead's request; the editor cannot approve it.
    outsider = log_in("outsider", later(10))
    assert get(outsider, request_page, later(10)).status_code in (302, 403, 404)
    assert "承認して" not in text(get(editor, request_page, later(10)))

    # --- the publisher reviews the diff and schedules version 2 ------------------------
    publisher = log_in("publisher", later(30))
    dashboard = text(get(publisher, reverse("admin:index"), later(30)))
    assert "公開依頼が承認待ちです（依頼者: editor、" in dashboard
    assert f'href="{request_page}"' in dashboard
    page = text(get(publisher, request_page, later(30)))
    assert "公開中の版（第1版）からの変更点" in page
    assert old_phone in page and NEW_PHONE in page and NOTE in page
    assert "公開開始日時（予約公開）" in page and "承認して第2版として公開する" in page
    publish_from_request = reverse(
        "admin:disclosures_publicationrequest_publish", args=[publication_request.pk]
    )
    go_live_field = timezone.localtime(GO_LIVE).strftime("%Y-%m-%dT%H:%M")
    response = post(
        publisher,
        publish_from_request,
        {"change_note": NOTE, "live_from": go_live_field},
        later(30),
        follow=True,
    )
    page = text(response)
    go_live_text = f"{GO_LIVE.year}年{GO_LIVE.month}月{GO_LIVE.day}日 0:00"
    assert f"第2版を{go_live_text}に公開する予定で確定しました" in page
    assert f"公開予定 {go_live_text}" in page, "the request names its version as scheduled"
    version_2 = Publication.objects.get(number=2)
    assert version_2.live_from == GO_LIVE and version_2.published_by == staff["publisher"]
    run_queued_tasks()
    (told,) = smtp_server.to("editor@example.jp")
    assert told["Subject"].strip() == f"【公開予定】{example_org.name} 第2版"
    assert smtp_server.recipients() == ["editor@example.jp", "publisher@example.jp"]

    # Staff see the schedule on the dashboard; publishing more is refused meanwhile.
    dashboard = text(get(publisher, reverse("admin:index"), later(31)))
    assert f"第2版が{go_live_text}に公開予定です。" in dashboard
    page = text(get(publisher, publish_page, later(31)))
    assert f"公開予定 第2版 {go_live_text}" in page and "公開予定を取り消す" in page

    # --- the public keeps version 1 until the go-live, then sees version 2 -------------
    for at in (later(31), BEFORE):
        document = get(client, "/qolead/current.json", at).json()
        assert document["publication"]["version"] == 1
        assert NEW_PHONE not in str(document)
        page = text(get(client, "/qolead/", at))
        assert NEW_PHONE not in page and "/qolead/versions/2/" not in page
        assert "-v1-" in get(client, "/qolead/pdf/", at)["Content-Disposition"]
        feed = text(get(client, "/qolead/feed/", at))
        assert "第1版" in feed and "第2版" not in feed
        assert get(client, "/qolead/versions/2/", at).status_code == 404
    document = get(client, "/qolead/current.json", GO_LIVE).json()
    assert document["publication"]["version"] == 2
    assert NEW_PHONE in str(document)
    page = text(get(client, "/qolead/", GO_LIVE))
    assert NEW_PHONE in page
    assert "-v2-" in get(client, "/qolead/pdf/", GO_LIVE)["Content-Disposition"]
    assert "第2版" in text(get(client, "/qolead/feed/", GO_LIVE))
    assert get(client, "/qolead/versions/2/", GO_LIVE).status_code == 200
    assert not client.cookies, "the public pages set no cookie"

    # --- a 実施予定 for this month, overdue next month: dashboard and digest, once -----
    editor = log_in("editor", later(60))
    checklist = sheet.checklist
    checklist_page = reverse("admin:checklist_checklist_change", args=[checklist.pk])
    data = checklist_post_data(checklist, a0=(Answer.Status.PLANNED, PLANNED_MONTH)) | {"_save": "保存"}
    response = post(editor, checklist_page, data, later(60))
    assert response.status_code == 302, text(response)
    overdue = f"実施予定の実施時期（{format_month(PLANNED_MONTH)}）が過ぎています。"
    assert overdue not in text(get(editor, reverse("admin:index"), later(61))), "not overdue this month"

    editor = log_in("editor", OVERDUE_AT)
    dashboard = text(get(editor, reverse("admin:index"), OVERDUE_AT))
    assert "組織的安全管理対策 1. " in dashboard and overdue in dashboard
    assert f'href="{checklist_page}"' in dashboard

    sent = len(smtp_server.messages)
    output = io.StringIO()
    with frozen_at(OVERDUE_AT):
        call_command("send_reminders", stdout=output)
    run_queued_tasks()
    digests = smtp_server.messages[sent:]
    to_qolead = [
        m for m in digests if {"editor@example.jp", "publisher@example.jp"} & set(m.envelope_recipients)
    ]
    assert sorted(r for m in to_qolead for r in m.envelope_recipients) == [
        "editor@example.jp",
        "publisher@example.jp",
    ]
    for message in to_qolead:
        body = smtp_server.body(message)
        assert f"【{example_org.name}】" in body and overdue in body
        assert f"{SITE}{checklist_page}" in body
    for message in digests:
        if "outsider@example.jp" in message.envelope_recipients:
            assert example_org.name not in smtp_server.body(message), "never another organisation's"

    sent = len(smtp_server.messages)
    with frozen_at(OVERDUE_AT + datetime.timedelta(hours=1)):  # cron, an hour later
        call_command("send_reminders", stdout=io.StringIO())
    run_queued_tasks()
    assert len(smtp_server.messages) == sent, "one digest a day"
