"""Review and approval (issue 14, part 2): an editor asks for publication, the
organisation's 公開責任者 are mailed, one of them publishes exactly what was asked
for or returns it; four eyes; every step in the audit trail.

Mail goes through a real SMTP server (the `smtp_server` fixture) once the worker runs."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from disclosures.formatting import japanese_moment
from disclosures.models import Membership, Organization, Publication, PublicationRequest
from disclosures.publishing import cancel_schedule
from disclosures.review import ask_for_publication, open_requests_for
from disclosures.snapshot import build_snapshot, document_digests

from .factories import change_sheet, logged_in, member, new_organization, publish_url, sheet_url
from .smtp import free_port, run_queued_tasks

pytestmark = pytest.mark.django_db

SITE = "https://disclosure.example.jp"
Status = PublicationRequest.Status


def ask_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_request", args=[sheet.pk])


def request_url(publication_request, step="change"):
    return reverse(f"admin:disclosures_publicationrequest_{step}", args=[publication_request.pk])


def with_email(user, address):
    user.email = address
    user.save()
    return user


@pytest.fixture
def people(django_user_model, example_org, editor, publisher, other_org):
    """qolead's editor and two 公開責任者 with addresses, and everyone who must never
    be mailed about qolead: a publisher without an address, an inactive one,
    another organisation's publisher and a superuser who is no member."""
    second = member(django_user_model, example_org, Membership.Role.PUBLISHER, "publisher2")
    no_address = member(django_user_model, example_org, Membership.Role.PUBLISHER, "publisher3")
    inactive = member(django_user_model, example_org, Membership.Role.PUBLISHER, "publisher4")
    inactive.is_active = False
    with_email(inactive, "inactive@example.jp")
    outsider = member(django_user_model, other_org, Membership.Role.PUBLISHER, "outsider")
    django_user_model.objects.create_superuser("root", "root@example.jp", "pw-for-tests-123")
    return {
        "editor": with_email(editor, "editor@example.jp"),
        "publisher": with_email(publisher, "publisher@example.jp"),
        "second": with_email(second, "second@example.jp"),
        "no_address": no_address,
        "outsider": with_email(outsider, "outsider@example.jp"),
    }


def ask(client, sheet, note="職員数を更新しました。確認をお願いします。"):
    return client.post(ask_url(sheet), {"note": note})


def asked(sheet, user, note="職員数を更新しました。"):
    change_sheet(sheet, hours_system="24時間")
    return ask_for_publication(sheet, user=user, note=note)


# --- asking ---------------------------------------------------------------------------


def test_editor_asks_and_only_the_organisations_publishers_get_one_mail_each(smtp_server, sheet, people):
    change_sheet(sheet, hours_system="24時間")
    response = ask(logged_in(people["editor"]), sheet)

    publication_request = PublicationRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == request_url(publication_request)
    run_queued_tasks()
    assert smtp_server.recipients() == ["publisher@example.jp", "second@example.jp"]
    for message in smtp_server.messages:
        # .strip(): Python folds a long encoded subject onto the next line ("Subject: \n =?utf-8?…").
        assert message["Subject"].strip() == "【公開依頼】株式会社QOLead"
        body = smtp_server.body(message)
        assert "代行機関: 株式会社QOLead" in body
        assert "依頼者: editor" in body
        assert "職員数を更新しました。確認をお願いします。" in body
        assert f"{SITE}{request_url(publication_request)}" in body


def test_the_request_records_the_drafts_digests_and_says_how_many_were_told(smtp_server, sheet, people):
    change_sheet(sheet, hours_system="24時間")
    page = ask(logged_in(people["editor"]), sheet)
    publication_request = PublicationRequest.objects.get()
    assert publication_request.status == Status.OPEN
    assert publication_request.requested_by == people["editor"]
    assert publication_request.digests == document_digests(build_snapshot(sheet))
    followed = logged_in(people["editor"]).get(page["Location"])
    assert "承認待ち" in followed.content.decode()


def test_asking_for_an_unchanged_draft_is_refused(sheet, people):
    page = ask(logged_in(people["editor"]), sheet).content.decode()
    assert "公開を依頼できません（1件）" in page
    assert "と同じ内容のため" in page
    assert not PublicationRequest.objects.exists()


def test_asking_for_an_invalid_draft_lists_its_problems(sheet, people):
    change_sheet(sheet, agency_code="12ab")
    page = ask(logged_in(people["editor"]), sheet).content.decode()
    assert "公開を依頼できません（1件）" in page
    assert "注2) 代行機関コードは半角数字8桁で入力してください" in page
    assert not PublicationRequest.objects.exists()


@pytest.mark.parametrize(
    "note, message",
    [
        ("", "依頼メモを入力してください。"),
        ("   ", "依頼メモを入力してください。"),
        ("あ" * 1001, "1000 文字以下"),
        ("\n".join(["行"] * 21), "20行以内で入力してください"),
        ("確認\x00お願いします", "制御文字など表示できない文字が含まれています。"),
        ("確認\u202eお願いします", "制御文字など表示できない文字が含まれています。"),
        ("確認お願いします😀", "PDFに印字できない文字が含まれています"),
    ],
)
def test_a_bad_note_is_refused_with_a_japanese_message(sheet, people, note, message):
    change_sheet(sheet, hours_system="24時間")
    response = ask(logged_in(people["editor"]), sheet, note)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PublicationRequest.objects.exists()


def test_markup_in_a_note_is_shown_as_text(sheet, people):
    publication_request = asked(sheet, people["editor"], note="<script>alert(1)</script>")
    page = logged_in(people["publisher"]).get(request_url(publication_request)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_asking_again_replaces_the_open_request(sheet, people):
    first = asked(sheet, people["editor"])
    change_sheet(sheet, hours_system="平日のみ")
    page = logged_in(people["second"]).get(ask_url(sheet)).content.decode()
    assert "新しく依頼すると" in page
    assert "職員数を更新しました。" in page  # the note to start from
    ask(logged_in(people["second"]), sheet, "13名に訂正しました。")

    first.refresh_from_db()
    assert first.status == Status.REPLACED
    assert PublicationRequest.objects.get(status=Status.OPEN).note == "13名に訂正しました。"


def test_the_sheets_page_shows_the_waiting_request(sheet, people):
    publication_request = asked(sheet, people["editor"])
    page = logged_in(people["publisher"]).get(sheet_url(sheet)).content.decode()
    assert "承認待ちの公開依頼があります" in page
    assert request_url(publication_request) in page
    assert ask_url(sheet) in page


# --- reviewing and publishing ---------------------------------------------------------


def test_the_publisher_sees_the_diff_and_the_note_as_change_note(sheet, people):
    publication_request = asked(sheet, people["editor"], note="職員数を12名に更新")
    page = logged_in(people["publisher"]).get(request_url(publication_request)).content.decode()
    assert "<ins>24時間</ins>" in page
    assert "公開中の版（第1版）からの変更点" in page
    assert '<textarea name="change_note"' in page
    assert ">\n職員数を12名に更新</textarea>" in page
    assert "承認して第2版として公開する" in page
    assert "差し戻す" in page


def test_publisher_publishes_the_reviewed_content_and_the_requester_is_mailed(smtp_server, sheet, people):
    publication_request = asked(sheet, people["editor"])
    response = logged_in(people["publisher"]).post(
        request_url(publication_request, "publish"), {"change_note": "職員数を更新"}, follow=True
    )
    assert "公開依頼を承認し、第2版を公開しました" in response.content.decode()

    publication = Publication.objects.get(number=2)
    assert publication.published_by == people["publisher"]
    assert publication.change_note == "職員数を更新"
    assert (publication.sheet_digest, publication.checklist_digest) == publication_request.digests
    publication_request.refresh_from_db()
    assert publication_request.status == Status.PUBLISHED
    assert publication_request.publication == publication
    assert publication_request.decided_by == people["publisher"]
    run_queued_tasks()
    mail = smtp_server.to("editor@example.jp")
    assert len(mail) == 1
    assert mail[0]["Subject"].strip() == "【公開しました】株式会社QOLead 第2版"
    assert f"{SITE}/qolead/versions/2/" in smtp_server.body(mail[0])


def test_a_draft_changed_after_the_request_is_refused_until_asked_again(sheet, people):
    publication_request = asked(sheet, people["editor"])
    change_sheet(sheet, hours_system="土日のみ")
    publisher = logged_in(people["publisher"])

    page = publisher.get(request_url(publication_request)).content.decode()
    assert "依頼後に下書きが変更されています" in page
    assert "<ins>土日のみ</ins>" in page  # what changed since the request
    assert 'name="change_note"' not in page
    response = publisher.post(request_url(publication_request, "publish"), {"change_note": "更新"})
    assert "依頼後に下書きが変更されています。" in response.content.decode()
    assert Publication.objects.count() == 1
    publication_request.refresh_from_db()
    assert publication_request.status == Status.OPEN

    ask(logged_in(people["editor"]), sheet, "99名です")
    again = PublicationRequest.objects.get(status=Status.OPEN)
    publisher.post(request_url(again, "publish"), {"change_note": "99名に更新"})
    assert Publication.objects.get(number=2).snapshot["sheet"]["values"]["hours_system"] == "土日のみ"


def test_a_closed_request_cannot_be_published(sheet, people):
    publication_request = asked(sheet, people["editor"])
    logged_in(people["editor"]).post(request_url(publication_request, "withdraw"))
    response = logged_in(people["publisher"]).post(
        request_url(publication_request, "publish"), {"change_note": "更新"}
    )
    assert "この公開依頼は「取り下げ」のため、公開できません。" in response.content.decode()
    assert Publication.objects.count() == 1


def test_publishing_without_the_request_closes_it_when_it_is_the_same_content(sheet, people, smtp_server):
    publication_request = asked(sheet, people["editor"])
    logged_in(people["publisher"]).post(publish_url(sheet), {"change_note": "職員数を更新"})
    publication_request.refresh_from_db()
    assert publication_request.status == Status.PUBLISHED
    assert publication_request.publication.number == 2
    run_queued_tasks()
    assert [m["Subject"].strip() for m in smtp_server.to("editor@example.jp")] == [
        "【公開しました】株式会社QOLead 第2版"
    ]


# --- returning and withdrawing ----------------------------------------------------------


def test_return_with_comment_mails_the_requester(smtp_server, sheet, people):
    publication_request = asked(sheet, people["editor"])
    response = logged_in(people["second"]).post(
        request_url(publication_request, "return"), {"comment": "人数の根拠を添えてください。"}, follow=True
    )
    assert "公開依頼を差し戻しました。" in response.content.decode()
    publication_request.refresh_from_db()
    assert publication_request.status == Status.RETURNED
    assert publication_request.comment == "人数の根拠を添えてください。"
    assert publication_request.decided_by == people["second"]
    run_queued_tasks()
    mail = smtp_server.to("editor@example.jp")
    assert [m["Subject"].strip() for m in mail] == ["【差し戻し】株式会社QOLead の公開依頼"]
    assert "人数の根拠を添えてください。" in smtp_server.body(mail[0])
    assert f"{SITE}{request_url(publication_request)}" in smtp_server.body(mail[0])
    assert Publication.objects.count() == 1


@pytest.mark.parametrize(
    "comment, message",
    [("", "差し戻しの理由（コメント）を入力してください。"), ("あ" * 1001, "1000 文字以下")],
)
def test_a_return_without_a_usable_comment_is_refused(sheet, people, comment, message):
    publication_request = asked(sheet, people["editor"])
    response = logged_in(people["publisher"]).post(
        request_url(publication_request, "return"), {"comment": comment}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    publication_request.refresh_from_db()
    assert publication_request.status == Status.OPEN


def test_an_editor_can_neither_publish_nor_return(sheet, people, editor):
    publication_request = asked(sheet, people["publisher"])
    client = logged_in(people["editor"])
    assert client.get(request_url(publication_request)).status_code == 200  # may read it
    assert client.post(request_url(publication_request, "publish"), {"change_note": "x"}).status_code == 403
    assert client.post(request_url(publication_request, "return"), {"comment": "x"}).status_code == 403
    assert Publication.objects.count() == 1


def test_only_the_requester_withdraws(sheet, people):
    publication_request = asked(sheet, people["editor"])
    assert (
        logged_in(people["publisher"]).post(request_url(publication_request, "withdraw")).status_code == 403
    )
    response = logged_in(people["editor"]).post(request_url(publication_request, "withdraw"), follow=True)
    assert "公開依頼を取り下げました。" in response.content.decode()
    publication_request.refresh_from_db()
    assert publication_request.status == Status.WITHDRAWN


def test_the_step_urls_answer_a_get_with_the_request_page(sheet, people):
    publication_request = asked(sheet, people["editor"])
    for step in ("publish", "return", "withdraw"):
        response = logged_in(people["publisher"]).get(request_url(publication_request, step))
        assert response.status_code == 302
        assert response["Location"] == request_url(publication_request)
    publication_request.refresh_from_db()
    assert publication_request.status == Status.OPEN


# --- four eyes ------------------------------------------------------------------------------


@pytest.fixture
def four_eyes(example_org):
    Organization.objects.filter(pk=example_org.pk).update(four_eyes=True)


def test_four_eyes_refuse_approving_ones_own_request(sheet, people, four_eyes):
    publication_request = asked(sheet, people["publisher"])
    client = logged_in(people["publisher"])
    page = client.get(request_url(publication_request)).content.decode()
    assert "自分の依頼は自分で承認・公開できません（4つの目）" in page
    assert 'name="change_note"' not in page
    response = client.post(request_url(publication_request, "publish"), {"change_note": "更新"})
    assert "自分の依頼は自分で承認・公開できません（4つの目）" in response.content.decode()
    assert Publication.objects.count() == 1

    logged_in(people["second"]).post(request_url(publication_request, "publish"), {"change_note": "更新"})
    assert Publication.objects.get(number=2).published_by == people["second"]


def test_four_eyes_refuse_publishing_without_a_request(sheet, people, four_eyes):
    change_sheet(sheet, hours_system="24時間")
    client = logged_in(people["publisher"])
    response = client.post(publish_url(sheet), {"change_note": "更新"}, follow=True)
    assert response.redirect_chain[0] == (ask_url(sheet), 302)
    assert "公開は別の担当者の公開依頼を承認して行います（4つの目）" in response.content.decode()
    assert Publication.objects.count() == 1


def test_four_eyes_bind_superusers_too(sheet, people, four_eyes, staff_client):
    change_sheet(sheet, hours_system="24時間")
    staff_client.post(publish_url(sheet), {"change_note": "更新"})
    assert Publication.objects.count() == 1


def test_without_four_eyes_a_publisher_may_approve_their_own_request(sheet, people):
    publication_request = asked(sheet, people["publisher"])
    logged_in(people["publisher"]).post(request_url(publication_request, "publish"), {"change_note": "更新"})
    assert Publication.objects.get(number=2).published_by == people["publisher"]


def test_only_a_superuser_sets_four_eyes(staff_client, example_org, people):
    url = reverse("admin:disclosures_organization_change", args=[example_org.pk])
    page = logged_in(people["publisher"]).get(url).content.decode()
    assert "自分の依頼を自分で承認できない（4つの目）" in page
    assert 'name="four_eyes"' not in page
    data = {
        "slug": "qolead",
        "name": example_org.name,
        "four_eyes": "on",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
    }
    assert staff_client.post(url, data).status_code == 302
    assert Organization.objects.get(pk=example_org.pk).four_eyes


# --- mail never fails an action ---------------------------------------------------------------


def test_a_failing_mail_server_fails_neither_the_request_nor_the_publish(
    smtp_server, settings, sheet, people
):
    settings.EMAIL_PORT = free_port()  # nobody listens there
    change_sheet(sheet, hours_system="24時間")
    assert ask(logged_in(people["editor"]), sheet).status_code == 302
    publication_request = PublicationRequest.objects.get()
    response = logged_in(people["publisher"]).post(
        request_url(publication_request, "publish"), {"change_note": "職員数を更新"}
    )
    assert response.status_code == 302
    run_queued_tasks()
    assert Publication.objects.filter(number=2).exists()
    assert DBTaskResult.objects.filter(status="FAILED").count() == 3  # two publishers, one requester
    assert smtp_server.messages == []


# --- audit trail -----------------------------------------------------------------------------


def test_every_step_is_in_the_audit_trail(sheet, people):
    first = asked(sheet, people["editor"], note="一回目")
    change_sheet(sheet, hours_system="平日のみ")
    ask(logged_in(people["editor"]), sheet, "二回目")
    second = PublicationRequest.objects.get(status=Status.OPEN)
    logged_in(people["publisher"]).post(request_url(second, "return"), {"comment": "根拠を添えて"})
    ask(logged_in(people["editor"]), sheet, "三回目")
    third = PublicationRequest.objects.get(status=Status.OPEN)
    logged_in(people["publisher"]).post(request_url(third, "publish"), {"change_note": "更新"})

    def trail(publication_request):
        return [
            (row.history_change_reason, row.history_user.username, row.status, row.note, row.comment)
            for row in publication_request.history.order_by("history_date", "history_id")
        ]

    assert trail(first) == [
        ("公開を依頼", "editor", "open", "一回目", ""),
        ("新しい依頼に置き換え", "editor", "replaced", "一回目", ""),
    ]
    assert trail(second) == [
        ("公開を依頼", "editor", "open", "二回目", ""),
        ("差し戻し", "publisher", "returned", "二回目", "根拠を添えて"),
    ]
    assert trail(third) == [
        ("公開を依頼", "editor", "open", "三回目", ""),
        ("承認・公開（第2版）", "publisher", "published", "三回目", ""),
    ]
    history = logged_in(people["publisher"]).get(request_url(third, "history"))
    assert history.status_code == 200
    assert "承認・公開（第2版）" in history.content.decode()


# --- scoping ---------------------------------------------------------------------------------


def test_another_organisations_people_reach_no_request_url(django_user_model, sheet, people, other_org):
    publication_request = asked(sheet, people["editor"])
    other_editor = member(django_user_model, other_org, Membership.Role.EDITOR, "other-editor")
    for user in (people["outsider"], other_editor):
        client = logged_in(user)
        for step in ("change", "history", "publish", "return", "withdraw"):
            assert client.get(request_url(publication_request, step)).status_code == 404, step
            assert (
                client.post(
                    request_url(publication_request, step), {"change_note": "x", "comment": "x"}
                ).status_code
                == 404
            ), step
        assert client.get(ask_url(sheet)).status_code == 404
        assert client.post(ask_url(sheet), {"note": "x"}).status_code == 404
        listing = client.get(reverse("admin:disclosures_publicationrequest_changelist")).content.decode()
        assert request_url(publication_request) not in listing
    publication_request.refresh_from_db()
    assert publication_request.status == Status.OPEN
    assert Publication.objects.count() == 1


def test_the_list_shows_a_publisher_their_organisations_requests(sheet, people, other_org, official_template):
    ours = asked(sheet, people["editor"])
    other = new_organization("kenshin", "健診代行株式会社")
    Membership.objects.create(organization=other, user=people["outsider"], role=Membership.Role.EDITOR)
    theirs = ask_for_publication(other.sheet, user=people["outsider"], note="初版")
    listing = logged_in(people["publisher"]).get(reverse("admin:disclosures_publicationrequest_changelist"))
    page = listing.content.decode()
    assert request_url(ours) in page
    assert request_url(theirs) not in page


def test_open_requests_for_lists_what_each_user_may_act_on(sheet, people, staff_client, official_template):
    publication_request = asked(sheet, people["publisher"])
    assert list(open_requests_for(people["second"])) == [publication_request]
    assert list(open_requests_for(people["publisher"])) == [publication_request]
    assert list(open_requests_for(people["editor"])) == []
    assert list(open_requests_for(people["outsider"])) == []
    root = type(people["editor"]).objects.get(username="root")
    assert list(open_requests_for(root)) == [publication_request]

    Organization.objects.filter(pk=sheet.organization_id).update(four_eyes=True)
    assert list(open_requests_for(people["publisher"])) == []  # their own: four eyes
    assert list(open_requests_for(people["second"])) == [publication_request]


@pytest.mark.parametrize("step", ["change", "history", "publish", "return", "withdraw"])
@pytest.mark.parametrize("object_id", ["99999", str(10**20)])
def test_unknown_requests_are_not_found(staff_client, step, object_id):
    url = reverse("admin:disclosures_publicationrequest_changelist") + f"{object_id}/{step}/"
    assert staff_client.get(url).status_code == 404
    assert staff_client.post(url, {"change_note": "x", "comment": "x"}).status_code == 404


@pytest.mark.parametrize("object_id", ["99999", str(10**20)])
def test_asking_for_an_unknown_sheet_is_not_found(staff_client, object_id):
    url = reverse("admin:disclosures_disclosuresheet_changelist") + f"{object_id}/request/"
    assert staff_client.post(url, {"note": "x"}).status_code == 404


def test_asking_with_no_publisher_to_mail_says_so(django_user_model, official_template):
    organization = new_organization("kenshin", "健診代行株式会社")
    editor = member(django_user_model, organization, Membership.Role.EDITOR, "kenshin-editor")
    client = logged_in(editor)
    response = ask(client, organization.sheet, "初版の公開をお願いします。")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "メールで知らせられる公開責任者（メールアドレスのある有効な担当者）がいません" in page
    assert "初版のため、すべての内容が公開されます。" in page


def test_the_database_holds_at_most_one_open_request_per_organisation(sheet, people):
    from django.db import IntegrityError, transaction

    publication_request = asked(sheet, people["editor"])
    publication_request.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        publication_request.save()
    assert PublicationRequest.objects.count() == 1


# --- scheduled from a request -----------------------------------------------------------


def schedule_from(publication_request, user, live_from):
    go_live = timezone.localtime(live_from).strftime("%Y-%m-%dT%H:%M")
    return logged_in(user).post(
        request_url(publication_request, "publish"),
        {"change_note": "4月からの内容", "live_from": go_live},
        follow=True,
    )


def in_a_week():
    return (timezone.localtime() + datetime.timedelta(days=7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def test_a_request_published_for_a_go_live_says_scheduled_not_published(sheet, people):
    publication_request = asked(sheet, people["editor"])
    live_from = in_a_week()
    page = schedule_from(publication_request, people["publisher"], live_from).content.decode()
    moment = japanese_moment(live_from)
    assert f"公開依頼を承認し、第2版を{moment}に公開する予定で確定しました" in page
    assert "第2版を公開しました" not in page
    # The version is not public yet: the request links to its admin page, not to a 404.
    version = Publication.objects.get(number=2)
    assert f"公開予定 {moment}" in page
    assert reverse("admin:disclosures_publication_change", args=[version.pk]) in page
    assert "/qolead/versions/2/" not in page


def test_a_publisher_of_a_four_eyes_organisation_can_see_and_cancel_a_schedule(sheet, people, four_eyes):
    publication_request = asked(sheet, people["editor"])
    schedule_from(publication_request, people["publisher"], in_a_week())
    client = logged_in(people["publisher"])
    page = client.get(publish_url(sheet)).content.decode()
    assert "第2版の公開予定を取り消す" in page
    cancel = reverse("admin:disclosures_disclosuresheet_cancel_schedule", args=[sheet.pk])
    assert "を取り消しました" in client.post(cancel, follow=True).content.decode()
    assert Publication.objects.get(number=2).cancellation


def test_a_request_waiting_while_a_version_is_scheduled_says_why_it_cannot_be_published(sheet, people):
    first = asked(sheet, people["editor"])
    schedule_from(first, people["publisher"], in_a_week())
    change_sheet(sheet, hours_system="平日のみ")
    second = ask_for_publication(sheet, user=people["editor"], note="もう一つ")
    page = logged_in(people["publisher"]).get(request_url(second)).content.decode()
    assert "公開予定の版がある間は、新しい版を公開できません" in page
    assert 'name="change_note"' not in page


def test_the_approve_button_names_the_number_after_a_cancelled_version(sheet, people):
    first = asked(sheet, people["editor"])
    schedule_from(first, people["publisher"], in_a_week())
    cancel_schedule(sheet.organization, user=people["publisher"])
    change_sheet(sheet, hours_system="平日のみ")
    second = ask_for_publication(sheet, user=people["editor"], note="もう一つ")
    page = logged_in(people["publisher"]).get(request_url(second)).content.decode()
    assert "承認して第3版として公開する" in page
