"""Review and approval: a member asks for publication (公開を依頼), a 公開責任者
publishes exactly what was asked for or returns it (差し戻し).

A request records the draft's digests (sheet and checklist) when it is made;
publishing from it (publishing.PublishAction with request=…) is refused once the
draft no longer has them (依頼後に下書きが変更されています). At most one request per
organisation is open: a new request replaces the open one (状態「新しい依頼に置き換え」),
so that a changed draft is simply asked for again. Every step is a save of the
request with its actor and a reason, kept by django-simple-history.

Mail (disclosure_portal.mail, in the action's transaction): the organisation's
公開責任者 are told of a new request; the requester of its publication or return.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from disclosure_portal.mail import absolute_url, queue_email

from .formatting import japanese_date_time
from .models import DisclosureSheet, Membership, Organization, PublicationRequest
from .permissions import is_member, may_publish
from .snapshot import build_snapshot, document_digests

Status = PublicationRequest.Status
MAIL_FOOTER = "\n--\nこのメールは重要事項開示ポータルから自動で送信しています。\n"


class RequestError(Exception):
    """The step cannot be taken; `problems` lists every reason, in Japanese."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def request_admin_url(publication_request):
    return reverse("admin:disclosures_publicationrequest_change", args=[publication_request.pk])


def person(user):
    return user.get_full_name() or user.get_username()


def open_requests_for(user):
    """The open requests `user` may act on (publish or return): those of the
    organisations where they are 公開責任者 (all of them for a superuser), without
    their own where four eyes forbid approving them."""
    requests = PublicationRequest.objects.filter(status=Status.OPEN).select_related(
        "organization", "requested_by"
    )
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return requests.none()
    if not user.is_superuser:
        requests = requests.filter(
            organization__memberships__user=user,
            organization__memberships__role=Membership.Role.PUBLISHER,
        )
    return requests.exclude(organization__four_eyes=True, requested_by=user)


def open_request_of(organization_id):
    return (
        PublicationRequest.objects.filter(organization=organization_id, status=Status.OPEN)
        .select_related("requested_by")
        .first()
    )


def draft_changed_since(publication_request, sheet=None):
    """Whether the draft's digests are no longer those the request recorded."""
    sheet = sheet or DisclosureSheet.objects.select_related("organization", "checklist__template").get(
        organization=publication_request.organization_id
    )
    return document_digests(build_snapshot(sheet)) != publication_request.digests


def publishers_to_notify(organization_id, *, besides=None):
    """The organisation's 公開責任者 who can be mailed and can act: active staff with
    an address. Never another organisation's people, never a superuser who is not a
    member; not `besides` (the requester, told nothing of their own request)."""
    users = (
        get_user_model()
        .objects.filter(
            memberships__organization=organization_id,
            memberships__role=Membership.Role.PUBLISHER,
            is_active=True,
            is_staff=True,
        )
        .exclude(email="")
    )
    if besides is not None:
        users = users.exclude(pk=besides.pk)
    return users


def ask_for_publication(sheet, *, user, note):
    """公開を依頼: record the draft as it is now and tell the 公開責任者. Refused
    (RequestError) for a draft that could not be published or equals the live version."""
    from .publishing import PublishError, draft_problems, publication_outcome  # publishing imports us

    if not is_member(user, sheet.organization_id):
        raise PermissionDenied("この代行機関の担当者ではありません。")
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=sheet.organization_id)
        sheet = DisclosureSheet.objects.select_related("organization", "checklist__template").get(pk=sheet.pk)
        problems = draft_problems(sheet)
        if problems:
            raise RequestError(problems)
        snapshot = build_snapshot(sheet)
        try:
            publication_outcome(sheet, snapshot=snapshot)  # refuses a draft equal to the live version
        except PublishError as error:
            raise RequestError(error.problems) from error
        now = timezone.now()
        publication_request = PublicationRequest(
            organization=organization,
            requested_by=user,
            requested_at=now,
            note=note.strip(),
            snapshot=snapshot,
        )
        publication_request.sheet_digest, publication_request.checklist_digest = document_digests(snapshot)
        try:
            publication_request.full_clean(validate_constraints=False)
        except ValidationError as error:
            raise RequestError(error.messages) from error
        for replaced in PublicationRequest.objects.select_for_update().filter(
            organization=organization, status=Status.OPEN
        ):
            replaced.status = Status.REPLACED
            replaced.decided_by, replaced.decided_at = user, now
            save_step(replaced, user, "新しい依頼に置き換え")
        save_step(publication_request, user, "公開を依頼")
        publication_request.notified = mail_publishers(publication_request)
    return publication_request


def return_request(publication_request, *, user, comment):
    """差し戻し: close the request with a comment, which the requester is mailed."""
    if not may_publish(user, publication_request.organization_id):
        raise PermissionDenied("差し戻しできるのは、この代行機関の公開責任者です。")
    with transaction.atomic():
        publication_request = locked_open(publication_request, "差し戻せません")
        publication_request.status = Status.RETURNED
        publication_request.decided_by, publication_request.decided_at = user, timezone.now()
        publication_request.comment = comment.strip()
        try:
            publication_request.full_clean(validate_constraints=False)
        except ValidationError as error:
            raise RequestError(error.messages) from error
        save_step(publication_request, user, "差し戻し")
        if user.pk != publication_request.requested_by_id:
            mail_requester(
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
    return publication_request


def withdraw_request(publication_request, *, user):
    """取り下げ: only the requester withdraws their request."""
    if publication_request.requested_by_id != user.pk:
        raise PermissionDenied("公開依頼を取り下げられるのは、依頼した本人だけです。")
    with transaction.atomic():
        publication_request = locked_open(publication_request, "取り下げられません")
        publication_request.status = Status.WITHDRAWN
        publication_request.decided_by, publication_request.decided_at = user, timezone.now()
        save_step(publication_request, user, "取り下げ")
    return publication_request


def close_request_on_publish(publication_request, publication, *, user):
    """Called by PublishAction.execute() in its transaction: the request published
    from (locked and checked there) is 承認・公開済. Published without one, the
    organisation's open request is closed too when it asked for exactly this
    content; one that asked for other content stays open (it says the draft changed)."""
    if publication_request is None:
        publication_request = (
            PublicationRequest.objects.select_for_update()
            .filter(
                organization=publication.organization_id,
                status=Status.OPEN,
                sheet_digest=publication.sheet_digest,
                checklist_digest=publication.checklist_digest,
            )
            .first()
        )
        if publication_request is None:
            return None
    publication_request.status = Status.PUBLISHED
    publication_request.decided_by, publication_request.decided_at = user, publication.published_at
    publication_request.publication = publication
    save_step(publication_request, user, f"承認・公開（第{publication.number}版）")
    if user is None or user.pk != publication_request.requested_by_id:
        mail_requester(
            publication_request,
            subject=f"【公開しました】{publication_request.organization.name} 第{publication.number}版",
            lines=[
                f"{person(user) + ' さんが' if user else ''}公開依頼を承認し、"
                f"第{publication.number}版として公開しました。",
                "",
                f"公開ページ:\n{absolute_url(publication.get_absolute_url())}",
                "",
                f"変更内容:\n{publication.change_note}",
            ],
        )
    return publication_request


def locked_open(publication_request, refused):
    locked = PublicationRequest.objects.select_for_update().select_related("requested_by", "organization")
    publication_request = locked.get(pk=publication_request.pk)
    if not publication_request.is_open:
        raise RequestError(
            [f"この公開依頼は「{publication_request.get_status_display()}」のため、{refused}。"]
        )
    return publication_request


def save_step(publication_request, user, reason):
    """One step of the audit trail: the history row names the actor and the step."""
    publication_request._history_user = user
    publication_request._change_reason = reason
    publication_request.save()


def one_line(text):
    """For a subject: a header must not break (an organisation's name may hold line breaks)."""
    return " ".join(text.split())


def mail_publishers(publication_request):
    """Tell the organisation's 公開責任者 of a new request; returns how many were mailed."""
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
    addresses = [
        user.email for user in publishers_to_notify(organization.pk, besides=requester).only("email")
    ]
    return queue_email(
        to=addresses, subject=one_line(f"【公開依頼】{organization.name}"), body=body + MAIL_FOOTER
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
    return queue_email(to=requester.email, subject=one_line(subject), body=body + MAIL_FOOTER)
