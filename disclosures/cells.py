"""The kinds of cell on the form's rows, one small class each.

Like Wagtail's comparison classes (wagtail/admin/compare.py), each kind owns
everything that depends on it: the snapshot value it freezes from the draft
(`snapshot`), the words it reads as in a diff or in plain text (`text`, from a
snapshot, so an old version reads as it was published) and the template that
shows it on the page and in the PDF (`template_name`). A kind is named in the
snapshot (snapshot-v1's "kind"), so every reader finds its class with
`kind_of()`.
"""

import datetime
from dataclasses import dataclass

from .formatting import box, japanese_date

CELL_KINDS = {}

# How a spreadsheet formats a cell's value (disclosures/spreadsheet.py).
XLSX_TEXT = "@"  # typed digits stay text (代行機関コード 01234567)
XLSX_COUNT = "#,##0"
XLSX_DATE = 'yyyy"年"m"月"d"日"'


@dataclass(frozen=True)
class Line:
    """One line of a cell in a spreadsheet (disclosures/spreadsheet.py): the words
    before the value, the value and the words after it. A tick box is a line of its
    own (value box(checked), `choice` its choice); so are the words typed into its
    parentheses (`detail_of` the choice they belong to)."""

    field: str
    caption: str
    value: object  # str, int, datetime.date or None
    after: str = ""
    number_format: str = XLSX_TEXT
    blank: str = ""  # shown in a published file for an empty value (処理可能件数 —)
    choice: str = ""
    detail_of: str = ""


@dataclass(frozen=True)
class Cell:
    """One model field on a row of the form."""

    field: str
    caption: str = ""  # printed before the value (機関本体, 年間, …)

    kind = ""  # the name in the snapshot; set by each kind
    template_name = ""
    unit = ""  # printed after the value (a count's 人, 件, 箇所)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        CELL_KINDS[cls.kind] = cls

    @property
    def fields(self):
        return (self.field,)

    def snapshot(self, values, choices_of):
        """The cell as frozen in a snapshot; `values` are the draft's, by field name."""
        data = {"kind": self.kind, "field": self.field, "caption": self.caption}
        return {**data, **self.snapshot_value(values, choices_of)}

    def snapshot_value(self, values, choices_of):
        return {"value": values[self.field]}

    @staticmethod
    def prefix(data):
        return f"{data['caption']} " if data["caption"] else ""

    @classmethod
    def text(cls, data):
        """The cell's words, from its snapshot `data`."""
        return cls.prefix(data) + (data["value"] or "")

    @classmethod
    def lines(cls, data):
        """The cell as lines of a spreadsheet, from its snapshot `data`."""
        return [Line(data["field"], data["caption"], data["value"] or "")]


def kind_of(data):
    """The class of a cell as a snapshot stores it."""
    return CELL_KINDS[data["kind"]]


def cell_text(data):
    return kind_of(data).text(data)


@dataclass(frozen=True)
class TextCell(Cell):
    kind = "text"
    template_name = "disclosures/cells/text.html"
    parenthesized: bool = False  # caption and value in parentheses: (都道府県名:東京都)

    def snapshot_value(self, values, choices_of):
        value = super().snapshot_value(values, choices_of)
        return {"parenthesized": True, **value} if self.parenthesized else value

    @classmethod
    def text(cls, data):
        if data.get("parenthesized"):
            return f"({data['caption']}:{data['value'] or ''})"
        return super().text(data)


@dataclass(frozen=True)
class URLCell(Cell):
    kind = "url"
    template_name = "disclosures/cells/url.html"


@dataclass(frozen=True)
class EmailCell(Cell):
    kind = "email"
    template_name = "disclosures/cells/email.html"


@dataclass(frozen=True)
class CountCell(Cell):
    """A whole number with its unit: 18人, 1,200件."""

    kind = "count"
    template_name = "disclosures/cells/count.html"
    unit: str = ""  # printed after the number (人, 件, 箇所: the layout says which)
    blank: str = ""  # shown for an empty count, as the form does (処理可能件数 "—")

    def snapshot_value(self, values, choices_of):
        value = values[self.field]
        return {"value": value, "unit": self.unit, "display": self.blank if value is None else f"{value:,}"}

    @classmethod
    def text(cls, data):
        return f"{cls.prefix(data)}{data['display']}{data['unit']}"

    @classmethod
    def lines(cls, data):
        value = data["value"]
        blank = data["display"] if value is None else ""
        return [Line(data["field"], data["caption"], value, data["unit"], XLSX_COUNT, blank)]


@dataclass(frozen=True)
class DateCell(Cell):
    kind = "date"
    template_name = "disclosures/cells/date.html"

    def snapshot_value(self, values, choices_of):
        value = values[self.field]  # ISO 8601, as the snapshot keeps dates
        return {"value": value, "display": japanese_date(datetime.date.fromisoformat(value)) if value else ""}

    @classmethod
    def text(cls, data):
        return cls.prefix(data) + data["display"]

    @classmethod
    def lines(cls, data):
        value = datetime.date.fromisoformat(data["value"]) if data["value"] else None
        return [Line(data["field"], data["caption"], value, number_format=XLSX_DATE)]


@dataclass(frozen=True)
class Detail:
    """Words typed into a ticked box's parentheses: 有(内容:…), その他(…)."""

    choice: str  # the box they belong to
    field: str
    words: str  # printed before the detail inside the parentheses
    name: str = ""  # the detail's own name where the form prints no words

    @property
    def label(self):
        return self.name or self.words.strip().rstrip(":")

    def __iter__(self):  # (choice, field, words), as the snapshot builder reads it
        return iter((self.choice, self.field, self.words))


@dataclass(frozen=True)
class OptionsCell(Cell):
    """A group of tick boxes: every choice of the field, the chosen ones ticked, some with
    words in parentheses (有(内容:…), その他(…))."""

    kind = "options"
    template_name = "disclosures/cells/options.html"
    details: tuple[Detail, ...] = ()

    @property
    def fields(self):
        return (self.field, *(detail.field for detail in self.details))

    def snapshot_value(self, values, choices_of):
        value = values[self.field]
        chosen = value if isinstance(value, list) else [value] if value else []
        details = {choice: (field, words) for choice, field, words in self.details}
        options = []
        for choice, label in choices_of(self.field):
            option = {"value": choice, "label": label, "checked": choice in chosen}
            if choice in details:
                field, words = details[choice]
                option.update(detail_words=words, detail=values[field])
            options.append(option)
        return {"options": options}

    @staticmethod
    def option_text(option):
        text = box(option["checked"]) + option["label"]
        if "detail" in option:
            text += f"({option['detail_words']}{option['detail']})"
        return text

    @classmethod
    def text(cls, data):
        return " ".join(cls.option_text(option) for option in data["options"])

    @classmethod
    def lines(cls, data):
        """A line per tick box (ticked or not, then its label), each followed by the words typed into its parentheses."""
        lines = []
        for option in data["options"]:
            lines.append(
                Line(data["field"], "", box(option["checked"]), option["label"], choice=option["value"])
            )
            if "detail" in option:
                caption = option["detail_words"].strip().rstrip(":") or option["label"]
                lines.append(Line(data["field"], caption, option["detail"], detail_of=option["value"]))
        return lines
