"""Comparing the current versions of 2 to 4 agencies row by row (issue 15).

The rows are the form's, read from each version's snapshot (the labels the layout
gave it, the cells of disclosures/cells.py), so every value reads as on the agency's
own page; a row differs when the words of its cells (cells.cell_text, as the diff
reads them) are not the same for every agency. The checklist is summarised per
agency: as a whole and per section (区分).
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from . import public_cache
from .cells import cell_text
from .directory import COMPARE_MAX as MAX_AGENCIES
from .directory import COMPARE_MIN as MIN_AGENCIES
from .directory import COMPARE_PARAMETER as PARAMETER
from .formatting import japanese_date
from .models import Publication, PublicationAltered
from .snapshot import row_label
from .views import altered_publication_response, stored_body_response

# Past these, the query string is refused before any query: a slug has at most 50
# characters (Organization.slug) and a visitor picks at most 4 agencies.
MAX_VALUES = 20
MAX_QUERY_STRING = 2000
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


class SelectionError(Exception):
    """A selection that cannot be compared, with the Japanese words that say why."""

    def __init__(self, message, slugs=()):
        super().__init__(message)
        self.message = message
        self.slugs = list(slugs)  # what can still be shown as chosen in the form


def selected_slugs(query_dict, query_string=""):
    """The slugs of `o=`, in the visitor's order, each once. Raises SelectionError for
    what no organisation can be (too many or too long values, not a slug)."""
    if len(query_string) > MAX_QUERY_STRING:
        raise SelectionError("指定が長すぎます。比較する代行機関を選び直してください。")
    values = query_dict.getlist(PARAMETER)
    if len(values) > MAX_VALUES:
        raise SelectionError(
            f"指定が多すぎます。比較できるのは{MAX_AGENCIES}機関までです。比較する代行機関を選び直してください。"
        )
    slugs = list(dict.fromkeys(value.strip() for value in values if value.strip()))
    malformed = [slug for slug in slugs if not SLUG.fullmatch(slug)]
    if malformed:
        raise SelectionError(
            "代行機関の指定が正しくありません。比較する代行機関を一覧から選び直してください。",
            [slug for slug in slugs if slug not in malformed],
        )
    return slugs


def check_count(slugs):
    if len(slugs) > MAX_AGENCIES:
        raise SelectionError(
            f"比較できるのは{MAX_AGENCIES}機関までです（{len(slugs)}機関が選ばれています）。"
            f"{MAX_AGENCIES}機関以内に減らしてください。",
            slugs,
        )


def check_found(slugs, found):
    """Every chosen slug must be an organisation with a current version: one without
    (unknown, or nothing published) is named, the same words for both."""
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        names = "、".join(f"「{slug}」" for slug in missing)
        raise SelectionError(
            f"{names}に該当する公開中の代行機関はありません。一覧から選び直してください。",
            [slug for slug in slugs if slug in found],
        )


# --- the table ----------------------------------------------------------------------


@dataclass
class Row:
    """One row of the comparison: its labels and, per agency, what to show."""

    label: str  # the row's full name (part › labels), as the diff and the CSV name it
    labels: list  # the label dicts ({"text", "notes"}) shown in the row's header
    values: list  # per agency: a list of (column, cell) of the snapshot, or None (no such row)
    texts: list  # per agency: the row's words (the CSV's cells); "" where the row is missing
    summary: bool = False  # a checklist summary: its values are words, not cells

    @property
    def differs(self):
        return len(set(self.texts)) > 1


@dataclass
class Group:
    title: dict  # a label dict: the part's title, or the checklist's heading
    rows: list = field(default_factory=list)


@dataclass(frozen=True)
class Count:
    total: int
    done: int
    planned: int
    unanswered: int
    planned_items: tuple  # ("3.", "2027年3月") of each 実施予定 item

    @property
    def text(self):
        """「56項目中55項目実施済・1項目実施予定」."""
        words = f"{self.total}項目中{self.done}項目実施済・{self.planned}項目実施予定"
        if self.unanswered:
            words += f"・{self.unanswered}項目未回答"
        return words

    @property
    def planned_text(self):
        """「実施予定: 3.(2027年3月)」, "" when none is planned."""
        if not self.planned_items:
            return ""
        return "実施予定: " + "、".join(f"{number}({time})" for number, time in self.planned_items)

    @property
    def full_text(self):
        return " ".join(words for words in (self.text, self.planned_text) if words)


def count_items(items):
    items = list(items)
    statuses = [item["status"] for item in items]
    return Count(
        total=len(items),
        done=statuses.count("done"),
        planned=statuses.count("planned"),
        unanswered=sum(1 for status in statuses if status not in ("done", "planned")),
        planned_items=tuple(
            (f"{item['number']}.", item["planned_time"]) for item in items if item["status"] == "planned"
        ),
    )


def checklist_counts(checklist):
    """(the whole checklist's Count, {section title: Count}) of a snapshot's checklist."""
    sections = {section["title"]: count_items(section["items"]) for section in checklist["sections"]}
    whole = count_items(item for section in checklist["sections"] for item in section["items"])
    return whole, sections


def cell_columns(part, row):
    """The row's cells, each with its column's heading (保険者, …) or ""."""
    columns = part["columns"] or [""] * len(row["cells"])
    return list(zip(columns, row["cells"]))


def row_text(values):
    return " / ".join(
        f"{column}: {cell_text(cell)}" if column else cell_text(cell) for column, cell in values
    )


CHECKLIST_WHOLE = "全体"
DIFFERS = "違いあり"


def comparison_groups(snapshots):
    """The table: the sheet's parts, then the checklist summary, one value per snapshot
    (in the given order). Rows are matched by their labels, which never change; a row
    one version lacks (an older layout) is shown as missing there."""
    width = len(snapshots)
    groups = {}
    rows = {}
    for index, snapshot in enumerate(snapshots):
        for part in snapshot["sheet"]["parts"]:
            group = groups.setdefault(part["title"]["text"], Group(part["title"]))
            for row in part["rows"]:
                label = row_label(part, row)
                if label not in rows:
                    rows[label] = Row(label, row["labels"] or [part["title"]], [None] * width, [""] * width)
                    group.rows.append(rows[label])
                values = cell_columns(part, row)
                rows[label].values[index] = values
                rows[label].texts[index] = row_text(values)

    # The checklist's own title (最低限のガイドライン遵守チェックリスト), per section (区分).
    title = {"text": snapshots[0]["checklist"]["template"]["title"], "notes": []}
    checklist = Group(title)
    for index, snapshot in enumerate(snapshots):
        whole, sections = checklist_counts(snapshot["checklist"])
        for heading, count in [(CHECKLIST_WHOLE, whole), *sections.items()]:
            label = f"{checklist.title['text']} › {heading}"
            if label not in rows:
                rows[label] = Row(label, [{"text": heading, "notes": []}], [None] * width, [""] * width, True)
                checklist.rows.append(rows[label])
            rows[label].values[index] = count
            rows[label].texts[index] = count.full_text
    return [*groups.values(), checklist]


def csv_value(value):
    """A cell that a spreadsheet would read as a formula (= + - @, or a tab or carriage
    return before one) is written with a leading quote: text, never run."""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def comparison_csv(agencies, groups, facts):
    """The table as CSV text (UTF-8 with BOM when encoded, so that Excel reads it):
    a heading row, the versions' facts, then every row of the page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    rows = [["見出し", "項目", *(agency.title for agency in agencies), "違い"]]
    rows.extend(["公開版", label, *values, ""] for label, values in facts)
    for group in groups:
        for row in group.rows:
            labels = " › ".join(label["text"] for label in row.labels)
            rows.append([group.title["text"], labels, *row.texts, DIFFERS if row.differs else ""])
    writer.writerows([csv_value(value) for value in row] for row in rows)
    return "\ufeff" + buffer.getvalue()


# --- the views -----------------------------------------------------------------------

# Bumped when the page's or the CSV's layout changes: part of every ETag and cache key.
RENDERING_REVISION = "2"
BODY_SECONDS = 3600
INCOMPLETE = f"比較する代行機関を{MIN_AGENCIES}〜{MAX_AGENCIES}機関選んでください。"


def current_versions(slugs=None):
    """The current version of every organisation (of those named by `slugs`), by name;
    snapshot and PDF are read only to build a body the cache does not hold yet."""
    versions = Publication.objects.current().select_related("organization").defer("snapshot", "pdf")
    if slugs is not None:
        versions = versions.filter(organization__slug__in=slugs)
    return list(versions.order_by("title", "organization__slug"))


def chosen_versions(request, *, at_least=0):
    """The chosen current versions, in the visitor's order (one query, none for no
    choice); SelectionError if they cannot be compared or are fewer than `at_least`."""
    slugs = selected_slugs(request.GET, request.META.get("QUERY_STRING", ""))
    check_count(slugs)
    if len(slugs) < at_least:
        raise SelectionError(INCOMPLETE, slugs)
    by_slug = {version.organization.slug: version for version in current_versions(slugs)} if slugs else {}
    check_found(slugs, by_slug)
    return [by_slug[slug] for slug in slugs]


def version_identity(versions):
    return ";".join(
        f"{version.organization_id}:{version.number}:{version.snapshot_sha256[:16]}" for version in versions
    )


def entity_tag(variant, *parts):
    """The ETag (unquoted) and cache key of a body: from the combination of versions
    shown, so that a new current version of any of them gives another (for the page,
    also the public cache's generation, which every publication bumps: its form)."""
    digest = hashlib.sha256("|".join([RENDERING_REVISION, variant, *parts]).encode()).hexdigest()
    return f"compare-{variant}-{digest[:32]}"


def with_snapshots(chosen):
    """The chosen versions again, with their snapshot and PDF (one query), checked
    against their hashes: PublicationAltered for one that no longer matches."""
    full = Publication.objects.select_related("organization").in_bulk([version.pk for version in chosen])
    versions = [full[version.pk] for version in chosen]
    for version in versions:
        version.verify_artefacts()
    return versions


def version_facts(versions):
    """(label, value per version): which version each column is, under the model's words."""
    field = Publication._meta.get_field
    return [
        (field("number").verbose_name, [f"第{version.number}版" for version in versions]),
        (
            field("sheet_updated_on").verbose_name,
            [japanese_date(version.sheet_updated_on) for version in versions],
        ),
        (
            field("checklist_updated_on").verbose_name,
            [japanese_date(version.checklist_updated_on) for version in versions],
        ),
    ]


def query_for(versions):
    return urlencode([(PARAMETER, version.organization.slug) for version in versions])


def cached_response(request, tag, build, content_type, *, compressible=True):
    """200 with the body built once per combination of versions (kept in the cache), or
    304 when the client has it; public for 60 s, as the agencies' pages. A compressible
    body goes gzipped to clients that accept it, compressed once and cached too, under
    an ETag of its own (as views.conditional() does for the agencies' pages)."""
    gzipped = compressible and public_cache.accepts_gzip(request)
    etag = f'"{tag}-gzip"' if gzipped else f'"{tag}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        try:
            response = stored_body_response(
                f"disclosure:compare:{tag}", build, content_type, gzipped=gzipped, timeout=BODY_SECONDS
            )
        except PublicationAltered as error:
            return altered_publication_response(request, error)
    if compressible:
        patch_vary_headers(response, ("Accept-Encoding",))
    response.headers["ETag"] = etag
    patch_cache_control(response, public=True, max_age=60)
    return response


def selection_context(versions, *, chosen_slugs=(), message="", problem=False, table=None):
    """What templates/disclosures/compare.html needs: the form (every organisation with a
    current version, the chosen ones ticked), a message, and the table if any."""
    return {
        "versions": versions,
        "chosen_slugs": set(chosen_slugs),
        "message": message,
        "problem": problem,  # a refusal (400), not a request for more
        "min_agencies": MIN_AGENCIES,
        "max_agencies": MAX_AGENCIES,
        "parameter": PARAMETER,
        **(table or {}),
    }


def refusal(request, versions, error):
    """The page with the form and the reason, never cached: a 400."""
    context = selection_context(versions, chosen_slugs=error.slugs, message=error.message, problem=True)
    response = render(request, "disclosures/compare.html", context, status=400)
    patch_cache_control(response, no_cache=True, max_age=0)
    return response


def table_context(chosen):
    agencies = with_snapshots(chosen)
    groups = comparison_groups([agency.snapshot for agency in agencies])
    for group in groups:
        for row in group.rows:
            row.entries = list(zip(agencies, row.values))
    differing = sum(row.differs for group in groups for row in group.rows)
    return {
        "agencies": agencies,
        "groups": groups,
        "facts": [(label, list(zip(agencies, values))) for label, values in version_facts(agencies)],
        "differing_rows": differing,
        "csv_url": f"{reverse('disclosures:compare_csv')}?{query_for(agencies)}",
    }


@require_safe
def compare_page(request):
    """/compare/?o=a&o=b: the chosen agencies side by side, with the form to choose."""
    # The form lists every organisation with a current version: the generation of the
    # public cache (publish() bumps it) versions the page for them, read first, as
    # current_version.py reads it, so that the list need not be read unless the body is
    # built. The chosen versions are read on every request, by slug (one query).
    generation = public_cache.generation()
    try:
        chosen = chosen_versions(request)
    except SelectionError as error:
        return refusal(request, current_versions(), error)
    slugs = [version.organization.slug for version in chosen]
    comparing = len(chosen) >= MIN_AGENCIES
    message = "" if comparing or not chosen else INCOMPLETE

    def build():
        table = table_context(chosen) if comparing else None
        context = selection_context(current_versions(), chosen_slugs=slugs, message=message, table=table)
        return render_to_string("disclosures/compare.html", context, request)

    tag = entity_tag("page", str(generation), version_identity(chosen))
    return cached_response(request, tag, build, "text/html; charset=utf-8")


@require_safe
def compare_csv(request):
    """/compare/csv/?o=a&o=b: the page's table as a CSV file (UTF-8 with BOM)."""
    try:
        chosen = chosen_versions(request, at_least=MIN_AGENCIES)
    except SelectionError as error:
        return refusal(request, current_versions(), error)

    def build():
        table = table_context(chosen)
        facts = [(label, [value for _, value in values]) for label, values in table["facts"]]
        return comparison_csv(table["agencies"], table["groups"], facts).encode("utf-8")

    tag = entity_tag("csv", version_identity(chosen))
    # Not compressed: a download, which browsers save as received.
    response = cached_response(request, tag, build, "text/csv; charset=utf-8", compressible=False)
    name = "compare-" + "-".join(version.organization.slug for version in chosen)[:150] + ".csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
