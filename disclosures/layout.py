"""The layout of 事業運営上開示すべき重要事項の概要[代行機関], declared once.

Parts are the form's left-hand headings; rows its labelled lines, with the
nested labels of the form (従事する職員の数 › 専任) and the notes each label
refers to; cells say how each model field is shown on the row (disclosures/cells.py:
one class per kind of cell). The admin's
fieldsets, the snapshot (and so the page, the PDF and the diff) read this.
"""

from dataclasses import dataclass

from .cells import Cell, CountCell, DateCell, Detail, EmailCell, OptionsCell, TextCell, URLCell
from .notes import note_help


@dataclass(frozen=True)
class Label:
    text: str
    notes: tuple[int, ...] = ()


def L(text, *notes):
    return Label(text, notes)


def text(field, caption=""):
    return TextCell(field, caption)


def count(field, caption="", unit="人", blank=""):
    return CountCell(field, caption, unit=unit, blank=blank)


def options(field, *details):
    return OptionsCell(field, details=tuple(Detail(*detail) for detail in details))


@dataclass(frozen=True)
class Row:
    labels: tuple[Label, ...]
    cells: tuple[Cell, ...]

    @property
    def fields(self):
        return tuple(name for cell in self.cells for name in cell.fields)

    @property
    def notes(self):
        return tuple(n for label in self.labels for n in label.notes)


@dataclass(frozen=True)
class Part:
    title: Label
    rows: tuple[Row, ...]
    notes: tuple[int, ...] = ()  # printed under the part, as on the form
    columns: tuple[str, ...] = ()  # column headings (事務手数料等: 保険者, 健診・保健指導機関)

    @property
    def fields(self):
        return tuple(name for row in self.rows for name in row.fields)


def row(labels, *cells):
    labels = tuple(L(label) if isinstance(label, str) else label for label in labels)
    return Row(labels, cells)


COMPLIANCE_FIELD = "guideline_compliance"  # computed from the checklist (注8), never edited

SHEET_LAYOUT = (
    Part(
        L("基本情報"),
        (
            row([L("機関名", 1)], text("name")),
            row([L("所在地(住所)", 1)], text("address")),
            row([L("電話番号", 1)], text("phone")),
            row(["ホームページアドレス"], URLCell("website_url")),
            row(["窓口となるメールアドレス"], EmailCell("contact_email")),
            row([L("代行機関コード", 2)], text("agency_code")),
            row([L("代行機関の分類", 3)], options("classification")),
        ),
        notes=(1, 2, 3),
    ),
    Part(
        L("施設及び設備情報"),
        (
            row(
                [L("従事する職員の数", 4, 5), "専任"],
                count("staff_dedicated_own", "機関本体"),
                count("staff_dedicated_partner", "協力・関係会社"),
            ),
            row(
                [L("従事する職員の数", 4, 5), "兼任"],
                count("staff_concurrent_own", "機関本体"),
                count("staff_concurrent_partner", "協力・関係会社"),
            ),
            row(
                [L("全職員の数", 5)],
                count("staff_total_own", "機関本体"),
                count("staff_total_partner", "協力・関係会社"),
            ),
            row(
                ["施設数(サポート拠点数)"],
                count("facility_count", unit="箇所"),
                TextCell("facility_prefectures", "都道府県名", parenthesized=True),
            ),
            row([L("財務基盤に関する資料または照会先", 6)], text("financial_reference")),
            row(
                [L("類似業務・サービスの提供実績", 7)],
                options("similar_services", ("yes", "similar_services_detail", "内容:")),
            ),
            row(["提供するサービス", "対象"], options("service_targets")),
            row(
                ["提供するサービス", "内容"],
                options("service_contents", ("other", "service_contents_other", "", "その他")),
            ),
            row(["利用者によるサービスの選択", "保険者"], options("insurer_selection")),
            row(
                ["利用者によるサービスの選択", "健診・保健指導機関"],
                options(
                    "institution_selection", ("yes", "institution_selectable_functions", "選択可能な機能:")
                ),
            ),
            row([L("ガイドラインの遵守", 8)], options(COMPLIANCE_FIELD)),
        ),
        notes=(4, 5, 6, 7, 8),
    ),
    Part(
        L("情報システムに関する情報"),
        (
            row([L("提供開始の年月日", 9)], DateCell("service_start_date")),
            row(["システムの保有"], options("system_ownership")),
            row(["システムの運用管理"], options("system_operation")),
            row(["システム専用区画・施設の有無"], options("system_areas")),
            row(
                ["システム管理技術者数"],
                count("system_engineers_own", "機関本体"),
                count("system_engineers_contractor", "委託先"),
            ),
            row(
                ["処理可能件数(設計値)"],
                count("capacity_per_year", "年間", "件", blank="—"),
                count("capacity_per_day", "1日当たり", "件", blank="—"),
            ),
        ),
        notes=(9,),
    ),
    Part(
        L("運営に関する情報"),
        (
            row(["サービス提供時間", "拠点"], text("hours_office")),
            row(["サービス提供時間", "システム"], text("hours_system")),
            row(["サービス提供時間", "ヘルプデスク"], text("hours_helpdesk")),
            row(
                ["データ授受の方法", "外部から機関へ"],
                options(
                    "data_in_methods",
                    ("online", "data_in_line", "回線種別 "),
                    ("offline", "data_in_media", "媒体 "),
                ),
            ),
            row(
                ["データ授受の方法", "機関から外部へ"],
                options(
                    "data_out_methods",
                    ("online", "data_out_line", "回線種別 "),
                    ("offline", "data_out_media", "媒体 "),
                ),
            ),
            row(["データ授受におけるセキュリティ対策の方法", "オンライン"], text("security_online")),
            row(["データ授受におけるセキュリティ対策の方法", "オフライン"], text("security_offline")),
        ),
    ),
    Part(
        L("事務手数料等", 10),
        (
            row(["初期費用"], text("fee_initial_insurer"), text("fee_initial_institution")),
            row(
                ["経常経費", "別途請求の有無"],
                options("fee_separate_billing_insurer"),
                options("fee_separate_billing_institution"),
            ),
            row(["経常経費", "固定費"], text("fee_fixed_insurer"), text("fee_fixed_institution")),
            row(
                ["経常経費", L("従量単価", 11)],
                text("fee_unit_insurer"),
                text("fee_unit_institution"),
            ),
        ),
        columns=("保険者", "健診・保健指導機関"),
    ),
    Part(
        L("代行機関利用に際し必要となる設備等", 12),
        (row([], text("required_equipment")),),
        notes=(10, 11, 12),
    ),
    Part(
        L("その他"),
        (
            row(
                [L("前年度の取扱件数", 13)],
                count("cases_last_year_per_year", "年間", "件"),
                count("cases_last_year_per_day", "1日当たり", "件"),
            ),
        ),
        notes=(13,),
    ),
)


def sheet_fields():
    """Every editable field of the sheet, in the form's order."""
    return tuple(name for part in SHEET_LAYOUT for name in part.fields if name != COMPLIANCE_FIELD)


# --- each field's label and notes, read by the models (verbose_name, help_text) ---


def _field_texts():
    """{field: (label, notes, row labels, caption)}: a field is named by its row's labels (the part's
    title for a row without any), then its column, caption or detail words, as
    the form prints them around it; the notes of its part's title and of its
    row's labels govern it."""
    texts = {}
    for part in SHEET_LAYOUT:
        for row in part.rows:
            labels = [label.text for label in row.labels] or [part.title.text]
            notes = tuple(dict.fromkeys((*part.title.notes, *row.notes)))
            for index, cell in enumerate(row.cells):
                words = list(labels)
                if part.columns:
                    words.append(part.columns[index])
                if getattr(cell, "parenthesized", False):
                    words = [cell.caption]  # (都道府県名:東京都) is a field of its own
                elif cell.caption:
                    words.append(cell.caption)
                texts[cell.field] = (" ".join(words), notes, tuple(labels), cell.caption)
                for detail in getattr(cell, "details", ()):
                    texts[detail.field] = (
                        " ".join([*labels, detail.label]),
                        notes,
                        tuple(labels),
                        detail.label,
                    )
    return texts


FIELD_TEXTS = _field_texts()


def field_label(name):
    """The field's verbose_name: the form's labels of its row, word for word."""
    return FIELD_TEXTS[name][0]


def field_notes(name):
    return FIELD_TEXTS[name][1]


def row_labels(name):
    """The labels of the field's row: ("データ授受の方法", "外部から機関へ")."""
    return FIELD_TEXTS[name][2]


def field_caption(name):
    """The words the form prints right before the field's value: its caption
    (機関本体) or a detail's name (回線種別), "" if none."""
    return FIELD_TEXTS[name][3]


def field_help(name):
    """The field's help text: the notes (注n)) the form attaches to its labels, quoted in full."""
    return note_help(*field_notes(name))


def form_texts(name):
    """verbose_name and help_text of the model field `name`, from the layout."""
    return {"verbose_name": field_label(name), "help_text": field_help(name)}
