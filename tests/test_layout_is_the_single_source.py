"""The layout (disclosures/layout.py) is the one place the form's labels, note
references and cell kinds are written; tick boxes and dates are written once."""

import ast
import datetime
import re
from pathlib import Path

import pytest
from django.template import Context, Template

from disclosures.cells import CELL_KINDS, Cell, cell_text, kind_of
from disclosures.formatting import box, japanese_date
from disclosures.layout import COMPLIANCE_FIELD, SHEET_LAYOUT, field_label, field_notes, sheet_fields
from disclosures.models import DisclosureSheet
from disclosures.notes import note_help

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("disclosures", "checklist", "disclosure_portal", "subscriptions", "templates", "scripts")


def source_files():
    """Every .py and .html file of the code base but tests, fixtures and migrations."""
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*")):
            if path.suffix in (".py", ".html") and "migrations" not in path.parts:
                yield path


def written_text(path):
    """What a file writes: a module's string literals (each in quotes, f-strings'
    parts included) without its docstrings and comments; a template without its
    {% comment %} blocks. Comments and docstrings may name a label to explain code."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        return re.sub(r"{% comment %}.*?{% endcomment %}|{#.*?#}", "", text, flags=re.S)
    tree = ast.parse(text)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return "\n".join(
        f'"{node.value}"'
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


SOURCES = {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in source_files()}
WRITTEN = {path.relative_to(ROOT).as_posix(): written_text(path) for path in source_files()}


def layout_labels():
    """Every word the layout prints around the values: part titles, row labels,
    column headings, captions and the names of typed details (not the units
    人, 件, 箇所: counter words every Japanese sentence with a number uses)."""
    labels = set()
    for part in SHEET_LAYOUT:
        labels.add(part.title.text)
        labels.update(part.columns)
        for row in part.rows:
            labels.update(label.text for label in row.labels)
            for cell in row.cells:
                labels.update(word for word in (cell.caption,) if word)
                labels.update(detail.label for detail in getattr(cell, "details", ()))
    return labels


# The same words with another meaning: the form's options (the choices in
# models.py) and its notes and instructions (notes.py, the form's running text).
OTHER_MEANINGS = {
    ("その他", "disclosures/models.py"): "the option その他 of 提供するサービス 内容",
    ("オンライン", "disclosures/models.py"): "the option オンライン of データ授受の方法",
    ("オフライン", "disclosures/models.py"): "the option オフライン of データ授受の方法",
    (
        "健診・保健指導機関",
        "disclosures/models.py",
    ): "options 健診・保健指導機関サイド（…）, 健診・保健指導機関向け",
    ("代行機関コード", "disclosures/notes.py"): "注2) 発行した代行機関コードを記載。",
    ("健診・保健指導機関", "disclosures/notes.py"): "注3) 「健診・保健指導機関サイド」とは…",
    (
        "ガイドラインの遵守",
        "disclosures/notes.py",
    ): "*ガイドラインの遵守状況については別添指定様式に記載すること。",
}


def files_writing(label):
    """Files where `label` is a whole string (in quotes or 「」, or a template's
    text between tags), or, for a label of five characters or more, appears at all."""
    whole = re.compile(rf"""["'「>]\s*{re.escape(label)}[\s:]*["'」<]""")  # "回線種別 ", "内容:"
    return sorted(
        name
        for name, text in WRITTEN.items()
        if (whole.search(text) or (len(label) >= 5 and label in text)) and (label, name) not in OTHER_MEANINGS
    )


@pytest.mark.parametrize("label", sorted(layout_labels()))
def test_every_label_of_the_form_is_written_in_the_layout_only(label):
    assert files_writing(label) == ["disclosures/layout.py"]


@pytest.mark.parametrize("name", sheet_fields())
def test_model_verbose_names_are_the_labels_of_the_layout(name):
    assert DisclosureSheet._meta.get_field(name).verbose_name == field_label(name)


def test_every_field_of_the_layout_is_a_model_field_and_back():
    not_on_the_form = ("id", "organization", "checklist", "updated_at")
    model_fields = [f.name for f in DisclosureSheet._meta.concrete_fields if f.name not in not_on_the_form]
    assert sorted(sheet_fields()) == sorted(model_fields)


@pytest.mark.parametrize("name", [n for n in sheet_fields() if n != "facility_prefectures"])
def test_help_texts_quote_the_notes_the_layout_attaches(name):
    assert DisclosureSheet._meta.get_field(name).help_text == note_help(*field_notes(name))


def test_the_notes_of_a_row_govern_each_of_its_fields():
    assert field_notes("staff_dedicated_own") == (4, 5)  # 従事する職員の数注4)注5)
    assert field_notes("fee_unit_insurer") == (10, 11)  # 事務手数料等注10) › 従量単価注11)
    assert field_notes(COMPLIANCE_FIELD) == (8,)
    assert field_notes("hours_office") == ()


def test_note_markers_are_read_from_the_layout_not_searched_in_help_texts():
    assert not any("in f.help_text" in text or ".help_text for" in text for text in SOURCES.values())


# --- cell kinds -------------------------------------------------------------------


def test_every_cell_of_the_layout_is_of_a_kind_with_a_class_and_a_template():
    from django.template.loader import get_template

    for part in SHEET_LAYOUT:
        for row in part.rows:
            for cell in row.cells:
                assert isinstance(cell, Cell) and CELL_KINDS[cell.kind] is type(cell)
    for kind, cls in CELL_KINDS.items():
        assert get_template(cls.template_name), kind


def test_no_module_or_template_but_the_cell_classes_switches_on_a_cells_kind():
    switch = re.compile(r"""(kind\s*==|\[["']kind["']\]\s*==|kind\s+in\s)""")
    assert [name for name, text in SOURCES.items() if switch.search(text)] == []


def test_a_cell_reads_from_its_snapshot_data_as_published():
    count = {
        "kind": "count",
        "field": "x",
        "caption": "年間",
        "value": 1200,
        "unit": "件",
        "display": "1,200",
    }
    options = {
        "kind": "options",
        "field": "y",
        "caption": "",
        "options": [
            {"value": "yes", "label": "有", "checked": True, "detail_words": "内容:", "detail": "健診"},
            {"value": "no", "label": "無", "checked": False},
        ],
    }
    assert kind_of(count).kind == "count"
    assert cell_text(count) == "年間 1,200件"
    assert cell_text(options) == "■有(内容:健診) □無"
    parenthesized = {
        "kind": "text",
        "field": "z",
        "caption": "都道府県名",
        "parenthesized": True,
        "value": "東京都",
    }
    assert cell_text(parenthesized) == "(都道府県名:東京都)"


# --- tick boxes and dates -----------------------------------------------------------


def test_tick_boxes_are_written_in_one_module():
    writers = [name for name, text in SOURCES.items() if "■" in text or "□" in text]
    # notes.py quotes the form's own instruction 「□を■にするか…」.
    assert writers == ["disclosures/formatting.py", "disclosures/notes.py"]
    assert (box(True), box(False)) == ("■", "□")


def test_the_japanese_date_format_is_djangos_and_written_nowhere_here():
    assert [name for name, text in SOURCES.items() if "年n月j日" in text] == []
    day = datetime.date(2022, 4, 1)
    assert japanese_date(day) == "2022年4月1日"
    assert Template("{{ day|date }}").render(Context({"day": day})) == "2022年4月1日"


def test_the_japanese_date_does_not_depend_on_the_active_language():
    from django.utils import translation

    with translation.override("en"):
        assert japanese_date(datetime.date(2022, 4, 1)) == "2022年4月1日"
