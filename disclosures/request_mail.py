"""The mail of review and approval (disclosure_portal.mail, queued in the step's
transaction): the organisation's 公開責任者 hear of a new request, the requester
of its publication or its return. Plain text: a note is mailed as it was typed."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from disclosure_portal.mail import absolute_url, queue_email

from .formatting import japanese_date_time, japanese_moment
from .models import Membership

FOOTER = "\n--\nこのメールは重要事項開示ポータルから自動で送信しています。\n"


def request_admin_url(publication_request):
    return reverse("admin:disclosures_publicationrequest_change", args=[publication_request.pk])


def person(user):
    return user.get_full_name() or user.get_username()


def one_line(text):
    """For a subject: a header must not break (an organisation's name may hold line breaks)."""
    return " ".join(text.split())


def publishers_to_notify(organization_id, *, besides=None):
    """The organisation's 公開責任者 who can be mailed and can act: active staff with
    an address. Never another organisation's people, never a superuser who is not a
    member; not `besides` (the requester, told nothing of their own request)."""
    users = get_user_model().objects.filter(
        memberships__organization=organization_id,
        memberships__role=Membership.Role.PUBLISHER,
        is_active=True,
        is_staff=True,
    )
    users = users.exclude(email="")
    if besides is not None:
        users = users.exclude(pk=besides.pk)
    return users


def mail_publishers(publication_request):
    """Tell the organisation's 公開責任者 of a new request; returns how many are mailed."""
    organization = publication_request.organization
    requester = publication_request.requested_by
    body = "\n".join(
        [
            f"{organization.name} の重要事項の概要・チェックリストについて、公開の依頼がありました。",
            "",
            f"代行機関: {organization.name}",
            f"依頼者: {person(requester)}",
            f"依頼日時: {japanese_date_time(publication_request.requested_at)}",
            f"依頼メモ:\n{publication_request.note}",
            "",
            "公開中の版との差分を確認し、公開するか差し戻してください:",
            absolute_url(request_admin_url(publication_request)),
        ]
    )
    addresses = [user.email for user in publishers_to_notify(organization.pk, besides=requester)]
    return queue_email(to=addresses, subject=one_line(f"【公開依頼】{organization.name}"), body=body + FOOTER)


def mail_published(publication_request, publication, *, user):
    """Tell the requester that their request was published (not when they published it)."""
    if user is not None and user.pk == publication_request.requested_by_id:
        return 0
    by = f"{person(user)} さんが" if user is not None else ""
    if publication.live_from > publication.published_at:  # scheduled: public from its go-live
        subject = f"【公開予定】{publication_request.organization.name} 第{publication.number}版"
        done = (
            f"第{publication.number}版として{japanese_moment(publication.live_from)}に公開する予定にしました"
        )
    else:
        subject = f"【公開しました】{publication_request.organization.name} 第{publication.number}版"
        done = f"第{publication.number}版として公開しました"
    return mail_requester(
        publication_request,
        subject=subject,
        lines=[
            f"{by}公開依頼を承認し、{done}。",
            "",
            f"公開ページ:\n{absolute_url(publication.get_absolute_url())}",
            "",
            f"変更内容:\n{publication.change_note}",
        ],
    )


def mail_returned(publication_request, *, user):
    """Tell the requester why their request was returned (not when they returned it)."""
    if user.pk == publication_request.requested_by_id:
        return 0
    return mail_requester(
        publication_request,
        subject=f"【差し戻し】{publication_request.organization.name} の公開依頼",
        lines=[
            f"{person(user)} さんが公開依頼を差し戻しました。",
            "",
            f"差し戻しコメント:\n{publication_request.comment}",
            "",
            f"依頼メモ:\n{publication_request.note}",
        ],
    )


def mail_requester(publication_request, *, subject, lines):
    requester = publication_request.requested_by
    if not (requester.is_active and requester.email):
        return 0
    organization = publication_request.organization
    body = "\n".join(
        [
            f"{person(requester)} さん",
            "",
            f"{japanese_date_time(publication_request.requested_at)} の {organization.name} の公開依頼について:",
            "",
            *lines,
            "",
            "公開依頼:",
            absolute_url(request_admin_url(publication_request)),
        ]
    )
    return queue_email(to=requester.email, subject=one_line(subject), body=body + FOOTER)
