"""Whether an organisation's draft differs from its live version, and since when.

"Differs" is decided as publish() decides it (document_digests): the digests of
the draft, computed now, against those stored with the newest version that is not
cancelled: the current publication or, when one is scheduled, that version (which
the draft is compared with until it goes live).
Nothing is stored that could go stale. "Since when" is the first change to the
sheet or to an answer that django-simple-history recorded after that
publication (a change later undone still counts from its time).
"""

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, Subquery

from checklist.models import Answer

from .formatting import japanese_date_time, japanese_moment
from .models import DisclosureSheet, Publication, current_version_value
from .snapshot import build_snapshot, document_digests


@dataclass(frozen=True)
class DraftState:
    live_number: int | None  # None: never published
    differs: bool = False
    since: datetime.datetime | None = None
    scheduled_number: int | None = None  # a version waiting for its go-live time
    scheduled_live_from: datetime.datetime | None = None

    @property
    def published(self):
        return self.live_number is not None

    @property
    def scheduled(self):
        """公開予定 第2版 2027年4月1日 0:00 (empty when none is scheduled)."""
        if self.scheduled_number is None:
            return ""
        return f"公開予定 第{self.scheduled_number}版 {japanese_moment(self.scheduled_live_from)}"

    def __str__(self):
        return "／".join(part for part in (self._draft(), self.scheduled) if part)

    def _draft(self):
        compared = "公開予定の版" if self.scheduled_number is not None else "公開版"
        if not self.published and self.scheduled_number is None:
            return "未公開"
        if not self.differs:
            return f"{compared}と同じです"
        if self.since is None:  # changed without a history row (a bulk update)
            return f"{compared}との差分があります"
        return f"{compared}との差分があります（{japanese_date_time(self.since)} から）"


def with_draft_state(organizations):
    """Organizations with what draft_state() reads, in the same number of queries
    however many there are: the live version's digests and the first recorded
    change after it as annotations, the drafts with their answers prefetched."""
    # The draft is compared with the newest version not cancelled: the live one or
    # the one scheduled (at most one, always the newest).
    newest = Publication.objects.filter(organization=OuterRef("pk"), cancellation__isnull=True).newest_first()
    scheduled = Publication.objects.filter(organization=OuterRef("pk")).scheduled().newest_first()
    organizations = organizations.annotate(
        live_number=current_version_value("number", OuterRef("pk")),
        **{
            f"base_{field}": Subquery(newest.values(field)[:1])
            for field in ("published_at", "sheet_digest", "checklist_digest")
        },
        scheduled_number=Subquery(scheduled.values("number")[:1]),
        scheduled_live_from=Subquery(scheduled.values("live_from")[:1]),
    )
    sheet_changes = DisclosureSheet.history.filter(
        organization_id=OuterRef("pk"), history_date__gt=OuterRef("base_published_at")
    ).order_by("history_date")
    answer_changes = Answer.history.filter(
        checklist_id=OuterRef("sheet__checklist_id"), history_date__gt=OuterRef("base_published_at")
    ).order_by("history_date")
    return (
        organizations.annotate(
            first_sheet_change_at=Subquery(sheet_changes.values("history_date")[:1]),
            first_answer_change_at=Subquery(answer_changes.values("history_date")[:1]),
        )
        .select_related("sheet__checklist__template")
        .prefetch_related(
            Prefetch(
                "sheet__checklist__answers",
                queryset=Answer.objects.select_related("item__section", "item__note"),
            )
        )
    )


def draft_state(organization):
    """The state of an organisation fetched through with_draft_state()."""
    scheduled = {
        "scheduled_number": organization.scheduled_number,
        "scheduled_live_from": organization.scheduled_live_from,
    }
    if organization.base_sheet_digest is None:
        return DraftState(live_number=None)
    sheet = organization.sheet
    sheet.organization = organization  # the snapshot names it; no query for it
    digests = document_digests(build_snapshot(sheet))
    if digests == (organization.base_sheet_digest, organization.base_checklist_digest):
        return DraftState(live_number=organization.live_number, **scheduled)
    changes = [organization.first_sheet_change_at, organization.first_answer_change_at]
    return DraftState(
        live_number=organization.live_number,
        differs=True,
        since=min((c for c in changes if c is not None), default=None),
        **scheduled,
    )
