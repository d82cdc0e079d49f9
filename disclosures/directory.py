"""The directory at /: every organisation's current version, filtered and searched.

Filters are plain GET parameters (a shareable URL, no JavaScript); a value the form
does not offer is reported in Japanese and left out, never an error page. The rows
are the DirectoryEntry (computed at publish time) of each version that
Publication.objects.current() (the one definition of "current") gives: one query
for the count and one for the page, whatever the number of organisations.
"""

from django import forms
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Q

from checklist.models import Compliance
from disclosure_portal.validators import validate_no_control_characters

from .directory_facts import normalize_for_search, split_joined
from .formatting import japanese_date
from .layout import COMPLIANCE_FIELD, field_label
from .models import SERVICE_CONTENTS, SERVICE_TARGETS, Classification, DirectoryEntry, Publication
from .prefectures import PREFECTURES

PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 100
SEARCH_MAX_TERMS = 10

ANY = ("", "すべて")
# How many agencies /compare/ compares and its parameter: the directory's cards are
# ticked for it. disclosures/comparison.py takes them from here (it imports this
# module through views, so this one cannot import it).
COMPARE_MIN, COMPARE_MAX = 2, 4
COMPARE_PARAMETER = "o"


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(
        label="キーワード",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        help_text="機関名や公開されている記載内容から探します。空白で区切ると、すべてを含む機関だけを表示します。",
        # No published text holds one (publishing refuses them): said, rather than no result.
        validators=[validate_no_control_characters],
    )
    classification = forms.ChoiceField(
        label=field_label("classification"), required=False, choices=[ANY, *Classification.choices]
    )
    target = forms.ChoiceField(
        label=field_label("service_targets"), required=False, choices=[ANY, *SERVICE_TARGETS]
    )
    content = forms.ChoiceField(
        label=field_label("service_contents"), required=False, choices=[ANY, *SERVICE_CONTENTS]
    )
    prefecture = forms.ChoiceField(
        label=field_label("facility_prefectures"),
        required=False,
        choices=[ANY, *((name, name) for name in PREFECTURES)],
    )
    compliance = forms.ChoiceField(
        label=field_label(COMPLIANCE_FIELD), required=False, choices=[ANY, *Compliance.choices]
    )

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        for field in self.fields.values():
            field.error_messages["invalid_choice"] = (
                "「%(value)s」は選べません。この条件では絞り込まずに表示しています。"
            )
        self.fields["q"].error_messages["max_length"] = (
            f"{SEARCH_MAX_LENGTH}文字以内で入力してください。キーワードでは絞り込まずに表示しています。"
        )
        # Django's own Japanese for a NUL reads "type some characters": say what it is.
        for code in ("control_character", "null_characters_not_allowed"):
            self.fields["q"].error_messages[code] = (
                "制御文字など表示できない文字が含まれています。キーワードでは絞り込まずに表示しています。"
            )

    def filters(self):
        """The valid conditions: {name: value}; invalid ones are left out (and in self.errors)."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}


def search_terms(query):
    return normalize_for_search(query).split()[:SEARCH_MAX_TERMS]


def directory_queryset(filters):
    """The entries of the current versions that match `filters` (DirectoryFilterForm.filters()),
    by name. "Current" is Publication.objects.current()'s; its versions are picked by their
    primary key, which SQLite reads from the index of (organization, number) alone."""
    current = Publication.objects.current().values("pk")
    entries = (
        DirectoryEntry.objects.filter(publication__in=current)
        .select_related("organization")
        .only("organization__slug", *ENTRY_FIELDS)
        .order_by("title", "organization__slug")
    )
    conditions = Q()
    if "classification" in filters:
        conditions &= Q(classification=filters["classification"])
    if "target" in filters:
        conditions &= Q(service_targets__contains=f"|{filters['target']}|")
    if "content" in filters:
        conditions &= Q(service_contents__contains=f"|{filters['content']}|")
    if "prefecture" in filters:
        conditions &= Q(prefectures__contains=f"|{filters['prefecture']}|")
    if "compliance" in filters:
        conditions &= Q(compliance=filters["compliance"])
    for term in search_terms(filters.get("q", "")):
        conditions &= Q(search_text__contains=term)
    return entries.filter(conditions)


ENTRY_FIELDS = (
    "publication_id",
    "organization_id",
    "number",
    "title",
    "classification",
    "sheet_updated_on",
    "checklist_updated_on",
    "service_targets",
    "service_contents",
    "service_contents_other",
    "prefectures",
    "compliance",
    "checklist_total",
    "checklist_done",
    "checklist_planned",
    "latest_planned_time",
)


def labels_of(joined, choices):
    labels = dict(choices)
    return [labels.get(code, code) for code in split_joined(joined)]


def directory_row(entry):
    """What a row shows of a version, as text: its entry's columns, none of them from
    the snapshot (worked out here rather than by template filters: 50 rows a page)."""
    contents = labels_of(entry.service_contents, SERVICE_CONTENTS)
    if entry.service_contents_other and "other" in split_joined(entry.service_contents):
        other = dict(SERVICE_CONTENTS)["other"]
        contents = [f"{other}（{entry.service_contents_other}）" if c == other else c for c in contents]
    return {
        "url": entry.organization.get_absolute_url(),
        "slug": entry.organization.slug,
        "name": entry.title,
        "number": entry.number,
        "classification": entry.get_classification_display(),
        "targets": "、".join(labels_of(entry.service_targets, SERVICE_TARGETS)) or "—",
        "contents": "、".join(contents) or "—",
        "prefectures": "、".join(split_joined(entry.prefectures)) or "—",
        "compliance": COMPLIANCE_LABELS.get(entry.compliance, ""),
        "summary": entry.checklist_summary.text,
        "sheet_updated_on": japanese_date(entry.sheet_updated_on),
        "checklist_updated_on": japanese_date(entry.checklist_updated_on),
    }


COMPLIANCE_LABELS = dict(Compliance.choices)
# The form's words for the row's values.
ROW_LABELS = {
    name: field_label(name)
    for name in (
        "classification",
        "service_targets",
        "service_contents",
        "facility_prefectures",
        COMPLIANCE_FIELD,
    )
}


def choice_filters(form, filters):
    """Each <select> of the form with its options, the valid chosen one selected (a value
    not offered selects すべて, as it does not filter)."""
    return [
        {
            "name": name,
            "id": f"id_{name}",
            "label": field.label,
            "options": [(value, label, value == filters.get(name, "")) for value, label in field.choices],
        }
        for name, field in form.fields.items()
        if isinstance(field, forms.ChoiceField)
    ]


def directory_page(params):
    """The directory's context for the GET parameters `params`."""
    form = DirectoryFilterForm(params)
    filters = form.filters()
    paginator = Paginator(directory_queryset(filters), PAGE_SIZE)
    page_number = params.get("page") or 1
    page_message = ""
    try:
        page = paginator.page(page_number)
    except InvalidPage:  # not a number, or past the last page: the first page, and say so
        page = paginator.page(1)
        page_message = f"「{str(page_number)[:20]}」ページはありません。1ページ目を表示しています。"
    query = params.copy()
    query.pop("page", None)
    return {
        "form": form,
        "choice_filters": choice_filters(form, filters),
        "filtered": bool(filters),
        "page": page,
        "rows": [directory_row(entry) for entry in page.object_list],
        "page_message": page_message,
        "query_without_page": query.urlencode(),
        "labels": ROW_LABELS,
        "compare_parameter": COMPARE_PARAMETER,
        "compare_min": COMPARE_MIN,
        "compare_max": COMPARE_MAX,
    }
