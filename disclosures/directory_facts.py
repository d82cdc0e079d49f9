"""What the directory knows of a published version, read once from its snapshot.

publish() stores these facts next to the version (DirectoryEntry) so that the
directory filters and searches indexed columns instead of reading ~50 KB of JSON
per organisation and request; the data migration fills them for older versions
with the same functions. Nothing here imports a model: a migration may call it.

The checklist summary (「56項目中55項目実施済・1項目実施予定（最終の実施予定 2027年3月）」)
is computed here too, in one function, for the agency page and the directory.
"""

import re
import unicodedata
from dataclasses import dataclass

from .layout import COMPLIANCE_FIELD
from .prefectures import PREFECTURES, prefecture_names

DONE, PLANNED = "done", "planned"


# --- the checklist summary -----------------------------------------------------------


@dataclass(frozen=True)
class ChecklistSummary:
    total: int
    done: int
    planned: int
    latest_planned_time: str  # the latest 実施時期 as written ("" if nothing is planned)

    @property
    def text(self):
        """56項目中55項目実施済・1項目実施予定（最終の実施予定 2027年3月）."""
        words = f"{self.total}項目中{self.done}項目実施済"
        if self.planned:
            words += f"・{self.planned}項目実施予定"
            if self.latest_planned_time:
                words += f"（最終の実施予定 {display_planned_time(self.latest_planned_time)}）"
        return words


def checklist_summary(snapshot):
    """The summary of a published checklist, from the snapshot."""
    items = [item for section in snapshot["checklist"]["sections"] for item in section["items"]]
    planned_times = [item["planned_time"] for item in items if item["status"] == PLANNED]
    return ChecklistSummary(
        total=len(items),
        done=sum(1 for item in items if item["status"] == DONE),
        planned=len(planned_times),
        latest_planned_time=latest_planned_time(planned_times),
    )


# 2027年3月, 2027年3月末, 2027/3, 2027-03, 2027.3: a year and a month. 令和9年3月 and
# 2027年度 too (a 年度 ends in March of the next year).
_YEAR_MONTH = re.compile(r"(?P<year>\d{4})\s*(?:年\s*|[/\-.])\s*(?P<month>\d{1,2})(?!\d)")
_REIWA = re.compile(r"令和\s*(?P<year>\d{1,2}|元)\s*年\s*(?P<month>\d{1,2})?")
_FISCAL_YEAR = re.compile(r"(?P<year>\d{4})\s*年度")
_YEAR = re.compile(r"(?P<year>\d{4})\s*年(?!\s*(?:度|\d))")
_ISO_YEAR_MONTH = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})")


def planned_month(text):
    """(year, month) of a 実施時期 written as free text, or None if none can be read.

    A bare year counts as its December; a fiscal year (年度) as the March after it.
    """
    text = unicodedata.normalize("NFKC", text or "")
    candidates = []
    for match in _YEAR_MONTH.finditer(text):
        month = int(match["month"])
        if 1 <= month <= 12:
            candidates.append((int(match["year"]), month))
    for match in _REIWA.finditer(text):
        year = 2018 + (1 if match["year"] == "元" else int(match["year"]))
        month = int(match["month"]) if match["month"] else 12
        if 1 <= month <= 12:
            candidates.append((year, month))
    if not candidates:
        candidates += [(int(m["year"]) + 1, 3) for m in _FISCAL_YEAR.finditer(text)]
    if not candidates:
        candidates += [(int(m["year"]), 12) for m in _YEAR.finditer(text)]
    return max(candidates, default=None)


def latest_planned_time(planned_times):
    """The latest of the 実施時期 as written: the latest readable one; if none can be
    read, the last one given (the form's order)."""
    written = [text.strip() for text in planned_times if text and text.strip()]
    readable = [(planned_month(text), index, text) for index, text in enumerate(written)]
    readable = [entry for entry in readable if entry[0] is not None]
    if readable:
        return max(readable)[2]
    return written[-1] if written else ""


def display_planned_time(text):
    """A 実施時期 as shown: year-month data ("2027-03") in words (2027年3月), free text as written."""
    match = _ISO_YEAR_MONTH.fullmatch(text)
    if match:
        return f"{int(match['year'])}年{int(match['month'])}月"
    return text


# --- the directory's facets and search text ---------------------------------------------


def normalize_for_search(text):
    """Full-width and half-width alike, case folded: how stored text and queries are compared."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def joined(codes):
    """Codes as one column a LIKE can match exactly: |insurer|institution| (contains "|insurer|")."""
    return "|" + "|".join(codes) + "|" if codes else ""


def split_joined(value):
    return [code for code in (value or "").split("|") if code]


def published_texts(snapshot):
    """Every text value a visitor reads on the page: the organisation's name, each cell's
    words (the labels of ticked boxes and the details typed into them) and every 実施時期."""
    texts = [snapshot["organization"]["name"]]
    for part in snapshot["sheet"]["parts"]:
        for row in part["rows"]:
            for cell in row["cells"]:
                if "options" in cell:
                    for option in cell["options"]:
                        if option["checked"]:
                            texts += [option["label"], option.get("detail") or ""]
                elif cell["kind"] in ("count", "date"):
                    texts.append(cell["display"])
                else:
                    texts.append(cell["value"] or "")
    for section in snapshot["checklist"]["sections"]:
        texts += [item["planned_time"] for item in section["items"]]
    return [text for text in texts if text]


def directory_facts(snapshot):
    """The DirectoryEntry fields of a version, from its snapshot."""
    values = snapshot["sheet"]["values"]
    summary = checklist_summary(snapshot)
    prefectures = [
        name for name in prefecture_names(values.get("facility_prefectures")) if name in PREFECTURES
    ]
    return {
        "service_targets": joined(values.get("service_targets") or []),
        "service_contents": joined(values.get("service_contents") or []),
        "service_contents_other": values.get("service_contents_other") or "",
        "prefectures": joined(dict.fromkeys(prefectures)),
        "compliance": values.get(COMPLIANCE_FIELD) or "",
        "checklist_total": summary.total,
        "checklist_done": summary.done,
        "checklist_planned": summary.planned,
        "latest_planned_time": summary.latest_planned_time,
        "search_text": "\n".join(normalize_for_search(text) for text in published_texts(snapshot)),
    }
