"""publish(): the only way a version is made.

One transaction: validate the whole draft (every problem listed), build the
snapshot, number the version under a lock on the organisation, decide each
document's 最終更新日, freeze the artefacts. Called by the admin and by
load_example alike. Published from a request (disclosures/review.py), only the
content that was asked for is published, and the request is closed with it.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from subscriptions.notify import notify_subscribers

from .current_version import forget_current_version
from .formatting import japanese_date
from .models import (
    DirectoryEntry,
    DisclosureSheet,
    Organization,
    Publication,
    PublicationRequest,
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


def draft_problems(sheet):
    """Every reason the draft (sheet and checklist) cannot be published."""
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
    # 最終更新日, since the public reads the plan from today on.
    problems.extend(sheet.checklist.schedule_problems(this_month(), answers))
    return problems


def this_month(today=None):
    """The first day of the current month in the portal's time zone (Asia/Tokyo)."""
    return (today or timezone.localdate()).replace(day=1)


class PublishAction:
    def __init__(self, sheet, *, user=None, change_note="", effective_date=None, request=None):
        self.sheet = sheet
        self.user = user  # None: the system itself (load_example)
        self.change_note = change_note.strip()
        self.effective_date = effective_date
        self.request = request  # the PublicationRequest reviewed, when published from one

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
        problems = draft_problems(sheet)
        if not self.change_note:
            problems.append("変更内容を入力してください。")
        change_note_field = Publication._meta.get_field("change_note")
        for validator in (validate_no_control_characters, *change_note_field.validators):
            try:
                validator(self.change_note)
            except ValidationError as error:
                problems.extend(f"変更内容: {message}" for message in error.messages)
        if problems:
            raise PublishError(problems)

        snapshot = build_snapshot(sheet)
        sheet_digest, checklist_digest = document_digests(snapshot)
        if request is not None and request.digests != (sheet_digest, checklist_digest):
            raise PublishError([DRAFT_CHANGED_SINCE_REQUEST])
        # Only its number, digests and dates are compared: not its snapshot or PDF.
        previous = organization.publications.defer("snapshot", "pdf").current().first()
        published_at = timezone.now()
        today = timezone.localdate(published_at)
        sheet_updated_on, checklist_updated_on = self._updated_on(
            previous, today, sheet_digest, checklist_digest
        )
        number = previous.number + 1 if previous else 1
        try:
            # No version without its PDF: a failure here publishes nothing.
            pdf = render_publication_pdf(
                snapshot,
                number=number,
                published_at=published_at,
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
            "Published %s version %s by %s", organization.slug, publication.number, self.user or "system"
        )
        self._close_request(request, publication)
        # Enqueued in this transaction (a rolled-back publish mails no one); never raises.
        notify_subscribers(publication)
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

    def _updated_on(self, previous, today, sheet_digest, checklist_digest):
        """Each document's 最終更新日 moves to today only when its own content changed."""
        if previous is None:
            effective = self.effective_date or today
            if effective > today:
                raise PublishError(["最終更新日に未来の日付は指定できません。"])
            return effective, effective
        if self.effective_date is not None:
            raise PublishError(["最終更新日を指定できるのは初版（第1版）だけです。"])
        if (sheet_digest, checklist_digest) == (previous.sheet_digest, previous.checklist_digest):
            raise NothingChanged(
                [
                    f"下書きは公開中の第{previous.number}版"
                    f"（{japanese_date(timezone.localdate(previous.published_at))}公開）"
                    "と同じ内容のため、公開しませんでした。"
                ]
            )
        return (
            today if sheet_digest != previous.sheet_digest else previous.sheet_updated_on,
            today if checklist_digest != previous.checklist_digest else previous.checklist_updated_on,
        )


def publication_outcome(sheet, *, effective_date=None, snapshot=None):
    """What publishing the draft now would give, without publishing: (版, 概要の最終更新日,
    チェックリストの最終更新日), decided exactly as execute() decides them. Raises
    NothingChanged (or PublishError for a wrong effective date) as publishing would."""
    snapshot = snapshot if snapshot is not None else build_snapshot(sheet)
    sheet_digest, checklist_digest = document_digests(snapshot)
    previous = (
        Publication.objects.filter(organization=sheet.organization_id)
        .defer("snapshot", "pdf")
        .current()
        .first()
    )
    action = PublishAction(sheet, effective_date=effective_date)
    dates = action._updated_on(previous, timezone.localdate(), sheet_digest, checklist_digest)
    return ((previous.number + 1) if previous else 1, *dates)


def publish(sheet, *, user=None, change_note, effective_date=None, request=None):
    action = PublishAction(
        sheet, user=user, change_note=change_note, effective_date=effective_date, request=request
    )
    action.check()
    return action.execute()
