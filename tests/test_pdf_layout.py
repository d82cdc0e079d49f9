"""What a reader of the PDF gets, whatever staff typed: no text lost or clipped,
the text layer equal to the form's text, typesetting like the paper form.

Everything is read back from the PDF (poppler's pdftotext: the text layer and each
word's position) or from WeasyPrint's own layout boxes, never from the HTML.
"""

import datetime
import re
import shutil
import subprocess
from xml.etree import ElementTree

import pytest

from checklist.models import Answer
from disclosure_portal.text_limits import MaxLinesValidator
from disclosures.layout import COMPLIANCE_FIELD, SHEET_LAYOUT
from disclosures.models import DisclosureSheet
from disclosures.pdf import ASSETS_DIR
from disclosures.pdf.document import publication_html, render_publication_pdf
from disclosures.pdf.harness import asset_url_fetcher, base_url_of
from disclosures.snapshot import build_snapshot, sha256_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.real_pdf,
    pytest.mark.skipif(
        shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
    ),
]

MM = 72 / 25.4
# disclosures/pdf/assets/css/pdf.css: @page { margin: 20mm 12mm 16mm 12mm }
MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_LEFT = 20 * MM, 12 * MM, 16 * MM, 12 * MM
TOLERANCE = 0.5  # pt: rounding of glyph advances
# For a field without max_length (TextField), what a user may well paste.
DEFAULT_MAX_LENGTH = 2000
DATES = {
    "published_at": datetime.datetime(2026, 4, 1, 9, 0, tzinfo=datetime.UTC),
    "sheet_updated_on": datetime.date(2026, 4, 1),
    "checklist_updated_on": datetime.date(2026, 4, 1),
}


def squeeze(text):
    """Text without whitespace: the PDF breaks lines where the layout does."""
    return re.sub(r"\s+", "", text)


def max_length(name, model=DisclosureSheet):
    return model._meta.get_field(name).max_length or DEFAULT_MAX_LENGTH


def max_lines(name, model=DisclosureSheet, default=200):
    """The field's line limit (MaxLinesValidator), or what a user may well paste."""
    limits = [
        v.limit_value for v in model._meta.get_field(name).validators if isinstance(v, MaxLinesValidator)
    ]
    return min(limits, default=default)


# ----------------------------------------------------------------- the PDF read back


# The same snapshot renders to the same PDF: several tests read one rendering.
_rendered = {}


def pdf_of(sheet, tmp_path, **kwargs):
    snapshot = build_snapshot(sheet)
    key = (sha256_of(snapshot), tuple(sorted(kwargs.items())))
    if key not in _rendered:
        _rendered[key] = render_publication_pdf(snapshot, number=1, **DATES, **kwargs)
    path = tmp_path / "draft.pdf"
    path.write_bytes(_rendered[key])
    return path


def pages_and_words(path):
    """[(width, height, [(x0, y0, x1, y1, word), …]), …], words in drawing order."""
    xhtml = subprocess.run(
        ["pdftotext", "-raw", "-bbox", str(path), "-"], capture_output=True, check=True
    ).stdout
    # poppler writes a non-BMP character of the <title> (the PDF's metadata, not its text
    # layer) as two encoded surrogates.
    xhtml = xhtml.decode("utf-8", errors="replace")
    xhtml = re.sub(r"<!DOCTYPE[^>]*>", "", xhtml)
    root = ElementTree.fromstring(xhtml.replace("&nbsp;", " "))
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    pages = []
    for page in root.iterfind(".//x:page", ns):
        words = [
            (
                float(w.get("xMin")),
                float(w.get("yMin")),
                float(w.get("xMax")),
                float(w.get("yMax")),
                w.text or "",
            )
            for w in page.iterfind("x:word", ns)
        ]
        pages.append((float(page.get("width")), float(page.get("height")), words))
    return pages


def body_texts(pages):
    """Each page's text without the running header and page number, whitespace removed."""
    return [
        "".join(
            squeeze(word)
            for x0, y0, x1, y1, word in words
            if y0 >= MARGIN_TOP - TOLERANCE and y1 <= height - MARGIN_BOTTOM + TOLERANCE
        )
        for _width, height, words in pages
    ]


def longest_prefix_in(value, text):
    low, high = 0, len(value)
    while low < high:
        middle = (low + high + 1) // 2
        if value[:middle] in text:
            low = middle
        else:
            high = middle - 1
    return low


def in_text_layer(value, texts):
    """Whether `value` (whitespace aside) is in the text, unbroken or continued page after
    page: a cell broken across pages goes on at the next page, where the two cells of a
    row (保険者, 健診・保健指導機関) interleave, page by page."""
    value = squeeze(value)
    for start in range(len(texts)):
        rest = value
        for text in texts[start:]:
            found = longest_prefix_in(rest, text)
            if not found:
                break
            rest = rest[found:]
            if not rest:
                return True
    return False


def raw_text(path):
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def words_outside_printable_area(pages):
    outside = []
    for number, (width, height, words) in enumerate(pages, start=1):
        for x0, y0, x1, y1, word in words:
            if x0 < MARGIN_LEFT - TOLERANCE or x1 > width - MARGIN_RIGHT + TOLERANCE or y0 < 0 or y1 > height:
                outside.append((number, round(x0), round(x1), word[:40]))
    return outside


def layout_of(sheet, **kwargs):
    """WeasyPrint's laid-out pages of the draft's PDF."""
    import weasyprint

    html = publication_html(build_snapshot(sheet), number=1, **DATES, **kwargs)
    return weasyprint.HTML(
        string=html, base_url=base_url_of(ASSETS_DIR), url_fetcher=asset_url_fetcher(ASSETS_DIR)
    ).render()


def text_overflowing_cells(document):
    """Lines of text that stick out of their table cell (or, outside tables, the page area)."""
    from weasyprint.formatting_structure import boxes

    found = []

    def walk(box, limit):
        if isinstance(box, boxes.TableCellBox):
            limit = (box.content_box_x(), box.content_box_x() + box.width, box)
        if isinstance(box, boxes.TextBox):
            left, right, _cell = limit
            if box.position_x < left - TOLERANCE or box.position_x + box.width > right + TOLERANCE:
                found.append(
                    (round(box.position_x), round(box.position_x + box.width), round(right), box.text[:40])
                )
        for child in box.all_children() if hasattr(box, "all_children") else ():
            walk(child, limit)

    for page in document.pages:
        page_box = page._page_box
        walk(page_box, (page_box.content_box_x(), page_box.content_box_x() + page_box.width, None))
    return found


# ------------------------------------------------------------- hostile drafts


def unbroken(prefix, length, alphabet="abcdefghijklmnopqrstuvwxyz0123456789"):
    """`length` characters without a space or any break opportunity a browser would use."""
    body = (alphabet * (length // len(alphabet) + 1))[: max(0, length - len(prefix))]
    return (prefix + body)[:length]


def long_url(length):
    return unbroken("https://www.example.co.jp/ir/kessan/", length - 4) + ".pdf"


def long_email(length):
    local = unbroken("kessan.", 64)
    labels = []
    remaining = length - len(local) - 1 - len(".jp")
    while remaining > 1:
        label = unbroken("d", min(63, remaining - 1))
        labels.append(label)
        remaining -= len(label) + 1
    return f"{local}@{'.'.join(labels)}.jp"


def tick_every_box_with_a_detail(sheet):
    """So that every detail field (その他, 内容, 回線種別, 媒体, …) is printed."""
    sheet.similar_services = "yes"
    sheet.service_contents = ["inspection", "billing", "data_exchange", "other"]
    sheet.institution_selection = "yes"
    sheet.data_in_methods = sheet.data_out_methods = ["online", "offline"]


FREE_TEXT = [
    name
    for part in SHEET_LAYOUT
    for name in part.fields
    if name
    not in (COMPLIANCE_FIELD, "phone", "agency_code", "facility_prefectures", "website_url", "contact_email")
    and DisclosureSheet._meta.get_field(name).get_internal_type() in ("CharField", "TextField")
    and not DisclosureSheet._meta.get_field(name).choices
]


def hostile_unbroken(sheet):
    """Every free-text field at its maximum, one unbroken run of Latin letters and digits;
    the longest URL and e-mail address; every 実施時期 at its maximum."""
    tick_every_box_with_a_detail(sheet)
    for index, name in enumerate(FREE_TEXT):
        setattr(sheet, name, unbroken(f"F{index:02d}", max_length(name)))
    sheet.website_url = long_url(max_length("website_url"))
    sheet.contact_email = long_email(max_length("contact_email"))
    sheet.financial_reference = long_url(150) + unbroken("", max_length("financial_reference") - 150)
    # An unconverted 実施時期 (text from before it became a month) is printed in a draft's PDF.
    planned = unbroken("2027nen", max_length("planned_time_text", Answer))
    for answer in sheet.checklist.answers.all():
        answer.status, answer.planned_time_text = Answer.Status.PLANNED, planned
        answer.save()
    return sheet


def hostile_lines(sheet):
    """As many lines as every text area takes (its line limit, 200 without one), together
    at its maximum length; full-width digits and Japanese without a space at the maximum
    of every one-line field."""
    tick_every_box_with_a_detail(sheet)
    for index, name in enumerate(FREE_TEXT):
        field = DisclosureSheet._meta.get_field(name)
        if field.get_internal_type() == "TextField":
            count = max_lines(name)
            width = (max_length(name) + 1) // count - 1  # each line and its line break
            setattr(
                sheet,
                name,
                "\n".join(
                    f"第{index}欄の{line}行目".ljust(width, "あ")[:width] for line in range(1, count + 1)
                ),
            )
        else:
            digits = unbroken(f"欄{index}", max_length(name) // 2, "０１２３４５６７８９")
            setattr(sheet, name, digits + unbroken("", max_length(name) - len(digits), "重要事項開示資料"))
    return sheet


HOSTILE_DRAFTS = {"unbroken": hostile_unbroken, "lines": hostile_lines}


@pytest.fixture(params=list(HOSTILE_DRAFTS))
def hostile_sheet(request, sheet):
    HOSTILE_DRAFTS[request.param](sheet)
    sheet.full_clean()  # what is typed here could be typed in the admin
    sheet.save()
    return sheet


def typed_strings(sheet):
    values = [getattr(sheet, name) for name in FREE_TEXT + ["website_url", "contact_email"]]
    values += [answer.planned_time_display for answer in sheet.checklist.answers.all()]
    return [value for value in values if value]


# ------------------------------------------------------------------------ point 1


def test_every_typed_string_is_in_the_text_layer(hostile_sheet, tmp_path):
    texts = body_texts(pages_and_words(pdf_of(hostile_sheet, tmp_path)))
    missing = [value[:60] for value in typed_strings(hostile_sheet) if not in_text_layer(value, texts)]
    assert not missing


def test_no_word_lies_outside_the_printable_area(hostile_sheet, tmp_path):
    pages = pages_and_words(pdf_of(hostile_sheet, tmp_path))
    assert not words_outside_printable_area(pages)


def test_no_text_sticks_out_of_its_cell(hostile_sheet):
    assert not text_overflowing_cells(layout_of(hostile_sheet))


def test_the_example_stays_inside_its_cells(sheet):
    assert not text_overflowing_cells(layout_of(sheet))


# ------------------------------------------------------------------------ point 2

# Pairs (and triples) that one glyph of Noto Sans JP serves: the text layer must still say
# which one was typed. ㈱ ① 髙 𠮷 are there because real names and addresses use them.
LOOKALIKES = {
    "name": "㈱髙﨑𠮷德神神",
    "address": "東京都千代田区一丁目1‐2－3ー4-5‑6 ⼀番館①➀",
    "hours_office": "平日9:00〜17:00（土曜9：00～12：00）",
    "hours_system": "24時間365日〜",
    "financial_reference": "決算公告…⋯ 〈官報〉〈電子公告〉 ・中黒",
}


def snapshot_strings(snapshot):
    """Every string the document prints from the snapshot, as it prints it."""
    from disclosures.cells import cell_text

    sheet, checklist = snapshot["sheet"], snapshot["checklist"]
    strings = [sheet["title"], *sheet["instructions"], sheet["update_instruction"]]
    strings += [f"注{note['number']}) {note['text']}" for note in sheet["notes"]]
    for part in sheet["parts"]:
        strings += [part["title"]["text"], *part["columns"]]
        for row in part["rows"]:
            strings += [label["text"] for label in row["labels"]]
            strings += [cell_text(cell) for cell in row["cells"]]
    template = checklist["template"]
    strings += [
        template["guideline_title"],
        template["title"],
        template["preamble"],
        *template["instructions"],
    ]
    for section in checklist["sections"]:
        strings.append(section["title"])
        for item in section["items"]:
            strings += [item["text"], *item["sub_items"], f"({item['planned_time']})"]
        strings += [note["text"] for note in section["notes"]]
    return [string for string in strings if squeeze(string)]


@pytest.fixture
def lookalike_sheet(sheet):
    for name, value in LOOKALIKES.items():
        setattr(sheet, name, value)
    sheet.full_clean()
    sheet.save()
    return sheet


def test_text_layer_is_the_snapshot_code_point_for_code_point(lookalike_sheet, tmp_path):
    texts = body_texts(pages_and_words(pdf_of(lookalike_sheet, tmp_path)))
    missing = [
        (string[:50], [f"U+{ord(c):04X}" for c in string if ord(c) > 0x2000][:8])
        for string in snapshot_strings(build_snapshot(lookalike_sheet))
        if not in_text_layer(string, texts)
    ]
    assert not missing


def test_preamble_keeps_its_fullwidth_tilde_when_a_field_has_a_wave_dash(lookalike_sheet, tmp_path):
    text = raw_text(pdf_of(lookalike_sheet, tmp_path))
    assert "1章\uff5e6章" in text  # 「1章～6章」 as the official form prints it
    assert "9:00\u301c17:00" in text  # 〜 as typed
    assert "9：00\uff5e12：00" in text


def test_variant_fonts_hold_exactly_the_code_points_sharing_a_glyph():
    """assets/fonts/NotoSansJP-Variant*.ttf and their rules in pdf-fonts.css are what
    scripts/pdf_font_variants.py makes from the shipped Noto files."""
    from fontTools.ttLib import TTFont

    from disclosures.pdf.fonts import VARIANT_FILE, glyph_sharing_variants, variant_font_faces

    variants = glyph_sharing_variants()
    assert 0xFF5E in variants[0] and 0x301C not in set().union(*variants)  # 〜 stays in Noto
    for number, code_points in enumerate(variants, start=1):
        for style in ("Regular", "Bold"):
            path = ASSETS_DIR / VARIANT_FILE.format(number, style)
            # and the space, which Pango takes from the font of the character beside it
            assert set(TTFont(path, lazy=True).getBestCmap()) == code_points | {0x20}
    css = (ASSETS_DIR / "css" / "pdf-fonts.css").read_text(encoding="utf-8")
    assert css.endswith(variant_font_faces())


# ------------------------------------------------------------------------ point 3


def lines(pages):
    """Per page, the printed lines: words side by side (label cell, value cell and a raised
    note marker alike), joined left to right without whitespace."""
    result = []
    for _width, _height, words in pages:
        page_lines = []
        for word in sorted(words, key=lambda w: (w[1], w[0])):
            centre = (word[1] + word[3]) / 2
            line = next((line for line in page_lines if line["top"] <= centre <= line["bottom"]), None)
            if line is None:
                line = {"top": word[1], "bottom": word[3], "words": []}
                page_lines.append(line)
            line["words"].append(word)
        result.append(["".join(squeeze(w[4]) for w in sorted(line["words"])) for line in page_lines])
    return result


def on_one_line(text, page_lines):
    text = squeeze(text)
    return any(text in line for page in page_lines for line in page)


def markers(label):
    return "".join(f"注{n})" for n in label["notes"])


@pytest.fixture
def example_pages(sheet, tmp_path):
    return pages_and_words(pdf_of(sheet, tmp_path))


def test_short_labels_header_cells_and_note_markers_never_break(sheet, example_pages):
    page_lines = lines(example_pages)
    broken = []
    for part in build_snapshot(sheet)["sheet"]["parts"]:
        labels = [part["title"], *(label for row in part["rows"] for label in row["labels"])]
        for label in labels:
            # A note marker stays with the label's last characters (「事務手数料等注10)」).
            if not on_one_line(label["text"][-2:] + markers(label), page_lines):
                broken.append(label["text"] + markers(label))
            # A short label is not broken at all (「窓口となるメールアドレス」).
            if label is not part["title"] and len(label["text"]) <= 12:
                if not on_one_line(label["text"] + markers(label), page_lines):
                    broken.append(label["text"] + markers(label))
        broken += [column for column in part["columns"] if not on_one_line(column, page_lines)]
    # The checklist's header cells (「実施予定(実施時期)」).
    broken += [
        cell
        for cell in ("No", "チェック項目", "実施済", "実施予定(実施時期)")
        if not on_one_line(cell, page_lines)
    ]
    assert not broken


def test_option_labels_never_break(sheet, example_pages):
    """Lines break between options, never inside one (「□特に無し」)."""
    page_lines = lines(example_pages)
    broken = [
        ("■" if option["checked"] else "□") + option["label"]
        for part in build_snapshot(sheet)["sheet"]["parts"]
        for row in part["rows"]
        for cell in row["cells"]
        if cell["kind"] == "options"
        for option in cell["options"]
        if not on_one_line(("■" if option["checked"] else "□") + option["label"], page_lines)
    ]
    assert not broken


def test_the_break_allowed_between_options_is_nowhere_in_the_text_layer(sheet, tmp_path):
    """The PDF's HTML allows a line break between options with a zero-width space
    (templates/disclosures/cells/options.html): a reader copying the text gets none."""
    snapshot = build_snapshot(sheet)
    assert "&#8203;</li>" in publication_html(snapshot, number=1, **DATES)
    text = raw_text(pdf_of(sheet, tmp_path))
    assert "\u200b" not in text
    assert "■自己導入□借用" in squeeze(text)


def page_of(text, texts):
    return next(number for number, page in enumerate(texts) if squeeze(text) in page)


def test_no_table_starts_with_fewer_than_two_rows_at_a_page_foot(sheet, example_pages):
    texts = body_texts(example_pages)
    snapshot = build_snapshot(sheet)
    alone = []
    for part in snapshot["sheet"]["parts"]:
        if len(part["rows"]) >= 2:
            page = page_of(part["title"]["text"], texts)
            for row in part["rows"][:2]:
                if squeeze(row["labels"][-1]["text"]) not in texts[page]:
                    alone.append(part["title"]["text"])
    for section in snapshot["checklist"]["sections"]:
        page = page_of(section["title"], texts)
        for item in section["items"][:2]:
            if squeeze(item["text"])[:30] not in texts[page]:
                alone.append(section["title"])
    assert not alone


def test_the_example_takes_seven_pages_at_most(example_pages):
    assert len(example_pages) <= 7
