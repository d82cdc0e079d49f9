"""The one builder from draft models to a snapshot: plain JSON-able data.

Every output (page, PDF, JSON, diff) is made from a snapshot, never from the
models, so a published version can be shown again exactly after the draft, the
checklist template or the code's labels have changed. The shape is described
by disclosures/schema/snapshot-v1.schema.json.
"""

import datetime

from django.utils import formats

from checklist.models import Compliance, compliance_of

from .digests import canonical_json, sha256_of  # noqa: F401 (the snapshot's hash, used from here)
from .layout import COMPLIANCE_FIELD, SHEET_LAYOUT, sheet_fields
from .models import DisclosureSheet
from .notes import SHEET_INSTRUCTIONS, SHEET_NOTES, SHEET_TITLE, UPDATE_INSTRUCTION

SCHEMA_VERSION = 1


def japanese_date(value):
    """2022年4月1日, as the form writes dates."""
    return formats.date_format(value, "Y年n月j日")


def build_snapshot(sheet):
    answers = list(sheet.checklist.ordered_answers())
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
                "cells": [cell_snapshot(cell, values) for cell in row.cells],
            }
            for row in part.rows
        ],
    }


def label_snapshot(label):
    return {"text": label.text, "notes": list(label.notes)}


def cell_snapshot(cell, values):
    value = values[cell.field]
    data = {"kind": cell.kind, "field": cell.field, "caption": cell.caption}
    if cell.parenthesized:
        data["parenthesized"] = True
    if cell.kind == "options":
        chosen = value if isinstance(value, list) else [value] if value else []
        details = {choice: (field, words) for choice, field, words in cell.details}
        data["options"] = []
        for choice, label in field_choices(cell.field):
            option = {"value": choice, "label": label, "checked": choice in chosen}
            if choice in details:
                field, words = details[choice]
                option.update(detail_words=words, detail=values[field])
            data["options"].append(option)
    elif cell.kind == "count":
        data.update(value=value, unit=cell.unit, display=cell.blank if value is None else f"{value:,}")
    elif cell.kind == "date":
        data.update(
            value=value,
            display=japanese_date(datetime.date.fromisoformat(value)) if value else "",
        )
    else:
        data["value"] = value
    return data


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
                "planned_time": answer.planned_time,
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


# --- reading a snapshot: the words of a cell, for the diff and plain text ---


def option_text(option):
    text = ("■" if option["checked"] else "□") + option["label"]
    if "detail" in option:
        text += f"({option['detail_words']}{option['detail']})"
    return text


def cell_text(cell):
    prefix = f"{cell['caption']} " if cell["caption"] else ""
    if cell.get("parenthesized"):
        return f"({cell['caption']}:{cell['value'] or ''})"
    if cell["kind"] == "options":
        return " ".join(option_text(option) for option in cell["options"])
    if cell["kind"] == "count":
        return f"{prefix}{cell['display']}{cell['unit']}"
    if cell["kind"] == "date":
        return prefix + cell["display"]
    return prefix + (cell["value"] or "")


def row_label(part, row):
    return " › ".join([part["title"]["text"], *(label["text"] for label in row["labels"])])
