"""The sheet and its checklist as an Excel workbook (.xlsx, openpyxl), both ways.

Written from a snapshot, so a published version's file is that version's
content (never the draft), laid out like the form: the first worksheet has the
form's parts, labels (with their note markers), captions, tick boxes and notes,
each value on a line of its own (a cell's lines come from its kind,
disclosures/cells.py); the second the checklist (区分, 番号, 項目, 実施状況, 実施時期).
A hidden first column names what each value line holds (`name`,
`classification=insurer` for a box), so a file is read back by those names,
not by positions.

Staff download the draft the same way with the values they may edit in yellow,
unlocked cells (the rest protected) and a hidden worksheet whose signed marker
names the organisation and the format. An uploaded file is refused, changing
nothing, unless it is such a file of the same organisation, a real .xlsx within
2 MB (3 MB unpacked), without macros or formulas; its values then go
through the admin's forms (the sheet's form and each answer's), so the same
rules apply, and the draft changes only when the staff member confirms the diff.

A published version's file is the same bytes whenever it is built: the
workbook's dates and the zip entries' times are the version's publication time.
"""

import copy
import datetime
import io
import math
import unicodedata
import zipfile
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from checklist.models import Answer

from .cells import kind_of
from .diff import diff_snapshots
from .formatting import box, japanese_date
from .forms import AnswerForm, DisclosureSheetForm, ExactlyOneChoiceField
from .layout import COMPLIANCE_FIELD, SHEET_LAYOUT
from .models import DisclosureSheet
from .notes import SHEET_TITLE, note_marker
from .snapshot import build_snapshot, document_digests, field_choices

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMAT = "disclosure-portal-xlsx"
FORMAT_VERSION = 1
MARKER_SHEET = "portal"
MARKER_SALT = "disclosures.spreadsheet.marker"
CONFIRM_SALT = "disclosures.spreadsheet.confirm"
CONFIRM_SECONDS = 3600

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# Our files unpack to 205 KB at most (every text at its maximum); openpyxl takes
# about 0.6 s per MB to load, so 3 MB bounds an upload's cost. The sizes are read from the
# zip's directory before anything is unpacked; Python's zipfile never inflates an entry
# beyond its declared size (a lying entry fails its CRC check).
MAX_UNPACKED_BYTES = 3 * 1024 * 1024
MAX_ENTRIES = 100

# The worksheets' names (Excel allows no [ ] and at most 31 characters).
SHEET_NAME = SHEET_TITLE.partition("[")[0]
CHECKLIST_NAME = "チェックリスト"

KEY, PART, LABEL, SUBLABEL, CAPTION, VALUE, AFTER = range(1, 8)  # the sheet's columns
ITEM_KEY, SECTION, NUMBER, ITEM, STATUS, PLANNED_TIME = range(1, 7)  # the checklist's

EDITABLE_FILL = PatternFill("solid", fgColor="FFF2CC")
WRAP = Alignment(wrap_text=True, vertical="top")
BOLD = Font(bold=True)
STATUS_LABELS = dict(Answer.Status.choices)
STATUS_VALUES = {label: value for value, label in Answer.Status.choices}


# --- writing ----------------------------------------------------------------------


def publication_workbook(publication):
    """The version's .xlsx: from its snapshot, the same bytes every time."""
    published_at = publication.published_at
    heading = f"第{publication.number}版（公開日 {japanese_date(timezone.localdate(published_at))}）"
    return workbook_bytes(
        publication.snapshot,
        heading=heading,
        sheet_updated_on=japanese_date(publication.sheet_updated_on),
        checklist_updated_on=japanese_date(publication.checklist_updated_on),
        moment=published_at,
    )


def draft_workbook(sheet):
    """The draft's .xlsx for staff: editable values marked, the organisation signed in."""
    snapshot = build_snapshot(sheet)
    marker = signing.dumps(
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "organization": sheet.organization.slug,
            "digests": list(document_digests(snapshot)),
        },
        salt=MARKER_SALT,
    )
    return workbook_bytes(
        snapshot,
        heading="下書き（未公開）",
        sheet_updated_on="（公開時に決まります）",
        checklist_updated_on="（公開時に決まります）",
        moment=timezone.now(),
        marker=marker,
    )


def workbook_bytes(snapshot, *, heading, sheet_updated_on, checklist_updated_on, moment, marker=None):
    editable = marker is not None
    workbook = Workbook()
    write_sheet(workbook.active, snapshot, heading, sheet_updated_on, editable)
    write_checklist(workbook.create_sheet(CHECKLIST_NAME), snapshot, checklist_updated_on, editable)
    if editable:
        hidden = workbook.create_sheet(MARKER_SHEET)
        hidden.append([FORMAT, marker])
        hidden.sheet_state = "veryHidden"
    naive = timezone.make_naive(moment, datetime.UTC).replace(microsecond=0)
    workbook.properties.created = workbook.properties.modified = naive
    workbook.properties.creator = workbook.properties.lastModifiedBy = "disclosure-portal"
    workbook.properties.title = f"{snapshot['sheet']['title']} {snapshot['organization']['name']}"
    buffer = io.BytesIO()
    # ExcelWriter, not save_workbook(), which stamps the time of saving as "modified".
    archive = FixedTimeZipFile(buffer, "w", zipfile.ZIP_DEFLATED, moment=timezone.localtime(moment))
    ExcelWriter(workbook, archive).save()
    return buffer.getvalue()


class FixedTimeZipFile(zipfile.ZipFile):
    """A zip whose entries carry one given time (to the zip's two seconds), not the
    time they were written."""

    def __init__(self, *args, moment, **kwargs):
        self.date_time = (*moment.timetuple()[:5], moment.second // 2 * 2)
        super().__init__(*args, **kwargs)

    def write(self, filename, arcname=None, *args, **kwargs):
        # openpyxl writes each worksheet through a temporary file, whose mtime is now.
        with open(filename, "rb") as source:
            self.writestr(arcname or filename, source.read())

    def writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=self.date_time)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)


def put(worksheet, row, column, value, *, number_format=None, font=None, editable=False):
    """Write a value as it is: a string is text even when it starts with "=" (never a formula)."""
    cell = worksheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would take "=HYPERLINK(…)" for a formula
    cell.alignment = WRAP
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if editable:
        cell.fill = EDITABLE_FILL
        cell.protection = Protection(locked=False)
    return cell


def text_line(worksheet, row, text, *, last_column, font=None):
    """A line of running text across the visible columns (on both worksheets, from the second)."""
    put(worksheet, row, PART, text, font=font)
    worksheet.merge_cells(start_row=row, start_column=PART, end_row=row, end_column=last_column)
    return row + 1


def label_text(label):
    return " ".join([label["text"], *map(note_marker, label["notes"])])


def write_sheet(worksheet, snapshot, heading, updated_on, editable):
    worksheet.title = SHEET_NAME
    sheet = snapshot["sheet"]
    row = text_line(worksheet, 1, sheet["title"], last_column=AFTER, font=Font(bold=True, size=14))
    row = text_line(worksheet, row, f"{snapshot['organization']['name']} {heading}", last_column=AFTER)
    for line in sheet["instructions"]:
        row = text_line(worksheet, row, line, last_column=AFTER)
    put(worksheet, row, PART, "更新情報", font=BOLD)
    put(worksheet, row, LABEL, "最終更新日", font=BOLD)
    put(worksheet, row, SUBLABEL, updated_on)
    row = text_line(worksheet, row + 1, sheet["update_instruction"], last_column=AFTER)
    if editable:
        row = text_line(
            worksheet,
            row,
            f"黄色の欄だけを編集してください。選択肢は {box(True)}（選ぶ）か {box(False)}（選ばない）にします。"
            "保存したファイルを管理画面の「Excelから取り込む」でアップロードすると、変更点を確認してから下書きに反映できます。",
            last_column=AFTER,
            font=BOLD,
        )
    boxes = DataValidation(type="list", formula1=f'"{box(True)},{box(False)}"', allow_blank=True)
    boxes.error = f"{box(True)} か {box(False)} を選んでください。"
    notes = {note["number"]: note["text"] for note in sheet["notes"]}
    for part in sheet["parts"]:
        row += 1
        part_start = row
        spans = []  # (labels, first line, last line) of each of the form's rows
        for form_row in part["rows"]:
            row_start = row
            for index, cell in enumerate(form_row["cells"]):
                column = part["columns"][index] if part["columns"] else ""
                for line in kind_of(cell).lines(cell):
                    write_line(worksheet, row, line, column, editable, boxes)
                    column = ""  # the column's heading once, over its first line
                    row += 1
            spans.append(([label_text(label) for label in form_row["labels"]], row_start, row - 1))
        write_labels(worksheet, spans)
        put(worksheet, part_start, PART, label_text(part["title"]), font=BOLD)
        merge(worksheet, part_start, row - 1, PART)
        for number in part["notes"]:
            row = text_line(worksheet, row, f"{note_marker(number)} {notes[number]}", last_column=AFTER)
    if boxes.sqref:
        worksheet.add_data_validation(boxes)
    finish(worksheet, (4, 16, 26, 18, 18, 48, 26), editable)


def write_line(worksheet, row, line, column, editable, boxes):
    key = line_key(line) if line.field != COMPLIANCE_FIELD else ""  # 注8: computed, never typed
    editable = editable and bool(key)
    value = line.value
    if value is None and not editable:
        value = line.blank or None
    put(worksheet, row, KEY, key)
    put(worksheet, row, CAPTION, " ".join(words for words in (column, line.caption) if words))
    put(worksheet, row, VALUE, value, number_format=line.number_format, editable=editable)
    put(worksheet, row, AFTER, line.after)
    if line.choice and editable:
        boxes.add(worksheet.cell(row=row, column=VALUE))


def write_labels(worksheet, spans):
    """The labels of a part's rows, spanning their lines as the form's cells span
    rows: a first label shared by the rows below (従事する職員の数 over 専任 and
    兼任) once over all of them, a row's only label over both label columns."""
    index = 0
    while index < len(spans):
        labels, first, last = spans[index]
        if not labels:
            index += 1
            continue
        if len(labels) == 1:
            put(worksheet, first, LABEL, labels[0], font=BOLD)
            merge(worksheet, first, last, LABEL, SUBLABEL)
            index += 1
            continue
        group_end = index
        while group_end + 1 < len(spans) and spans[group_end + 1][0][:1] == labels[:1]:
            group_end += 1
        put(worksheet, first, LABEL, labels[0], font=BOLD)
        merge(worksheet, first, spans[group_end][2], LABEL)
        for sublabels, sub_first, sub_last in spans[index : group_end + 1]:
            put(worksheet, sub_first, SUBLABEL, " ".join(sublabels[1:]), font=BOLD)
            merge(worksheet, sub_first, sub_last, SUBLABEL)
        index = group_end + 1


def merge(worksheet, first, last, column, last_column=None):
    last_column = last_column or column
    if last > first or last_column > column:
        worksheet.merge_cells(start_row=first, start_column=column, end_row=last, end_column=last_column)


def line_key(line):
    """What a value line holds: a field, a box (field=choice), or a box's words (its field)."""
    if line.choice:
        return f"{line.field}={line.choice}"
    if line.detail_of:
        return DETAIL_FIELDS[line.field, line.detail_of]
    return line.field


DETAIL_FIELDS = {
    (cell.field, detail.choice): detail.field
    for part in SHEET_LAYOUT
    for row in part.rows
    for cell in row.cells
    for detail in getattr(cell, "details", ())
}


def item_key(section, item):
    """An item of the checklist, as the hidden key column names it: 1.5 (区分 1, No 5)."""
    return f"{section['order']}.{item['number']}"


def answer_key(answer):
    return f"{answer.item.section.order}.{answer.item.number}"


def write_checklist(worksheet, snapshot, updated_on, editable):
    checklist = snapshot["checklist"]
    template = checklist["template"]
    last = PLANNED_TIME
    row = text_line(worksheet, 1, f"別添 {template['guideline_title']}", last_column=last)
    row = text_line(worksheet, row, template["title"], last_column=last, font=Font(bold=True, size=14))
    if template["preamble"]:
        row = text_line(worksheet, row, template["preamble"], last_column=last)
    for line in template["instructions"]:
        row = text_line(worksheet, row, line, last_column=last)
    put(worksheet, row, SECTION, "更新情報", font=BOLD)
    put(worksheet, row, NUMBER, "最終更新日", font=BOLD)
    put(worksheet, row, ITEM, updated_on)
    row = text_line(worksheet, row + 1, snapshot["sheet"]["update_instruction"], last_column=last) + 1
    for column, heading in zip(
        (SECTION, NUMBER, ITEM, STATUS, PLANNED_TIME), ("区分", "番号", "項目", "実施状況", "実施時期")
    ):
        put(worksheet, row, column, heading, font=BOLD)
    worksheet.freeze_panes = worksheet.cell(row=row + 1, column=SECTION)
    row += 1
    statuses = DataValidation(type="list", formula1=f'"{",".join(STATUS_VALUES)}"', allow_blank=True)
    statuses.error = "「{}」か「{}」を選んでください。".format(*STATUS_VALUES)
    for section in checklist["sections"]:
        for item in section["items"]:
            text = "\n".join([item["text"], *item["sub_items"]])
            if item["note"]:
                text += f" {note_marker(item['note'])}"
            put(worksheet, row, ITEM_KEY, item_key(section, item))
            put(worksheet, row, SECTION, section["title"])
            put(worksheet, row, NUMBER, item["number"])
            put(worksheet, row, ITEM, text)
            put(worksheet, row, STATUS, STATUS_LABELS.get(item["status"], ""), editable=editable)
            put(worksheet, row, PLANNED_TIME, item["planned_time"], number_format="@", editable=editable)
            if editable:
                statuses.add(worksheet.cell(row=row, column=STATUS))
            row += 1
        for note in section["notes"]:
            row = text_line(worksheet, row, f"注{note['number']}: {note['text']}", last_column=last)
    if editable:
        worksheet.add_data_validation(statuses)
    finish(worksheet, (4, 22, 6, 70, 12, 20), editable)


def finish(worksheet, widths, editable):
    """Column widths (the keys' column hidden), rows as tall as their text, A4 pages one
    worksheet wide; a staff member's file protected but for its yellow cells."""
    for index, width in enumerate(widths, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = width
    worksheet.column_dimensions[get_column_letter(KEY)].hidden = True
    fit_row_heights(worksheet)
    worksheet.page_setup.paperSize = worksheet.PAPERSIZE_A4
    worksheet.page_setup.fitToWidth, worksheet.page_setup.fitToHeight = 1, 0
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.protection.sheet = editable


LINE_HEIGHT = 15  # points: one line of the default 11-point font


def text_width(text):
    """Roughly how many widths of "0" the text takes: a full-width character two."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def fit_row_heights(worksheet):
    """Excel fits no row to the wrapped text of a merged cell (and a row keeps the height it
    was opened with): each row gets the height its longest text needs, estimated from the
    column widths; a cell merged over several rows shares its lines among them."""
    merged = {(span.min_row, span.min_col): span for span in worksheet.merged_cells.ranges}
    lines_needed = {}
    for row in worksheet.iter_rows(min_col=KEY + 1):
        for cell in row:
            if not isinstance(cell.value, str) or not cell.value:
                continue
            span = merged.get((cell.row, cell.column))
            last_column, last_row = (span.max_col, span.max_row) if span else (cell.column, cell.row)
            width = sum(
                worksheet.column_dimensions[get_column_letter(column)].width
                for column in range(cell.column, last_column + 1)
            )
            lines = sum(max(1, math.ceil(text_width(part) / width)) for part in cell.value.split("\n"))
            rows = range(cell.row, last_row + 1)
            for number in rows:
                lines_needed[number] = max(lines_needed.get(number, 1), math.ceil(lines / len(rows)))
    for number, lines in lines_needed.items():
        if lines > 1:
            worksheet.row_dimensions[number].height = lines * LINE_HEIGHT


# --- reading an upload --------------------------------------------------------------


class UploadRefused(Exception):
    """The file is refused as a whole; `problems` says why, in Japanese."""

    def __init__(self, *problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def megabytes(size):
    return f"{size / 1024 / 1024:.1f}MB"


def open_workbook(upload):
    """The uploaded file's workbook, once it is known to be a plain .xlsx of a sane size."""
    name = (upload.name or "").lower()
    if name.endswith((".xlsm", ".xltm", ".xlam", ".xlsb")):
        raise UploadRefused(
            "マクロを含むことができる形式のファイル（.xlsm など）は受け付けません。.xlsx で保存してください。"
        )
    if upload.size > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            f"ファイルが大きすぎます（{megabytes(upload.size)}）。{megabytes(MAX_UPLOAD_BYTES)}までのファイルにしてください。"
        )
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if not data.startswith(b"PK\x03\x04"):
        raise UploadRefused(
            "Excelファイル（.xlsx）ではありません。このポータルからダウンロードしたファイルを使ってください。"
        )
    damaged = UploadRefused(
        "ファイルが壊れているため読み込めません。もう一度ダウンロードしてやり直してください。"
    )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise damaged from None
    if len(entries) > MAX_ENTRIES or sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise UploadRefused(
            f"展開後のファイルが大きすぎます（{megabytes(MAX_UNPACKED_BYTES)}まで）。このポータルからダウンロードしたファイルを使ってください。"
        )
    names = [entry.filename.lower() for entry in entries]
    macros = any(name.endswith("vbaproject.bin") for name in names)
    if not macros and "[content_types].xml" in names:
        macros = b"macroenabled" in archive.read("[Content_Types].xml").lower()
    if macros:
        raise UploadRefused("マクロを含むファイルは受け付けません。.xlsx で保存してください。")
    try:
        if archive.testzip() is not None:  # every entry's CRC
            raise damaged
        # openpyxl raises many kinds of error for a malformed package or XML.
        return load_workbook(io.BytesIO(data), data_only=False, keep_links=False)
    except UploadRefused:
        raise
    except Exception:
        raise damaged from None


def refuse_formulas(workbook):
    found = [
        f"{worksheet.title}!{cell.coordinate}"
        for worksheet in workbook.worksheets
        for row in worksheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    if found:
        shown = "、".join(found[:10]) + ("ほか" if len(found) > 10 else "")
        raise UploadRefused(
            f"数式が入っているセルがあります（{shown}）。数式は使わず、値を直接入力してください。"
        )


def check_marker(workbook, organization):
    foreign = UploadRefused(
        "このポータルからダウンロードしたExcelファイルではありません。"
        "管理画面の「Excelでダウンロード」で取得したファイルを編集してアップロードしてください。"
    )
    if MARKER_SHEET not in workbook.sheetnames:
        raise foreign
    written_format, token = (workbook[MARKER_SHEET].cell(row=1, column=c).value for c in (1, 2))
    try:
        marker = signing.loads(str(token), salt=MARKER_SALT) if written_format == FORMAT else None
    except signing.BadSignature:
        marker = None
    if not isinstance(marker, dict) or marker.get("format") != FORMAT:
        raise foreign
    if marker.get("version") != FORMAT_VERSION:
        raise UploadRefused("古い形式のファイルです。もう一度ダウンロードして編集してください。")
    if marker.get("organization") != organization.slug:
        raise UploadRefused(
            f"別の代行機関（{marker.get('organization')}）のファイルです。"
            f"{organization.name}の下書きからダウンロードしたファイルをアップロードしてください。"
        )
    return marker


def keyed_rows(worksheet, value_columns):
    """{key: [values]} by the hidden key column (the first); a key seen twice is a changed file."""
    rows = {}
    for cells in worksheet.iter_rows(min_col=1, max_col=max(value_columns)):
        key = cells[0].value
        if key in (None, ""):
            continue
        if str(key) in rows:
            raise changed_structure()
        rows[str(key)] = [cells[column - 1].value for column in value_columns]
    return rows


def changed_structure():
    return UploadRefused(
        "ファイルの行や列が変更されているため読み込めません。もう一度ダウンロードして、黄色の欄だけを編集してください。"
    )


def as_text(value):
    """A cell's value as the admin's form would receive it typed."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        value = value.date()  # a date cell: Excel keeps dates as midnight
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def field_kinds():
    """(single-choice fields, several-choice fields, the other fields) of the sheet's form."""
    single, several, plain = [], [], []
    for part in SHEET_LAYOUT:
        for name in part.fields:
            if name == COMPLIANCE_FIELD:
                continue
            field = DisclosureSheet._meta.get_field(name)
            if hasattr(field, "choice_options"):
                several.append(name)
            elif field.choices:
                single.append(name)
            else:
                plain.append(name)
    return single, several, plain


# Single choices whose form field takes every ticked box and says when there are
# several (代行機関の分類, 注3); the others are told here.
ONE_OF_A_LIST = {
    name
    for name, field in DisclosureSheetForm.base_fields.items()
    if isinstance(field, ExactlyOneChoiceField)
}


def expected_sheet_keys():
    single, several, plain = field_kinds()
    boxes = [f"{name}={choice}" for name in single + several for choice, _ in field_choices(name)]
    return set(plain) | set(boxes)


def read_upload(upload, sheet):
    """The values of an uploaded file as the admin's forms would receive them:
    {"values": {field: text or [choices]}, "answers": {key: [status, planned time]},
    "problems": [what cannot be read, by label], "digests": the draft's at download}.
    Raises UploadRefused for a file that is not one of ours, as a whole."""
    workbook = open_workbook(upload)
    refuse_formulas(workbook)
    marker = check_marker(workbook, sheet.organization)
    if SHEET_NAME not in workbook.sheetnames or CHECKLIST_NAME not in workbook.sheetnames:
        raise changed_structure()
    rows = keyed_rows(workbook[SHEET_NAME], (VALUE,))
    if set(rows) != expected_sheet_keys():
        raise changed_structure()
    problems = []
    values = {}
    single, several, plain = field_kinds()
    labels = {name: DisclosureSheet._meta.get_field(name).verbose_name for name in single + several}
    for name in single + several:
        chosen = []
        for choice, option in field_choices(name):
            ticked = as_text(rows[f"{name}={choice}"][0]).strip()
            if ticked == box(True):
                chosen.append(choice)
            elif ticked not in (box(False), ""):
                problems.append(
                    f"{labels[name]}「{option}」: {box(True)}（選ぶ）か {box(False)}（選ばない）を入力してください。"
                )
        if name in several or name in ONE_OF_A_LIST:
            values[name] = chosen  # the form field says when more than one is ticked (注3)
        elif len(chosen) > 1:
            problems.append(f"{labels[name]}: 選べるのは一つだけです。")
        else:
            values[name] = "".join(chosen)
    for name in plain:
        values[name] = as_text(rows[name][0])
    answers = {
        key: [as_text(status).strip(), as_text(planned_time)]
        for key, (status, planned_time) in keyed_rows(
            workbook[CHECKLIST_NAME], (STATUS, PLANNED_TIME)
        ).items()
    }
    expected = {answer_key(answer): answer for answer in sheet.checklist.ordered_answers()}
    if set(answers) != set(expected):
        raise changed_structure()
    for key, (status, _planned_time) in answers.items():
        if status and status not in STATUS_VALUES:
            item = expected[key].item
            problems.append(
                f"{item.section.title} {item.number}. 実施状況: "
                + "「{}」か「{}」を入力してください（未回答なら空欄）。".format(*STATUS_VALUES)
            )
    return {"values": values, "answers": answers, "problems": problems, "digests": marker["digests"]}


# --- checking, showing and applying the changes ---------------------------------------


@dataclass
class Review:
    """An upload checked against the draft: the `problems` (each named by its label)
    or the `changes` it would make (disclosures.diff's, in the form's labels)."""

    problems: list
    changes: dict | None
    form: object
    answer_forms: list

    @property
    def has_changes(self):
        return bool(self.changes and (self.changes["sheet"] or self.changes["checklist"]))


def review_upload(sheet, upload_values, form_class):
    """Check the uploaded values with the admin's forms (the sheet's `form_class`, each
    answer's AnswerForm: field cleaning and the models' full_clean) on copies of the
    draft and its answers, and compare the result with the draft. Nothing is saved."""
    current = build_snapshot(sheet)
    problems = list(upload_values.get("problems", ()))
    form = form_class(data=upload_values["values"], instance=copy.copy(sheet))
    if not form.is_valid():
        for name, errors in form.errors.as_data().items():
            label = form.fields[name].label if name in form.fields else ""
            for error in errors:
                problems.extend(f"{label}: {message}" if label else message for message in error.messages)
    answer_forms = []
    for answer in sheet.checklist.ordered_answers():
        item = answer.item
        status, planned_time = upload_values["answers"][answer_key(answer)]
        answer_form = AnswerForm(
            data={"status": STATUS_VALUES.get(status, status), "planned_time": planned_time},
            instance=copy.copy(answer),
        )
        # An unknown 実施状況 is reported by read_upload() already, in the sheet's words.
        if not answer_form.is_valid() and status in ("", *STATUS_VALUES):
            for name, messages in answer_form.errors.items():
                label = Answer._meta.get_field(name).verbose_name
                for message in messages:
                    named = message if label in message else f"{label}: {message}"
                    problems.append(f"{item.section.title} {item.number}. {named}")
        answer_forms.append(answer_form)
    changes = None
    if not problems:
        proposed = build_snapshot(form.instance, [answer_form.instance for answer_form in answer_forms])
        changes = diff_snapshots(current, proposed)
    return Review(problems, changes, form, answer_forms)


def draft_digests(sheet):
    return list(document_digests(build_snapshot(sheet)))


def confirmation(sheet, user, upload_values):
    """What the confirmation form carries: the values read, signed (the client is
    never trusted with them), for this sheet, this user and the draft as it was shown."""
    return signing.dumps(
        {
            "sheet": sheet.pk,
            "user": user.pk,
            "draft": draft_digests(sheet),
            "values": upload_values["values"],
            "answers": upload_values["answers"],
        },
        salt=CONFIRM_SALT,
        compress=True,
    )


class ConfirmationRefused(Exception):
    def __init__(self, *problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


AGAIN = "もう一度アップロードしてください。"


@transaction.atomic
def apply_confirmation(token, sheet, user, form_class):
    """Write the confirmed values into the draft, checked again by the same rules, and
    return their Review. Raises ConfirmationRefused, changing nothing, when the token is
    not this sheet's and user's, has expired, or the draft changed since it was shown."""
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_SECONDS)
    except signing.SignatureExpired:
        raise ConfirmationRefused(f"確認の有効期限（1時間）が切れました。{AGAIN}") from None
    except signing.BadSignature:
        raise ConfirmationRefused(f"確認の内容が正しくありません。{AGAIN}") from None
    if payload.get("sheet") != sheet.pk or payload.get("user") != user.pk:
        raise ConfirmationRefused(f"確認の内容が正しくありません。{AGAIN}")
    locked = (
        DisclosureSheet.objects.select_for_update()
        .select_related("organization", "checklist__template")
        .get(pk=sheet.pk)
    )
    if draft_digests(locked) != payload["draft"]:
        raise ConfirmationRefused(f"変更点を表示した後に下書きが変更されました。{AGAIN}")
    review = review_upload(locked, payload, form_class)
    if review.problems:
        raise ConfirmationRefused(*review.problems)
    if review.form.has_changed():
        review.form.save()
    for answer_form in review.answer_forms:
        if answer_form.has_changed():
            answer_form.save()
    return review
