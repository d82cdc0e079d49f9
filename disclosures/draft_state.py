"""Whether an organisation's draft differs from its live version, and since when.

"Differs" is decided as publish() decides it (document_digests): the digests of
the draft, computed now, against those stored with the current publication.
Nothing is stored that could go stale. "Since when" is the first change to the
sheet or to an answer that django-simple-history recorded after that
publication (a change later undone still counts from its time).
"""

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, Subquery

from checklist.models import Answer

from .formatting import japanese_date_time
from .models import DisclosureSheet, current_version_value
from .snapshot import build_snapshot, document_digests


@dataclass(frozen=True)
class DraftState:
    live_number: int | None  # None: never published
    differs: bool = False
    since: datetime.datetime | None = None

    @property
    def published(self):
        return self.live_number is not None

    def __str__(self):
        if not self.published:
            return "未公開"
        if not self.differs:
            return "公開版と同じです"
        if self.since is None:  # changed without a history row (a bulk update)
            return "公開版との差分があります"
        return f"公開版との差分があります（{japanese_date_time(self.since)} から）"


def with_draft_state(organizations):
    """Organizations with what draft_state() reads, in the same number of queries
    however many there are: the live version's digests and the first recorded
    change after it as annotations, the drafts with their answers prefetched."""
    organizations = organizations.annotate(
        **{
            f"live_{field}": current_version_value(field, OuterRef("pk"))
            for field in ("number", "published_at", "sheet_digest", "checklist_digest")
        }
    )
    sheet_changes = DisclosureSheet.history.filter(
        organization_id=OuterRef("pk"), history_date__gt=OuterRef("live_published_at")
    ).order_by("history_date")
    answer_changes = Answer.history.filter(
        checklist_id=OuterRef("sheet__checklist_id"), history_date__gt=OuterRef("live_published_at")
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
    if organization.live_number is None:
        return DraftState(live_number=None)
    sheet = organization.sheet
    sheet.organization = organization  # the snapshot names it; no query for it
    digests = document_digests(build_snapshot(sheet))
    if digests == (organization.live_sheet_digest, organization.live_checklist_digest):
        return DraftState(live_number=organization.live_number)
    changes = [organization.first_sheet_change_at, organization.first_answer_change_at]
    return DraftState(
        live_number=organization.live_number,
        differs=True,
        since=min((c for c in changes if c is not None), default=None),
    )
