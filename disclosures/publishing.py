"""publish(): the only way a version is made.

One transaction: validate the whole draft (every problem listed), build the
snapshot, number the version under a lock on the organisation, decide each
document's 最終更新日, freeze the artefacts. Called by the admin and by
load_example alike.

Scheduled publication: with `live_from` (a moment in the future) the version is
numbered, frozen and its PDF rendered now, and the public sees it from that
moment on (Publication.objects.live()); nothing runs then. Its 最終更新日 and the
公開日 its PDF prints are the go-live date. An organisation has at most one
scheduled version: publishing while one is pending is refused, and it can be
cancelled before its go-live (cancel_schedule). A cancelled version is never
changed or deleted (publications are immutable) and never public; its number is
not used again.

Published from a request (disclosures/review.py), only the content that was
asked for is published, and the request is closed with it.
"""

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone

from subscriptions.notify import notify_subscribers

from .current_version import forget_current_version
from .formatting import japanese_date, japanese_moment
from .models import (
    DirectoryEntry,
    DisclosureSheet,
    Organization,
    Publication,
    PublicationRequest,
    ScheduleCancellation,
    validate_no_control_characters,
)
from .pdf import PdfRenderError, pdf_sha256
from .pdf.document import render_publication_pdf
from .permissions import four_eyes_refusal, publish_refusal
from .request_mail import mail_published
from .signing import PdfSigningError, sign_pdf
from .snapshot import build_snapshot, document_digests, sha256_of

logger = logging.getLogger(__name__)

# Sent once a version is committed: sender=Publication, publication=…
published = Signal()


class PublishError(Exception):
    """The draft cannot be published; `problems` lists every reason, in Japanese."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class NothingChanged(PublishError):
    pass


DRAFT_CHANGED_SINCE_REQUEST = (
    "依頼後に下書きが変更されています。依頼された内容と違うため、この依頼からは公開できません。"
    "変更後の内容で公開を依頼し直してください。"
)


def draft_problems(sheet, *, live_on=None):
    """Every reason the draft (sheet and checklist) cannot be published (on `live_on`,
    the go-live date of a scheduled version; None: today)."""
    problems = []
    try:
        sheet.full_clean()
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            label = DisclosureSheet._meta.get_field(field).verbose_name if field != "__all__" else ""
            problems.extend(f"{label}: {message}" if label else message for message in messages)
    # Each answer's full_clean(), the printable-text rule of 実施時期 included.
    answers = list(sheet.checklist.ordered_answers())
    problems.extend(sheet.checklist.problems(answers))
    # A 実施予定 must still lie ahead when it is made public: checked against the
    # month of publishing (Asia/Tokyo), also for a first version given an earlier
    # 最終更新日, since the public reads the plan from today on (from its go-live on,
    # for a scheduled version).
    problems.extend(sheet.checklist.schedule_problems(this_month(live_on), answers))
    return problems


def pending_refusal(scheduled):
    """Why nothing else can be published while `scheduled` waits for its go-live."""
    return (
        f"第{scheduled.number}版が{japanese_moment(scheduled.live_from)}に公開予定です。"
        "公開予定の版がある間は、新しい版を公開できません（公開予定を取り消すか、公開されるのを待ってください）。"
    )


PAST_GO_LIVE = "公開開始日時には現在より後の日時を指定してください。"
FAR_GO_LIVE = "公開開始日時は1年以内の日時を指定してください。"
GO_LIVE_HORIZON = datetime.timedelta(days=366)


def go_live_problems(live_from, now):
    """Why `live_from` cannot be a go-live time (empty: it can)."""
    if live_from <= now:
        return [PAST_GO_LIVE]
    if live_from > now + GO_LIVE_HORIZON:
        return [FAR_GO_LIVE]
    return []


def next_number(organization_id):
    """The number the next version gets: after every version, cancelled ones too
    (a number is never used twice)."""
    latest = Publication.objects.filter(organization=organization_id).aggregate(latest=Max("number"))[
        "latest"
    ]
    return (latest or 0) + 1


def this_month(today=None):
    """The first day of the current month in the portal's time zone (Asia/Tokyo)."""
    return (today or timezone.localdate()).replace(day=1)


class PublishAction:
    def __init__(
        self, sheet, *, user=None, change_note="", effective_date=None, live_from=None, request=None
    ):
        self.sheet = sheet
        self.user = user  # None: the system itself (load_example)
        self.change_note = change_note.strip()
        self.effective_date = effective_date
        self.request = request  # the PublicationRequest reviewed, when published from one
        self.live_from = live_from  # None: now

    def check(self):
        if self.request is not None and self.request.organization_id != self.sheet.organization_id:
            raise PermissionDenied("この公開依頼はこの代行機関のものではありません。")
        refusal = self.user and (
            publish_refusal(self.user, self.sheet.organization_id)
            or four_eyes_refusal(self.user, self.sheet.organization_id, self.request)
        )
        if refusal:
            raise PermissionDenied(refusal)

    @transaction.atomic
    def execute(self):
        # The lock serialises publishers of one organisation: numbers are never
        # reused, and each sees the version the other just made.
        organization = Organization.objects.select_for_update().get(pk=self.sheet.organization_id)
        sheet = DisclosureSheet.objects.select_related("organization", "checklist__template").get(
            pk=self.sheet.pk
        )
        request = self._locked_request()
        problems = draft_problems(sheet, live_on=self.live_from and timezone.localdate(self.live_from))
        if not self.change_note:
            problems.append("変更内容を入力してください。")
        change_note_field = Publication._meta.get_field("change_note")
        for validator in (validate_no_control_characters, *change_note_field.validators):
            try:
                validator(self.change_note)
            except ValidationError as error:
                problems.extend(f"変更内容: {message}" for message in error.messages)
        published_at = timezone.now()
        scheduled = organization.publications.defer("snapshot", "pdf").scheduled(published_at).first()
        if scheduled is not None:
            problems.insert(0, pending_refusal(scheduled))
        if self.live_from is not None:
            problems.extend(go_live_problems(self.live_from, published_at))
        if problems:
            raise PublishError(problems)

        snapshot = build_snapshot(sheet)
        sheet_digest, checklist_digest = document_digests(snapshot)
        if request is not None and request.digests != (sheet_digest, checklist_digest):
            raise PublishError([DRAFT_CHANGED_SINCE_REQUEST])
        # Only its number, digests and dates are compared: not its snapshot or PDF.
        # With none scheduled, the current version is the newest that is not cancelled.
        previous = organization.publications.defer("snapshot", "pdf").current(published_at).first()
        live_from = self.live_from or published_at
        sheet_updated_on, checklist_updated_on = self._updated_on(
            previous, timezone.localdate(live_from), sheet_digest, checklist_digest, published_at
        )
        number = next_number(organization.pk)
        try:
            # No version without its PDF: a failure here publishes nothing. The PDF
            # says when the public sees it: the go-live time of a scheduled version.
            pdf = render_publication_pdf(
                snapshot,
                number=number,
                published_at=live_from,
                sheet_updated_on=sheet_updated_on,
                checklist_updated_on=checklist_updated_on,
            )
        except PdfRenderError as error:
            logger.warning("PDF of %s version %s failed: %s", organization.slug, number, error)
            raise PublishError([error.message]) from error
        try:
            # Signed after rendering: pdf_sha256 below is the signed file's. No
            # signature, no version.
            pdf = sign_pdf(pdf)
        except PdfSigningError as error:
            logger.warning("Signing the PDF of %s version %s failed: %s", organization.slug, number, error)
            raise PublishError([error.message]) from error
        publication = Publication.objects.create(
            organization=organization,
            number=number,
            published_at=published_at,
            live_from=live_from,
            published_by=self.user,
            change_note=self.change_note,
            snapshot=snapshot,
            snapshot_sha256=sha256_of(snapshot),
            sheet_digest=sheet_digest,
            checklist_digest=checklist_digest,
            sheet_updated_on=sheet_updated_on,
            checklist_updated_on=checklist_updated_on,
            pdf=pdf,
            pdf_sha256=pdf_sha256(pdf),
            title=sheet.name,
            classification=sheet.classification,
        )
        # What the directory filters and searches, read from the snapshot once.
        DirectoryEntry.for_publication(publication).save()
        logger.info(
            "Published %s version %s by %s, live from %s",
            organization.slug,
            publication.number,
            self.user or "system",
            live_from.isoformat(),
        )
        self._close_request(request, publication)
        # Enqueued in this transaction (a rolled-back publish mails no one), to run when
        # the public sees the version (its go-live, if scheduled); never raises.
        notify_subscribers(publication, run_after=live_from if live_from > published_at else None)
        # Forgotten now and again when the version is committed: whatever a request
        # in between reads is kept under a generation the second bump ends.
        forget_current_version(organization.slug)
        transaction.on_commit(lambda: forget_current_version(organization.slug))
        transaction.on_commit(lambda: published.send(sender=Publication, publication=publication))
        return publication

    def _locked_request(self):
        """The request published from (None: none), read again under a lock: it must
        still be open (not returned, withdrawn or replaced in the meantime)."""
        if self.request is None:
            return None
        request = (
            PublicationRequest.objects.select_for_update()
            .filter(pk=self.request.pk, status=PublicationRequest.Status.OPEN)
            .first()
        )
        if request is None:
            status = PublicationRequest.objects.get(pk=self.request.pk).get_status_display()
            raise PublishError([f"この公開依頼は「{status}」のため、公開できません。"])
        return request

    def _close_request(self, request, publication):
        """The request published from is 承認・公開済. Published without one, the
        organisation's open request is closed too when it asked for exactly this
        content; one that asked for other content stays open (it says the draft changed)."""
        if request is None:
            request = (
                PublicationRequest.objects.select_for_update()
                .filter(
                    organization=publication.organization_id,
                    status=PublicationRequest.Status.OPEN,
                    sheet_digest=publication.sheet_digest,
                    checklist_digest=publication.checklist_digest,
                )
                .first()
            )
            if request is None:
                return
        request.status = PublicationRequest.Status.PUBLISHED
        request.decided_by, request.decided_at = self.user, publication.published_at
        request.publication = publication
        request.save_step(self.user, f"承認・公開（第{publication.number}版）")
        mail_published(request, publication, user=self.user)

    def _updated_on(self, previous, live_on, sheet_digest, checklist_digest, now=None):
        """Each document's 最終更新日 moves to the go-live date (today, unless
        scheduled) only when its own content changed."""
        if previous is None:
            effective = self.effective_date or live_on
            if self.effective_date and effective > timezone.localdate(now):
                raise PublishError(["最終更新日に未来の日付は指定できません。"])
            return effective, effective
        if self.effective_date is not None:
            raise PublishError(["最終更新日を指定できるのは初版（第1版）だけです。"])
        if (sheet_digest, checklist_digest) == (previous.sheet_digest, previous.checklist_digest):
            raise NothingChanged(
                [
                    f"下書きは公開中の第{previous.number}版"
                    f"（{japanese_date(timezone.localdate(previous.live_from))}公開）"
                    "と同じ内容のため、公開しませんでした。"
                ]
            )
        return (
            live_on if sheet_digest != previous.sheet_digest else previous.sheet_updated_on,
            live_on if checklist_digest != previous.checklist_digest else previous.checklist_updated_on,
        )


def publication_outcome(sheet, *, effective_date=None, live_from=None, snapshot=None):
    """What publishing the draft now (or scheduling it for `live_from`) would give,
    without publishing: (版, 概要の最終更新日, チェックリストの最終更新日), decided
    exactly as execute() decides them. Raises NothingChanged (or PublishError for a
    wrong effective date) as publishing would."""
    snapshot = snapshot if snapshot is not None else build_snapshot(sheet)
    sheet_digest, checklist_digest = document_digests(snapshot)
    now = timezone.now()
    previous = (
        Publication.objects.filter(organization=sheet.organization_id)
        .defer("snapshot", "pdf")
        .current(now)
        .first()
    )
    action = PublishAction(sheet, effective_date=effective_date)
    live_on = timezone.localdate(live_from if live_from and live_from > now else now)
    dates = action._updated_on(previous, live_on, sheet_digest, checklist_digest, now)
    return (next_number(sheet.organization_id), *dates)


def publish(sheet, *, user=None, change_note, effective_date=None, live_from=None, request=None):
    """Publish the draft now or, with `live_from` in the future, schedule it for then."""
    action = PublishAction(
        sheet,
        user=user,
        change_note=change_note,
        effective_date=effective_date,
        live_from=live_from,
        request=request,
    )
    action.check()
    return action.execute()


def scheduled_version(organization_id, now=None):
    """The organisation's version waiting for its go-live time, or None."""
    return (
        Publication.objects.filter(organization=organization_id)
        .defer("snapshot", "pdf")
        .scheduled(now)
        .select_related("organization")
        .first()
    )


NOTHING_TO_CANCEL = "取り消せる公開予定はありません（すでに公開されたか、取り消されています）。"


@transaction.atomic
def cancel_schedule(organization, *, user=None):
    """Withdraw the organisation's scheduled version before its go-live time: it
    stays, unchanged, as a cancelled version that is never public. Returns it."""
    refusal = user and publish_refusal(user, organization.pk)
    if refusal:
        raise PermissionDenied(refusal)
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    now = timezone.now()
    scheduled = scheduled_version(organization.pk, now)
    if scheduled is None:
        raise PublishError([NOTHING_TO_CANCEL])
    ScheduleCancellation.objects.create(publication=scheduled, cancelled_at=now, cancelled_by=user)
    logger.info(
        "Cancelled the schedule of %s version %s by %s", organization.slug, scheduled.number, user or "system"
    )
    # The go-live times the public caches know are of the past.
    forget_current_version(organization.slug)
    transaction.on_commit(lambda: forget_current_version(organization.slug))
    return scheduled
