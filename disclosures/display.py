"""Arranging a snapshot for the document templates (page, preview and PDF).

Only table geometry is computed here (which label cells span which rows);
every word comes from the snapshot.
"""

import datetime

from .formatting import japanese_date


def sheet_parts(snapshot):
    notes = {note["number"]: note["text"] for note in snapshot["sheet"]["notes"]}
    return [arrange_part(part, notes) for part in snapshot["sheet"]["parts"]]


def arrange_part(part, notes):
    depth = max((len(row["labels"]) for row in part["rows"]), default=0)
    rows = []
    for index, row in enumerate(part["rows"]):
        label_cells = []
        for level, label in enumerate(row["labels"]):
            # A label shared with the rows above (従事する職員の数 over 専任 and 兼任)
            # is printed once, spanning them.
            if level < len(row["labels"]) - 1 and index and same_prefix(part["rows"][index - 1], row, level):
                continue
            span = 1
            if level < len(row["labels"]) - 1:
                while index + span < len(part["rows"]) and same_prefix(
                    part["rows"][index + span], row, level
                ):
                    span += 1
            colspan = depth - len(row["labels"]) + 1 if level == len(row["labels"]) - 1 else 1
            label_cells.append({"label": label, "rowspan": span, "colspan": colspan, "level": level + 1})
        rows.append({"labels": label_cells, "cells": row["cells"], "label_depth": depth})
    return {
        "title": part["title"],
        "columns": part["columns"],
        "rows": rows,
        "depth": depth,
        "levels": list(range(1, depth + 1)),  # the label columns (the PDF sets their widths)
        "row_count": len(rows) + (1 if part["columns"] else 0),
        "notes": [{"number": n, "text": notes[n]} for n in part["notes"]],
    }


def same_prefix(other, row, level):
    """Whether `other` shares row's labels up to and including `level`."""
    if len(other["labels"]) - 1 <= level:  # the label at `level` is other's last
        return False
    return [label["text"] for label in other["labels"][: level + 1]] == [
        label["text"] for label in row["labels"][: level + 1]
    ]


def document_context(snapshot, *, version=None, sheet_updated_on=None, checklist_updated_on=None):
    """What templates/disclosures/document.html needs."""
    return {
        "snapshot": snapshot,
        "sheet": snapshot["sheet"],
        "parts": sheet_parts(snapshot),
        "checklist": snapshot["checklist"],
        "version": version,
        "sheet_updated_on": as_japanese_date(sheet_updated_on),
        "checklist_updated_on": as_japanese_date(checklist_updated_on),
    }


def as_japanese_date(value):
    if isinstance(value, datetime.date):
        return japanese_date(value)
    return value or ""
