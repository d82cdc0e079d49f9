"""Review and approval: a member asks for publication (公開を依頼), a 公開責任者
publishes exactly what was asked for or returns it (差し戻し).

A request records the draft's digests (sheet and checklist) when it is made;
publishing from it (publishing.PublishAction with request=…) is refused once the
draft no longer has them (依頼後に下書きが変更されています). At most one request per
organisation is open: a new request replaces the open one (状態「新しい依頼に置き換え」),
so that a changed draft is simply asked for again. Publishing closes the request
(publishing.PublishAction). Every step is a save of the request with its actor and
the step's name (PublicationRequest.save_step), kept by django-simple-history.
Mail: disclosures/request_mail.py.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .models import DisclosureSheet, Membership, Organization, PublicationRequest
from .permissions import is_member, may_publish
from .publishing import PublishError, draft_problems, publication_outcome
from .request_mail import mail_publishers, mail_returned
from .snapshot import build_snapshot, document_digests

Status = PublicationRequest.Status


class RequestError(Exception):
    """The step cannot be taken; `problems` lists every reason, in Japanese."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


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


def ask_for_publication(sheet, *, user, note):
    """公開を依頼: record the draft as it is now and tell the 公開責任者. Refused
    (RequestError) for a draft that could not be published or equals the live version."""
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
            replaced.save_step(user, "新しい依頼に置き換え")
        publication_request.save_step(user, "公開を依頼")
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
        publication_request.save_step(user, "差し戻し")
        mail_returned(publication_request, user=user)
    return publication_request


def withdraw_request(publication_request, *, user):
    """取り下げ: only the requester withdraws their request."""
    if publication_request.requested_by_id != user.pk:
        raise PermissionDenied("公開依頼を取り下げられるのは、依頼した本人だけです。")
    with transaction.atomic():
        publication_request = locked_open(publication_request, "取り下げられません")
        publication_request.status = Status.WITHDRAWN
        publication_request.decided_by, publication_request.decided_at = user, timezone.now()
        publication_request.save_step(user, "取り下げ")
    return publication_request


def locked_open(publication_request, refused):
    locked = PublicationRequest.objects.select_for_update().select_related("requested_by", "organization")
    publication_request = locked.get(pk=publication_request.pk)
    if not publication_request.is_open:
        raise RequestError(
            [f"この公開依頼は「{publication_request.get_status_display()}」のため、{refused}。"]
        )
    return publication_request
