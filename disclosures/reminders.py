"""What staff should be reminded of, per organisation: the admin index (dashboard)
and the daily digest (`manage.py send_reminders`) show the same items.

Each kind of reminder is one *source*: a function `source(organizations, today)`
that returns `Reminder`s for any of `organizations` (a list of Organization with
their `sheet` selected) as of `today` (a date in Asia/Tokyo). A source reads what
it needs for all the organisations at once, in a fixed number of queries, so the
dashboard costs the same for one organisation as for fifty. A new kind of reminder
is one more function in SOURCES.

Dates: a version's date here is its 最終更新日 as the public reads it
(`last_updated_on`): the publication day for every version after the first, and
the earlier effective date a first version may carry (the example's 2022年4月1日).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, replace

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.json import KT
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from checklist.models import Answer
from checklist.months import format_month
from disclosure_portal.mail import absolute_url, queue_email

from .draft_state import draft_state, with_draft_state
from .formatting import japanese_date, japanese_date_time, japanese_moment
from .layout import row_labels
from .models import Membership, Organization, Publication, PublicationRequest, ReminderDigest
from .notes import note_marker
from .review import open_requests_for

# 実施予定 items are listed from this many days before their month begins.
DUE_SOON_DAYS = 60
# 注13: 前年度の取扱件数, asked for every fiscal year, which begins on 4月1日.
COUNT_FIELDS = ("cases_last_year_per_year", "cases_last_year_per_day")
FISCAL_YEAR_START = (4, 1)


@dataclass(frozen=True)
class Reminder:
    organization: Organization
    source: str  # the source's name: "draft_changes", "planned_items", …
    text: str  # one Japanese sentence
    url: str  # the admin page where it is dealt with (a path)


def sheet_url(organization):
    return reverse("admin:disclosures_disclosuresheet_change", args=[organization.sheet.pk])


def checklist_url(organization):
    return reverse("admin:checklist_checklist_change", args=[organization.sheet.checklist_id])


def item_name(answer, length=40):
    """An item as the diff names it (区分 番号. 項目文), the text shortened for a list."""
    item = answer.item
    text = Truncator(" ".join(item.text.split())).chars(length)
    return f"{item.section.title} {item.number}. {text}"


# --- the sources ---------------------------------------------------------------------


def draft_changes(organizations, today):
    """A draft that differs from the live version (since when), or was never published."""
    states = with_draft_state(Organization.objects.filter(pk__in=[o.pk for o in organizations]))
    by_pk = {o.pk: o for o in organizations}
    for organization in states:
        state = draft_state(organization)
        organization = by_pk[organization.pk]
        if not state.published and state.scheduled_number is None:
            yield Reminder(
                organization,
                "draft_changes",
                "まだ一度も公開されていません。下書きを確認して公開してください。",
                sheet_url(organization),
            )
        elif state.differs:
            # The draft is compared with the scheduled version while one waits.
            compared = (
                f"公開予定の版（第{state.scheduled_number}版）"
                if state.scheduled_number is not None
                else f"公開版（第{state.live_number}版）"
            )
            since = f"（{japanese_date_time(state.since)} から）" if state.since else ""
            yield Reminder(
                organization,
                "draft_changes",
                f"{compared}との差分が公開されていません{since}。",
                sheet_url(organization),
            )


def open_requests(organizations, today):
    """公開依頼 waiting for a 公開責任者: who asked, since when (at most one per organisation)."""
    by_pk = {o.pk: o for o in organizations}
    waiting = (
        PublicationRequest.objects.filter(organization__in=by_pk, status=PublicationRequest.Status.OPEN)
        .select_related("requested_by")
        .defer("snapshot")
        .order_by("organization", "requested_at")
    )
    for publication_request in waiting:
        user = publication_request.requested_by
        name = user.get_full_name() or user.get_username()
        yield Reminder(
            by_pk[publication_request.organization_id],
            "open_requests",
            f"公開依頼が承認待ちです（依頼者: {name}、{japanese_date_time(publication_request.requested_at)} から）。",
            reverse("admin:disclosures_publicationrequest_change", args=[publication_request.pk]),
        )


def scheduled_versions(organizations, today):
    """A version waiting for its go-live time (公開予定): staff see it, the public does not.
    The link is the version's admin page (every member may see it), which links to
    the publish page where a 公開責任者 cancels it."""
    by_pk = {o.pk: o for o in organizations}
    scheduled = (
        Publication.objects.filter(organization__in=by_pk)
        .scheduled()
        .only("organization", "number", "live_from")
        .order_by("organization", "number")
    )
    for publication in scheduled:
        organization = by_pk[publication.organization_id]
        yield Reminder(
            organization,
            "scheduled_versions",
            f"第{publication.number}版が{japanese_moment(publication.live_from)}に公開予定です。"
            "公開前なら取り消せます。",
            reverse("admin:disclosures_publication_change", args=[publication.pk]),
        )


def planned_items(organizations, today):
    """実施予定 items whose month has passed, or begins within DUE_SOON_DAYS."""
    by_checklist = {o.sheet.checklist_id: o for o in organizations}
    this_month = today.replace(day=1)
    answers = (
        Answer.objects.filter(
            checklist__in=by_checklist,
            status=Answer.Status.PLANNED,
            planned_time__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
        )
        .select_related("item__section")
        .order_by("checklist", "planned_time", "item__section__order", "item__number")
    )
    for answer in answers:
        organization = by_checklist[answer.checklist_id]
        month = format_month(answer.planned_time)
        if answer.planned_time < this_month:
            text = f"{item_name(answer)}: 実施予定の実施時期（{month}）が過ぎています。実施済にするか、新しい実施時期を入力してください。"
        elif answer.planned_time == this_month:
            text = f"{item_name(answer)}: 実施時期（{month}）は今月です。"
        else:
            text = f"{item_name(answer)}: 実施時期（{month}）が近づいています。"
        yield Reminder(organization, "planned_items", text, checklist_url(organization))


def unconverted_planned_times(organizations, today):
    """実施時期 texts the migration could not read as a month (未定, 2027年度 …)."""
    by_checklist = {o.sheet.checklist_id: o for o in organizations}
    answers = (
        Answer.objects.filter(checklist__in=by_checklist)
        .exclude(planned_time_text="")
        .select_related("item__section")
        .order_by("checklist", "item__section__order", "item__number")
    )
    for answer in answers:
        organization = by_checklist[answer.checklist_id]
        yield Reminder(
            organization,
            "unconverted_planned_times",
            f"{item_name(answer)}: 実施時期「{answer.planned_time_text}」を年月で入力し直してください。",
            checklist_url(organization),
        )


def fiscal_year_start(today):
    start = datetime.date(today.year, *FISCAL_YEAR_START)
    return start if today >= start else start.replace(year=today.year - 1)


def annual_counts(organizations, today):
    """注13: from 4月1日 each year until a version whose 前年度の取扱件数 differ from
    the version before it (a first version gives the first figures) is dated on or
    after that 4月1日. Only for organisations that have published."""
    start = fiscal_year_start(today)
    versions = (
        Publication.objects.filter(organization__in=[o.pk for o in organizations])
        .order_by("organization", "number")
        .values_list(
            "organization",
            "sheet_updated_on",
            *(KT(f"snapshot__sheet__values__{name}") for name in COUNT_FIELDS),
        )
    )
    last_new_figures = {}  # organization id: the date of its latest version with new figures
    previous = {}
    for organization_id, updated_on, *counts in versions:
        if previous.get(organization_id) != counts:
            last_new_figures[organization_id] = updated_on
        previous[organization_id] = counts
    label = f"{note_marker(13)} {row_labels(COUNT_FIELDS[0])[0]}"
    for organization in organizations:
        dated = last_new_figures.get(organization.pk)
        if dated is not None and dated < start:
            yield Reminder(
                organization,
                "annual_counts",
                f"{label}を更新してください: {japanese_date(start)}から、件数を更新した版が公開されていません。",
                sheet_url(organization),
            )


def a_year_before(today):
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def no_recent_publication(organizations, today):
    """The current version is dated 12 months ago or earlier: the content may no
    longer be current (「下記事項に変更があった場合は速やかに変更」)."""
    limit = a_year_before(today)
    current = (
        Publication.objects.filter(organization__in=[o.pk for o in organizations])
        .current()
        .filter(Q(sheet_updated_on__lte=limit) & Q(checklist_updated_on__lte=limit))
        .values_list("organization", "number", "sheet_updated_on", "checklist_updated_on")
    )
    by_pk = {o.pk: o for o in organizations}
    for organization_id, number, sheet_on, checklist_on in current:
        organization = by_pk[organization_id]
        yield Reminder(
            organization,
            "no_recent_publication",
            f"12か月以上公開していません（第{number}版、最終更新日 "
            f"{japanese_date(max(sheet_on, checklist_on))}）。内容が今も正しいか確認してください。",
            sheet_url(organization),
        )


SOURCES = [
    draft_changes,
    open_requests,
    scheduled_versions,
    planned_items,
    unconverted_planned_times,
    annual_counts,
    no_recent_publication,
]


def reminders_by_organization(organizations, today):
    """{organization: [Reminder]} for each of `organizations` (a queryset, perhaps a
    page of one, of organisations with their drafts), in their order; organisations
    without a reminder map to []."""
    organizations = list(organizations.select_related("sheet"))
    found = {organization.pk: [] for organization in organizations}
    if organizations:
        for source in SOURCES:
            for reminder in source(organizations, today):
                found[reminder.organization.pk].append(reminder)
    return {organization: found[organization.pk] for organization in organizations}


# Superusers see every organisation: this many a page of the dashboard.
DASHBOARD_PAGE_SIZE = 20


def organizations_of(user):
    """The organisations whose reminders `user` sees: all for a superuser, else theirs."""
    if not (user.is_active and user.is_staff):
        return Organization.objects.none()
    with_drafts = Organization.objects.filter(sheet__isnull=False)
    return with_drafts if user.is_superuser else with_drafts.filter(memberships__user=user)


YOURS_TO_DECIDE = "あなたが公開または差し戻しできます。"


def yours_to_decide(reminders, user):
    """The open requests `user` may publish or return (review.open_requests_for: a
    公開責任者, not their own under four eyes) say so on the dashboard (one query)."""
    organization_ids = [organization.pk for organization in reminders]
    mine = {
        reverse("admin:disclosures_publicationrequest_change", args=[pk])
        for pk in open_requests_for(user)
        .filter(organization__in=organization_ids)
        .values_list("pk", flat=True)
    }
    return {
        organization: [
            replace(reminder, text=f"{reminder.text}{YOURS_TO_DECIDE}")
            if reminder.source == "open_requests" and reminder.url in mine
            else reminder
            for reminder in items
        ]
        for organization, items in reminders.items()
    }


def dashboard_context(request):
    """The admin index's reminders: one page of the user's organisations (only those
    with something to say are listed, with how many are fine)."""
    paginator = Paginator(organizations_of(request.user).order_by("name", "slug"), DASHBOARD_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    reminders = reminders_by_organization(page.object_list, timezone.localdate())
    reminders = yours_to_decide(reminders, request.user)
    return {
        "reminders": [(organization, items) for organization, items in reminders.items() if items],
        "reminders_all_clear": sum(1 for items in reminders.values() if not items),
        "reminders_page": page if paginator.num_pages > 1 else None,
    }


# --- the daily digest ----------------------------------------------------------------


def digest_subject(today, count):
    return f"【重要事項開示ポータル】お知らせ {count}件（{japanese_date(today)}）"


def digest_body(user, today, reminders):
    """The digest's text: each organisation's reminders with the admin page to open."""
    name = user.get_full_name() or user.get_username()
    lines = [
        f"{name} 様",
        "",
        f"重要事項開示ポータルから、担当の代行機関についてのお知らせです（{japanese_date(today)}現在）。",
    ]
    for organization, items in reminders:
        lines += ["", f"【{organization.name}】"]
        for reminder in items:
            lines += [f"・{reminder.text}", f"  {absolute_url(reminder.url)}"]
    lines += [
        "",
        f"管理画面: {absolute_url(reverse('admin:index'))}",
        "",
        "このメールは、担当の代行機関にお知らせがある日に1日1通まで送られます。",
    ]
    return "\n".join(lines) + "\n"


def digest_recipients():
    """{user: [organization id]}: active staff with an e-mail address, by their memberships."""
    recipients = defaultdict(list)
    memberships = (
        Membership.objects.filter(user__is_active=True, user__is_staff=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("user", "organization")
    )
    for membership in memberships:
        recipients[membership.user].append(membership.organization_id)
    return recipients


def send_digests(today=None):
    """Queue one digest for each member who has reminders and was not sent one
    `today` (Asia/Tokyo): safe to run every hour. Returns how many were queued."""
    today = today or timezone.localdate()
    recipients = digest_recipients()
    organization_ids = {pk for ids in recipients.values() for pk in ids}
    reminders = reminders_by_organization(
        Organization.objects.filter(pk__in=organization_ids, sheet__isnull=False).order_by("name", "slug"),
        today,
    )
    queued = 0
    for user, ids in recipients.items():
        items = [
            (organization, found)
            for organization, found in reminders.items()
            if found and organization.pk in ids
        ]
        if not items:
            continue
        with transaction.atomic():
            # The row is locked (or created) before the mail is queued: two runs at
            # once send one digest.
            digest, created = ReminderDigest.objects.select_for_update().get_or_create(
                user=user, defaults={"last_sent_on": today}
            )
            if not created:
                if digest.last_sent_on >= today:
                    continue
                digest.last_sent_on = today
                digest.save(update_fields=["last_sent_on"])
            count = sum(len(found) for _, found in items)
            queue_email(
                to=user.email, subject=digest_subject(today, count), body=digest_body(user, today, items)
            )
        queued += 1
    return queued
