"""The one builder from draft models to a snapshot: plain JSON-able data.

Every output (page, PDF, JSON, diff) is made from a snapshot, never from the
models, so a published version can be shown again exactly after the draft, the
checklist template or the code's labels have changed. The shape is described
by disclosures/schema/snapshot-v1.schema.json.
"""

import datetime

from checklist.models import Compliance, compliance_of

from .digests import canonical_json, sha256_of  # noqa: F401 (the snapshot's hash, used from here)
from .formatting import japanese_date  # noqa: F401  (re-exported for older imports)
from .layout import COMPLIANCE_FIELD, SHEET_LAYOUT, sheet_fields
from .models import DisclosureSheet
from .notes import SHEET_INSTRUCTIONS, SHEET_NOTES, SHEET_TITLE, UPDATE_INSTRUCTION

SCHEMA_VERSION = 1


def build_snapshot(sheet, answers=None):
    """The sheet with its checklist's answers (`answers`: other answers of that
    checklist, unsaved, as an upload proposes them)."""
    answers = list(sheet.checklist.ordered_answers() if answers is None else answers)
    values = sheet_values(sheet)
    values[COMPLIANCE_FIELD] = compliance_of(a.status for a in answers) or ""
    return {
        "schema_version": SCHEMA_VERSION,
        "organization": {"slug": sheet.organization.slug, "name": sheet.organization.name},
        "sheet": {
            "title": SHEET_TITLE,
            "instructions": list(SHEET_INSTRUCTIONS),
            "update_instruction": UPDATE_INSTRUCTION,
            "values": values,
            "parts": [part_snapshot(part, values) for part in SHEET_LAYOUT],
            "notes": [{"number": n, "text": text} for n, text in SHEET_NOTES.items()],
        },
        "checklist": checklist_snapshot(sheet.checklist.template, answers, values[COMPLIANCE_FIELD]),
    }


def sheet_values(sheet):
    values = {}
    for name in sheet_fields():
        value = getattr(sheet, name)
        if isinstance(value, datetime.date):
            value = value.isoformat()
        values[name] = value
    return values


def field_choices(name):
    if name == COMPLIANCE_FIELD:
        return Compliance.choices
    field = DisclosureSheet._meta.get_field(name)
    return list(field.choices or field.choice_options)


def part_snapshot(part, values):
    return {
        "title": label_snapshot(part.title),
        "columns": list(part.columns),
        "notes": list(part.notes),
        "rows": [
            {
                "labels": [label_snapshot(label) for label in row.labels],
                "cells": [cell.snapshot(values, field_choices) for cell in row.cells],
            }
            for row in part.rows
        ],
    }


def label_snapshot(label):
    return {"text": label.text, "notes": list(label.notes)}


def checklist_snapshot(template, answers, compliance):
    sections = []
    for answer in answers:
        item, section = answer.item, answer.item.section
        if not sections or sections[-1]["order"] != section.order:
            sections.append({"order": section.order, "title": section.title, "items": [], "notes": []})
        current = sections[-1]
        current["items"].append(
            {
                "number": item.number,
                "text": item.text,
                "sub_items": list(item.sub_items),
                "note": item.note.number if item.note else None,
                "status": answer.status,
                "planned_time": answer.planned_time_display,
            }
        )
        if item.note and all(n["number"] != item.note.number for n in current["notes"]):
            current["notes"].append({"number": item.note.number, "text": item.note.text})
    return {
        "template": {
            "code": template.code,
            "guideline_title": template.guideline_title,
            "title": template.title,
            "preamble": template.preamble,
            "instructions": template.instruction_lines(),
        },
        "compliance": compliance,
        "sections": sections,
    }


def document_digests(snapshot):
    """Per-document content digests: each 最終更新日 moves only with its own content."""
    return sha256_of(snapshot["sheet"]["values"]), sha256_of(snapshot["checklist"])


# --- reading a snapshot ---


def row_label(part, row):
    return " › ".join([part["title"]["text"], *(label["text"] for label in row["labels"])])
