"""実施時期 as a year and month: parsing what staff typed, and how it is written.

A month is stored as the first day of that month (a date), written 「2027年3月」.
`parse_legacy_month()` reads the free text the field held before (the migration
converts with it); `parse_month_input()` is the admin's stricter input.
"""

import datetime
import re
import unicodedata

from django.core.exceptions import ValidationError

FIRST_YEAR, LAST_YEAR = 2000, 2100

# Japanese eras that can name a month of FIRST_YEAR…LAST_YEAR: 元年 is year 1.
ERA_OFFSETS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988}

# Words after the month that do not change it (2027年3月末, 2027年3月頃).
MONTH_SUFFIXES = ("末", "頃", "ごろ", "まで", "予定", "末頃", "末まで", "末予定")

_WESTERN = re.compile(r"(?P<year>[0-9]{4})(?:年(?P<month_a>[0-9]{1,2})月|[-/.](?P<month_b>[0-9]{1,2})月?)")
_ERA = re.compile(
    r"(?P<era>令和|平成|R|H)(?P<year>[0-9]{1,2}|元)(?:年(?P<month_a>[0-9]{1,2})月|[-/.](?P<month_b>[0-9]{1,2})月?)"
)


def month_of(year, month):
    """The first day of the month, or None outside FIRST_YEAR…LAST_YEAR or 1…12."""
    if FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12:
        return datetime.date(year, month, 1)
    return None


def format_month(value):
    """「2027年3月」 (no leading zero), or "" for no month."""
    return f"{value.year}年{value.month}月" if value else ""


def _normalized(text):
    # NFKC: full-width digits and letters (２０２７, Ｒ９) become ASCII; then no spaces.
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", text).upper()


def parse_legacy_month(text):
    """The month a legacy 実施時期 text names, or None when it names no single month.

    Accepts 2027年3月, 2027年03月, 2027/3, 2027-03, 2027.3, 令和9年3月, 令和元年5月,
    R9.3, H31/4, full-width digits and spaces, and a trailing 末/頃/ごろ/まで/予定
    (2027年3月末 is still that month). Anything else (未定, 2027年度, 2027年春,
    2027年13月, …) is None: staff fix it by hand.
    """
    if not isinstance(text, str) or len(text) > 60:
        return None
    text = _normalized(text)
    for suffix in sorted(MONTH_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    match = _WESTERN.fullmatch(text)
    if match:
        year = int(match["year"])
    else:
        match = _ERA.fullmatch(text)
        if not match:
            return None
        era_year = 1 if match["year"] == "元" else int(match["year"])
        if era_year < 1:
            return None
        year = ERA_OFFSETS[match["era"]] + era_year
    return month_of(year, int(match["month_a"] or match["month_b"]))


INPUT_ERROR = "実施時期は年月で入力してください（例: 2027-03 または 2027年3月）。"
RANGE_ERROR = f"実施時期の年は{FIRST_YEAR}年から{LAST_YEAR}年までで入力してください。"

_INPUT = re.compile(r"(?P<year>[0-9]{4})(?:-(?P<month_a>[0-9]{1,2})|年(?P<month_b>[0-9]{1,2})月)")


def parse_month_input(text):
    """The admin's input: 2027-03 (<input type=month>) or 2027年3月 (where the
    browser shows a text box), full-width digits allowed. Raises ValidationError
    with a Japanese message otherwise; "" is None."""
    text = _normalized(text or "")
    if not text:
        return None
    match = _INPUT.fullmatch(text)
    if not match:
        raise ValidationError(INPUT_ERROR, code="invalid")
    month = int(match["month_a"] or match["month_b"])
    if not 1 <= month <= 12:
        raise ValidationError(INPUT_ERROR, code="invalid")
    value = month_of(int(match["year"]), month)
    if value is None:
        raise ValidationError(RANGE_ERROR, code="out_of_range")
    return value


def validate_month(value):
    """A stored month: the first day of a month of FIRST_YEAR…LAST_YEAR."""
    if value is None:
        return
    if value.day != 1:
        raise ValidationError("実施時期は月の初日（年月）で指定してください。", code="invalid")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValidationError(RANGE_ERROR, code="out_of_range")
