"""What changed between two snapshots, field by field and item by item, in the
form's own labels."""

from dataclasses import dataclass

from .cells import cell_text
from .formatting import box
from .snapshot import row_label


@dataclass(frozen=True)
class Change:
    label: str
    old: str | None  # None: not on the older version
    new: str | None  # None: no longer on the newer version


def sheet_rows(snapshot):
    """{label: (label, text)}: a sheet row is named by its labels, which never change."""
    rows = {}
    for part in snapshot["sheet"]["parts"]:
        columns = part["columns"]
        for row in part["rows"]:
            texts = [cell_text(cell) for cell in row["cells"]]
            if columns:
                texts = [f"{column}: {text}" for column, text in zip(columns, texts)]
            label = row_label(part, row)
            rows[label] = (label, " / ".join(texts))
    return rows


def answer_text(item):
    if item["status"] == "done":
        return f"{box(True)}実施済"
    if item["status"] == "planned":
        return f"{box(True)}実施予定({item['planned_time']})"
    return "未回答"


def checklist_rows(snapshot):
    """{key: (label, text)}: an item is matched by its section and number, and
    named by its number and its text, so that a reader knows which item it is."""
    rows = {}
    for section in snapshot["checklist"]["sections"]:
        for item in section["items"]:
            key = f"{section['title']} {item['number']}."
            rows[key] = (f"{key} {item['text']}", answer_text(item))
            rows[f"{key} チェック項目"] = (
                f"{key} チェック項目",
                "\n".join([item["text"], *item["sub_items"]]),
            )
    return rows


def compare(old_rows, new_rows):
    """The rows whose text differs, named as the newer version names them (the
    older one for a row no longer there)."""
    changes = []
    for key, (label, text) in new_rows.items():
        old = old_rows.get(key)
        old_text = old[1] if old else None
        if old_text != text:
            changes.append(Change(label, old_text, text))
    changes.extend(
        Change(label, text, None) for key, (label, text) in old_rows.items() if key not in new_rows
    )
    return changes


def diff_snapshots(old, new):
    """{"sheet": [Change], "checklist": [Change]} from `old` to `new`."""
    return {
        "sheet": compare(sheet_rows(old), sheet_rows(new)),
        "checklist": compare(checklist_rows(old), checklist_rows(new)),
    }
