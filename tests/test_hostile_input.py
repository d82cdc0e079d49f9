"""Hostile input (#5 part 5): script and style tags, 10 000+ character strings,
control characters, emoji and rare kanji, negative and huge numbers, impossible
dates, malformed slugs and version numbers, wrong HTTP methods — sent through the
admin and the public URLs.

Every test proves one of: no 500; a clear (Japanese) message; nothing stored
half-way; everything escaped in HTML, JSON, the Atom feed and the PDF.

Requests go through clients made with raise_request_exception=False, so that a
crash shows up as a 500 status (and fails `assert_no_500`) instead of as an exception.
"""

import html
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from pypdf import PdfReader
from simple_history.admin import SimpleHistoryAdmin

from checklist.models import Answer, Checklist, ChecklistTemplate, Item
from checklist.months import INPUT_ERROR as MONTH_INPUT_ERROR
from disclosures.models import DisclosureSheet, Organization, Publication, PublicationRequest
from disclosures.pdf import PdfRenderError
from disclosures.review import ask_for_publication

from .factories import (
    change_sheet,
    checklist_post_data,
    checklist_url,
    new_organization,
    sheet_post_data,
    sheet_url,
)

pytestmark = pytest.mark.django_db

# --- hostile values -------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
STYLE = "<style>body{display:none}</style>"
QUOTES = "\"'&<>"
ATTRIBUTE_BREAKER = '" onmouseover="alert(1)" x="'
RARE_KANJI = "髙﨑𠮷德神"
LONG = "あ" * 10_001

CONTROL_CHARACTERS = {
    "escape": "\x1b[31m赤",
    "delete": "削除\x7f",
    "vertical tab": "行\x0b行",
    "right-to-left override": "\u202eevil.exe",
    "byte order mark": "\ufeff株式会社",
    "zero width space": "株式\u200b会社",
    "private use": "外字\ue000",
}
EMOJI = "😀"
ZWJ_FAMILY = "👨\u200d👩\u200d👧"

# --- the messages a person sees -------------------------------------------------

CONTROL_MESSAGE = "制御文字など表示できない文字が含まれています。"
UNPRINTABLE_MESSAGE = "PDFに印字できない文字が含まれています（絵文字など）"
NULL_MESSAGE = "何か文字を入力してください。"  # Django's ja text for "Null characters are not allowed."
NOT_AN_INTEGER = "整数を入力してください。"
NOT_A_DATE = "日付を正しく入力してください。"
NOT_A_SLUG = "“slug” には半角の英数字、アンダースコア、ハイフン以外は使用できません。"
PDF_FAILED = "PDFを作成できませんでした。"


def too_long(limit, length):
    """Django's Japanese max_length message."""
    return f"この値は {limit} 文字以下でなければなりません( {length} 文字になっています)。"


def not_a_choice(value):
    return f"正しく選択してください。 {value} は候補にありません。"


# --- helpers --------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"


def assert_no_500(response):
    assert response.status_code != 500, response.content.decode(errors="replace")[:2000]


def squeeze(text):
    """Text without whitespace: HTML, feed and PDF break lines where they like."""
    return re.sub(r"\s+", "", text)


def page_text(response):
    """The response body with entities resolved: what the reader sees, roughly."""
    return html.unescape(response.content.decode())


# How a form marks its errors: Django's lists, the admin's note above the form,
# crispy-forms' Bootstrap feedback (the publish form).
ERROR_MARKERS = ('class="errorlist', 'class="errornote"', 'class="invalid-feedback"')


def assert_refused(response, *messages):
    """The form came back (200) marked as having errors, each message among them."""
    assert_no_500(response)
    assert response.status_code == 200
    body = response.content.decode()
    assert any(marker in body for marker in ERROR_MARKERS)
    for message in messages:
        assert message in page_text(response)


def row(instance):
    """Every column of the instance's row, read again from the database."""
    fresh = type(instance).objects.get(pk=instance.pk)
    return {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}


def answers_state(checklist):
    return [(a.pk, a.status, a.planned_time_display) for a in checklist.ordered_answers()]


def table_counts():
    """How many rows each table that a form or a publish could write holds."""
    return {
        model.__name__: model.objects.count()
        for model in (Organization, DisclosureSheet, Checklist, Answer, Publication)
    } | {
        "sheet history": DisclosureSheet.history.count(),
        "answer history": Answer.history.count(),
        "organization history": Organization.history.count(),
    }


class MarkupReader(HTMLParser):
    """What a page would run or hide: script and style bodies, event-handler
    attributes, javascript: links; and its visible text."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.scripts, self.styles, self.handlers, self.js_links, self.chunks = [], [], [], [], []
        self._inside = None
        self.feed(markup)
        self.close()
        self.text = "".join(self.chunks)

    def handle_starttag(self, tag, attrs):
        self._inside = tag if tag in ("script", "style") else None
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name, value))
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.js_links.append((tag, value))

    def handle_endtag(self, tag):
        self._inside = None

    def handle_data(self, data):
        if self._inside == "script":
            self.scripts.append(data)
        elif self._inside == "style":
            self.styles.append(data)
        else:
            self.chunks.append(data)


def assert_inert(markup):
    """Nothing the hostile values carried became markup that runs or hides the page."""
    page = MarkupReader(markup)
    assert not [s for s in page.scripts if "alert" in s]
    assert not [s for s in page.styles if "display:none" in s.replace(" ", "")]
    assert not page.handlers
    assert not page.js_links
    assert "<script>alert" not in markup
    return page


# --- clients and data -----------------------------------------------------------


@pytest.fixture
def public():
    return Client(raise_request_exception=False)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.jp", "pw-for-tests-123")


@pytest.fixture
def staff(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


@pytest.fixture
def other_org(example_org):
    """A second organisation with its own draft and checklist, publishable."""
    return new_organization("kenshin", "健診代行株式会社")


def organization_add_data(slug="kenpo-agency", name="健保代行株式会社"):
    return {"slug": slug, "name": name, "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0}


def publish_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk])


def preview_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk])


def post_sheet(client, sheet, **changes):
    return client.post(sheet_url(sheet), sheet_post_data(sheet, **changes))


# The draft change that accompanies every refused value: valid on its own, so
# finding it stored would mean the form saved half of what was sent.
INNOCENT = {"hours_system": "平日 9:00-17:00（変更されてはいけない）"}


# === the admin sheet form: text fields ==========================================

# field: max_length (every text field has one: README, "Text limits")
TEXT_FIELDS = {
    "name": 100,
    "address": 300,
    "hours_office": 200,
    "financial_reference": 500,
    "fee_unit_insurer": 500,
}

ACCEPTED_TEXT = {
    "script tag": SCRIPT,
    "style tag": STYLE,
    "quotes and ampersand": QUOTES,
    "attribute breaker": ATTRIBUTE_BREAKER,
    "rare kanji": f"株式会社{RARE_KANJI}",
    "mixed": f"{RARE_KANJI}{SCRIPT}{QUOTES}",
    "SQL": "'; DROP TABLE disclosures_disclosuresheet; --",
    "template syntax": "{{ settings.SECRET_KEY }}{% debug %}",
}


@pytest.mark.parametrize("value", ACCEPTED_TEXT.values(), ids=ACCEPTED_TEXT.keys())
def test_markup_and_rare_kanji_are_accepted_and_stored_exactly(staff, sheet, value):
    before = row(sheet)
    response = post_sheet(staff, sheet, **dict.fromkeys(TEXT_FIELDS, value))
    assert_no_500(response)
    assert response.status_code == 302
    after = row(sheet)
    for field in TEXT_FIELDS:
        assert after[field] == value, field
    untouched = set(before) - set(TEXT_FIELDS) - {"updated_at"}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}


@pytest.mark.parametrize("value", ACCEPTED_TEXT.values(), ids=ACCEPTED_TEXT.keys())
def test_stored_markup_is_escaped_on_the_sheet_change_page(staff, sheet, value):
    change_sheet(sheet, **dict.fromkeys(TEXT_FIELDS, value))
    response = staff.get(sheet_url(sheet))
    assert response.status_code == 200
    body = response.content.decode()
    assert_inert(body)
    # Each field's input value or textarea, escaped exactly once.
    assert body.count(html.escape(value)) >= len(TEXT_FIELDS)


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_text_longer_than_the_field_is_refused_with_djangos_message(staff, sheet, field):
    before, counts = row(sheet), table_counts()
    response = post_sheet(staff, sheet, **{field: LONG}, **INNOCENT)
    assert_refused(response, too_long(TEXT_FIELDS[field], len(LONG)))
    assert row(sheet) == before
    assert table_counts() == counts


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_text_of_exactly_max_length_is_accepted(staff, sheet, field):
    value = "髙" * TEXT_FIELDS[field]
    assert post_sheet(staff, sheet, **{field: value}).status_code == 302
    assert row(sheet)[field] == value


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
def test_control_characters_are_refused_and_nothing_is_stored(staff, sheet, field, value):
    before, counts = row(sheet), table_counts()
    response = post_sheet(staff, sheet, **{field: value}, **INNOCENT)
    assert_refused(response, CONTROL_MESSAGE)
    assert row(sheet) == before
    assert table_counts() == counts


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_null_character_is_refused_and_nothing_is_stored(staff, sheet, field):
    before = row(sheet)
    response = post_sheet(staff, sheet, **{field: "株式\x00会社"}, **INNOCENT)
    assert_refused(response, NULL_MESSAGE)
    assert row(sheet) == before


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_emoji_is_refused_naming_the_character(staff, sheet, field):
    before = row(sheet)
    response = post_sheet(staff, sheet, **{field: f"株式会社{EMOJI}"}, **INNOCENT)
    assert_refused(response, UNPRINTABLE_MESSAGE, "😀(U+1F600)")
    assert row(sheet) == before


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_emoji_joined_by_zero_width_joiners_is_refused(staff, sheet, field):
    before = row(sheet)
    response = post_sheet(staff, sheet, **{field: ZWJ_FAMILY}, **INNOCENT)
    assert_refused(response)
    assert CONTROL_MESSAGE in page_text(response) or UNPRINTABLE_MESSAGE in page_text(response)
    assert row(sheet) == before


@pytest.mark.parametrize("blank", ["", " ", "\u3000\u3000", "\n\t"])
def test_blank_or_whitespace_only_name_is_refused_as_required(staff, sheet, blank):
    before = row(sheet)
    response = post_sheet(staff, sheet, name=blank, **INNOCENT)
    assert_refused(response, "注1) 必ず記入してください")
    assert row(sheet) == before


# === the admin sheet form: other kinds of field ================================

TAMPERED_CHOICES = {
    "unknown radio value": ("similar_services", "maybe", not_a_choice("maybe")),
    "radio value with markup": ("insurer_selection", SCRIPT, not_a_choice(SCRIPT)),
    "unknown checkbox value": ("service_contents", ["inspection", "bogus"], not_a_choice("bogus")),
    "unknown classification": ("classification", "../../etc", not_a_choice("../../etc")),
    "URL with javascript scheme": ("website_url", "javascript:alert(1)", "URLを正しく入力してください。"),
    "URL with data scheme": (
        "website_url",
        "data:text/html,<script>alert(1)</script>",
        "URLを正しく入力してください。",
    ),
    "e-mail with markup": (
        "contact_email",
        f"a@example.jp{SCRIPT}",
        "有効なメールアドレスを入力してください。",
    ),
    "phone with markup": ("phone", "03<b>5774</b>3631", "電話番号は数字とハイフンで入力してください"),
    "prefecture with markup": ("facility_prefectures", SCRIPT, "都道府県名を正しく入力してください"),
    "agency code too long": ("agency_code", "1" * 10_001, too_long(8, 10_001)),
}


@pytest.mark.parametrize("field, value, message", TAMPERED_CHOICES.values(), ids=TAMPERED_CHOICES.keys())
def test_tampered_or_malformed_values_are_refused_and_nothing_is_stored(staff, sheet, field, value, message):
    before, counts = row(sheet), table_counts()
    response = post_sheet(staff, sheet, **{field: value}, **INNOCENT)
    assert_refused(response, message)
    assert row(sheet) == before
    assert table_counts() == counts


COUNT_FIELDS = ["facility_count", "capacity_per_year", "cases_last_year_per_day"]

REFUSED_COUNTS = {
    "negative": ("-1", "この値は 0 以上でなければなりません。"),
    "huge": (str(10**12), "この値は 2147483647 以下でなければなりません。"),
    "one past the limit": ("2147483648", "この値は 2147483647 以下でなければなりません。"),
    "exponent": ("1e3", NOT_AN_INTEGER),
    "fraction": ("3.5", NOT_AN_INTEGER),
    "kanji numeral": ("十八", NOT_AN_INTEGER),
    "hexadecimal": ("0x10", NOT_AN_INTEGER),
    "not a number": ("NaN", NOT_AN_INTEGER),
    "infinity": ("Infinity", NOT_AN_INTEGER),
    "thousands separator": ("1,000", NOT_AN_INTEGER),
    "5 000 digits": ("9" * 5000, NOT_AN_INTEGER),
    "markup": (SCRIPT, NOT_AN_INTEGER),
}


@pytest.mark.parametrize("field", COUNT_FIELDS)
@pytest.mark.parametrize("value, message", REFUSED_COUNTS.values(), ids=REFUSED_COUNTS.keys())
def test_impossible_counts_are_refused_with_a_clear_message(staff, sheet, field, value, message):
    before, counts = row(sheet), table_counts()
    response = post_sheet(staff, sheet, **{field: value}, **INNOCENT)
    assert_refused(response, message)
    assert row(sheet) == before
    assert table_counts() == counts


ACCEPTED_COUNTS = {
    "blank": ("", None),
    "zero": ("0", 0),
    "the limit": ("2147483647", 2_147_483_647),
    # int() reads any Unicode decimal digits: what a Japanese keyboard types is
    # stored as the number it means.
    "full-width digits": ("１２", 12),
    "whole number written with .0": ("3.0", 3),
    "surrounding spaces": (" 7 ", 7),
}


@pytest.mark.parametrize("field", COUNT_FIELDS)
@pytest.mark.parametrize("value, stored", ACCEPTED_COUNTS.values(), ids=ACCEPTED_COUNTS.keys())
def test_counts_are_stored_as_the_whole_number_they_mean(staff, sheet, field, value, stored):
    response = post_sheet(staff, sheet, **{field: value})
    assert_no_500(response)
    assert response.status_code == 302
    assert row(sheet)[field] == stored


REFUSED_DATES = [
    "2021-02-30",
    "2021-13-01",
    "2021-00-10",
    "0000-00-00",
    "9999-99-99",
    "10000-01-01",
    "昨日",
    "令和3年4月1日",
    "２０２１年４月１日",
    "2021-04-01T00:00:00",
    "2021-04-01; DROP TABLE x",
    "99999999999999999999-01-01",
    SCRIPT,
]


@pytest.mark.parametrize("value", REFUSED_DATES)
def test_impossible_dates_are_refused_with_a_japanese_message(staff, sheet, value):
    before, counts = row(sheet), table_counts()
    response = post_sheet(staff, sheet, service_start_date=value, **INNOCENT)
    assert_refused(response, NOT_A_DATE)
    assert row(sheet) == before
    assert table_counts() == counts


ACCEPTED_DATES = {
    "2021年4月1日": "2021-04-01",
    "2021/4/1": "2021-04-01",
    "2021.04.01": "2021-04-01",
    "2020-02-29": "2020-02-29",
    " 2021-04-01 ": "2021-04-01",
}


@pytest.mark.parametrize("value, stored", ACCEPTED_DATES.items(), ids=ACCEPTED_DATES.keys())
def test_dates_typed_the_japanese_ways_are_accepted(staff, sheet, value, stored):
    response = post_sheet(staff, sheet, service_start_date=value)
    assert_no_500(response)
    assert response.status_code == 302
    assert row(sheet)["service_start_date"].isoformat() == stored


def test_a_post_without_csrf_token_is_refused_and_stores_nothing(superuser, sheet):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(superuser)
    before = row(sheet)
    response = client.post(sheet_url(sheet), sheet_post_data(sheet, name="乗っ取り"))
    assert response.status_code == 403
    assert row(sheet) == before


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"financial_reference": "a" * 3_000_000}, id="body over 2.5 MB"),
        pytest.param({f"x{i}": "1" for i in range(1_100)}, id="more than 1000 fields"),
    ],
)
def test_oversized_posts_are_refused_with_400_and_store_nothing(staff, sheet, data):
    before = row(sheet)
    response = staff.post(sheet_url(sheet), sheet_post_data(sheet, **INNOCENT) | data)
    assert response.status_code == 400
    assert row(sheet) == before


# === the checklist answers =====================================================


def post_answers(client, checklist, data):
    return client.post(checklist_url(checklist), data)


REFUSED_ANSWERS = {
    "unknown status": (("bogus", ""), not_a_choice("bogus")),
    "status in capitals": (("DONE", ""), not_a_choice("DONE")),
    "status with markup": ((SCRIPT, ""), not_a_choice(SCRIPT)),
    # 実施時期 is a year and month: anything but 2027-03 or 2027年3月 gets the one message.
    "emoji in planned time": (("planned", f"2027年{EMOJI}"), MONTH_INPUT_ERROR),
    "ZWJ emoji in planned time": (("planned", ZWJ_FAMILY), MONTH_INPUT_ERROR),
    "control character in planned time": (("planned", "2027年\x1b3月"), MONTH_INPUT_ERROR),
    "RLO in planned time": (("planned", "\u202e2027年3月"), MONTH_INPUT_ERROR),
    "null in planned time": (("planned", "2027\x00"), MONTH_INPUT_ERROR),
    "10 001 characters of planned time": (("planned", LONG), MONTH_INPUT_ERROR),
}


@pytest.mark.parametrize("answer, message", REFUSED_ANSWERS.values(), ids=REFUSED_ANSWERS.keys())
def test_hostile_answers_are_refused_and_no_answer_is_changed(staff, sheet, answer, message):
    checklist = sheet.checklist
    before, counts = answers_state(checklist), table_counts()
    # Answer 0 is a valid change: it must not be saved with the refused answer 1.
    data = checklist_post_data(checklist, a0=("planned", "2027年3月"), a1=answer)
    response = post_answers(staff, checklist, data)
    assert_refused(response, message)
    assert answers_state(checklist) == before
    assert table_counts() == counts


@pytest.mark.parametrize("planned_time", [SCRIPT, QUOTES, f"{RARE_KANJI}ビル移転後", "あ" * 40])
def test_planned_time_with_markup_or_rare_kanji_is_refused_and_shown_again_escaped(
    staff, sheet, planned_time
):
    checklist = sheet.checklist
    before = answers_state(checklist)
    response = post_answers(staff, checklist, checklist_post_data(checklist, a1=("planned", planned_time)))
    assert_refused(response, MONTH_INPUT_ERROR)
    assert answers_state(checklist) == before
    body = response.content.decode()
    assert_inert(body)
    assert html.escape(planned_time) in body


def tamper(data, **changes):
    """`data` with answers__TOTAL_FORMS=… set (answers-TOTAL_FORMS), or removed when None."""
    data = dict(data)
    for key, value in changes.items():
        key = key.replace("__", "-")
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_total_forms_tampered_to_10000_is_refused(staff, sheet):
    checklist = sheet.checklist
    before, counts = answers_state(checklist), table_counts()
    data = tamper(checklist_post_data(checklist, a0=("planned", "2027年3月")), answers__TOTAL_FORMS=10_000)
    response = post_answers(staff, checklist, data)
    assert_refused(response, "最大で 0 個のフォームを送信してください。")
    assert answers_state(checklist) == before
    assert table_counts() == counts


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"answers__TOTAL_FORMS": None, "answers__INITIAL_FORMS": None}, id="no management form"),
        pytest.param({"answers__TOTAL_FORMS": "abc"}, id="total forms not a number"),
        pytest.param({"answers__TOTAL_FORMS": SCRIPT}, id="total forms with markup"),
    ],
)
def test_missing_or_malformed_management_form_is_refused(staff, sheet, changes):
    checklist = sheet.checklist
    before = answers_state(checklist)
    data = tamper(checklist_post_data(checklist, a0=("planned", "2027年3月")), **changes)
    response = post_answers(staff, checklist, data)
    assert_refused(response, "ManagementForm のデータが不足しているか改竄されています。")
    assert_inert(response.content.decode())
    assert answers_state(checklist) == before


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"answers__TOTAL_FORMS": "-1"}, id="total forms negative"),
        pytest.param({"answers__INITIAL_FORMS": str(10**20)}, id="initial forms huge"),
    ],
)
def test_out_of_range_management_counts_store_nothing_but_the_answers_sent(staff, sheet, changes):
    """Django reads a negative TOTAL_FORMS as no forms and a huge INITIAL_FORMS as
    "every form is an existing answer": either way only what was sent may be stored."""
    checklist = sheet.checklist
    before = answers_state(checklist)
    sent = [before[0][:1] + ("planned", "2027年3月"), *before[1:]]
    data = tamper(checklist_post_data(checklist, a0=("planned", "2027年3月")), **changes)
    response = post_answers(staff, checklist, data)
    assert_no_500(response)
    assert response.status_code in (200, 302)
    assert answers_state(checklist) in (before, sent)


def test_answer_ids_of_another_checklist_are_refused_and_neither_checklist_changes(staff, sheet, other_org):
    mine, theirs = sheet.checklist, other_org.sheet.checklist
    before_mine, before_theirs = answers_state(mine), answers_state(theirs)
    data = checklist_post_data(mine, a0=("planned", "乗っ取り"), a1=("planned", "乗っ取り"))
    their_ids = [a.pk for a in theirs.ordered_answers()]
    data |= {"answers-0-id": their_ids[0], "answers-1-id": their_ids[1]}
    response = post_answers(staff, mine, data)
    assert_refused(response)  # the admin's error note: the hidden id has no visible field
    assert answers_state(mine) == before_mine
    assert answers_state(theirs) == before_theirs


def test_parent_checklist_of_another_organization_is_refused(staff, sheet, other_org):
    mine, theirs = sheet.checklist, other_org.sheet.checklist
    before_mine, before_theirs = answers_state(mine), answers_state(theirs)
    data = checklist_post_data(mine, a0=("planned", "2027年3月"))
    data["answers-0-checklist"] = theirs.pk
    response = post_answers(staff, mine, data)
    assert_refused(response)
    assert answers_state(mine) == before_mine
    assert answers_state(theirs) == before_theirs


@pytest.mark.parametrize("answer_id", ["abc", "-1", "0", str(10**20), "1 OR 1=1", ""])
def test_malformed_answer_id_is_refused(staff, sheet, answer_id):
    checklist = sheet.checklist
    before = answers_state(checklist)
    data = checklist_post_data(checklist, a0=("planned", "2027年3月"))
    data["answers-0-id"] = answer_id
    response = post_answers(staff, checklist, data)
    assert_refused(response)
    assert answers_state(checklist) == before


def test_the_same_answer_sent_twice_touches_no_other_answer(staff, sheet):
    """Two forms for one answer is Django's last-form-wins; it must not spill over."""
    checklist = sheet.checklist
    before = answers_state(checklist)
    data = checklist_post_data(checklist, a0=("planned", "2027年3月"), a1=("done", ""))
    data["answers-1-id"] = data["answers-0-id"]
    response = post_answers(staff, checklist, data)
    assert_no_500(response)
    after = answers_state(checklist)
    assert after[1:] == before[1:]
    assert after[0][1:] in (before[0][1:], ("planned", "2027年3月"))


# === adding an organisation ====================================================

REFUSED_SLUGS = {
    "path traversal": ("../etc", NOT_A_SLUG),
    "space": ("a b", NOT_A_SLUG),
    "Japanese": ("日本語", NOT_A_SLUG),
    "slash": ("a/b", NOT_A_SLUG),
    "percent-encoded": ("%2e%2e", NOT_A_SLUG),
    "markup": (SCRIPT, NOT_A_SLUG),
    "null": ("a\x00b", NULL_MESSAGE),
    "full-width letters": ("ｑｏｌｅａｄ", NOT_A_SLUG),
    "admin": ("admin", "「admin」はURL名に使えません。"),
    "ADMIN in capitals": ("ADMIN", "「ADMIN」はURL名に使えません。"),
    "static": ("static", "「static」はURL名に使えません。"),
    "51 characters": ("a" * 51, too_long(50, 51)),
    "10 001 characters": ("a" * 10_001, too_long(50, 10_001)),
    "blank": ("", "このフィールドは必須です。"),
    "taken": ("qolead", "この URL名 を持った 代行機関 が既に存在します。"),
}


@pytest.mark.parametrize("slug, message", REFUSED_SLUGS.values(), ids=REFUSED_SLUGS.keys())
def test_malformed_or_reserved_slug_is_refused_and_nothing_is_created(staff, example_org, slug, message):
    counts = table_counts()
    response = staff.post(reverse("admin:disclosures_organization_add"), organization_add_data(slug=slug))
    assert_refused(response, message)
    assert table_counts() == counts


REFUSED_ORGANIZATION_NAMES = {
    "10 001 characters": (LONG, too_long(100, len(LONG))),
    "null": ("株式\x00会社", NULL_MESSAGE),
    # The name is copied into the draft sheet's 機関名, which refuses these.
    "control character": ("株式会社\x1b[31m", CONTROL_MESSAGE),
    "RLO": ("\u202e株式会社", CONTROL_MESSAGE),
    "emoji": (f"株式会社{EMOJI}", UNPRINTABLE_MESSAGE),
}


@pytest.mark.parametrize(
    "name, message", REFUSED_ORGANIZATION_NAMES.values(), ids=REFUSED_ORGANIZATION_NAMES.keys()
)
def test_unprintable_or_overlong_organization_name_is_refused_and_nothing_is_created(
    staff, example_org, name, message
):
    counts = table_counts()
    response = staff.post(reverse("admin:disclosures_organization_add"), organization_add_data(name=name))
    assert_refused(response, message)
    assert table_counts() == counts


@pytest.mark.parametrize("name", [SCRIPT, f"{RARE_KANJI}{QUOTES}", ATTRIBUTE_BREAKER])
def test_organization_named_with_markup_is_created_and_escaped_in_the_admin(staff, example_org, name):
    response = staff.post(reverse("admin:disclosures_organization_add"), organization_add_data(name=name))
    assert response.status_code == 302
    organization = Organization.objects.get(slug="kenpo-agency")
    assert organization.name == organization.sheet.name == name
    for url in (
        reverse("admin:disclosures_organization_changelist"),
        reverse("admin:disclosures_organization_change", args=[organization.pk]),
        reverse("admin:disclosures_disclosuresheet_changelist"),
        sheet_url(organization.sheet),
        checklist_url(organization.sheet.checklist),
        preview_url(organization.sheet),
        publish_url(organization.sheet),
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert_inert(response.content.decode())


# === checklist templates (a superuser types a guideline edition) ================

TEMPLATE_TEXTS = [
    ("ChecklistTemplate", "guideline_title"),
    ("ChecklistTemplate", "title"),
    ("ChecklistTemplate", "preamble"),
    ("ChecklistTemplate", "instructions"),
    ("Section", "title"),
    ("Note", "text"),
    ("Item", "text"),
]
REFUSED_TEMPLATE_TEXT = {
    "emoji": (f"安全管理{EMOJI}", UNPRINTABLE_MESSAGE),
    "family emoji": (f"安全管理{ZWJ_FAMILY}", CONTROL_MESSAGE),
    "right-to-left override": ("\u202e安全管理", CONTROL_MESSAGE),
    "escape": ("\x1b[31m安全管理", CONTROL_MESSAGE),
}


def template_row(official_template, model_name):
    return {
        "ChecklistTemplate": lambda: official_template,
        "Section": lambda: official_template.sections.first(),
        "Note": lambda: official_template.notes.first(),
        "Item": lambda: Item.objects.filter(section__template=official_template).first(),
    }[model_name]()


@pytest.mark.parametrize("value, message", REFUSED_TEMPLATE_TEXT.values(), ids=REFUSED_TEMPLATE_TEXT.keys())
@pytest.mark.parametrize("model_name, field", TEMPLATE_TEXTS, ids=[".".join(t) for t in TEMPLATE_TEXTS])
def test_template_texts_obey_the_same_printable_rule_as_the_sheet(
    official_template, model_name, field, value, message
):
    row = template_row(official_template, model_name)
    setattr(row, field, value)
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert any(message in text for text in error.value.message_dict[field])


@pytest.mark.parametrize("value, message", REFUSED_TEMPLATE_TEXT.values(), ids=REFUSED_TEMPLATE_TEXT.keys())
def test_template_sub_items_obey_the_printable_rule(official_template, value, message):
    item = Item.objects.filter(section__template=official_template).first()
    item.sub_items = ["規程の整備", value]
    with pytest.raises(ValidationError) as error:
        item.full_clean()
    assert any(message in text for text in error.value.message_dict["sub_items"])


def test_the_official_template_passes_the_printable_rule(official_template):
    for row in [
        official_template,
        *official_template.sections.all(),
        *official_template.notes.all(),
        *Item.objects.filter(section__template=official_template),
    ]:
        row.full_clean()


class FormReader(HTMLParser):
    """What a browser would send for the page's main form, as it is."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.data, self._textarea, self._select = {}, None, None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data[name] = attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.removeprefix("\n") if not self.data[self._textarea] else data


def form_as_sent(client, url):
    data = FormReader(client.get(url).content.decode()).data
    data.pop("csrfmiddlewaretoken", None)
    return data


@pytest.mark.parametrize("value, message", REFUSED_TEMPLATE_TEXT.values(), ids=REFUSED_TEMPLATE_TEXT.keys())
def test_template_title_typed_in_the_admin_is_refused_and_nothing_is_stored(
    staff, official_template, value, message
):
    url = reverse("admin:checklist_checklisttemplate_change", args=[official_template.pk])
    data = form_as_sent(staff, url)
    assert staff.post(url, data).status_code == 302  # the page as it is saves
    before = row(official_template)
    response = staff.post(url, {**data, "title": value, "sections-0-title": value})
    assert_refused(response, message)
    assert row(official_template) == before
    assert row(official_template.sections.get(order=1))["title"] != value


@pytest.mark.parametrize("value, message", REFUSED_TEMPLATE_TEXT.values(), ids=REFUSED_TEMPLATE_TEXT.keys())
def test_item_text_typed_in_the_admin_is_refused_and_nothing_is_stored(
    staff, official_template, value, message
):
    section = official_template.sections.get(order=1)
    url = reverse("admin:checklist_section_change", args=[section.pk])
    data = form_as_sent(staff, url)
    assert staff.post(url, data).status_code == 302
    item = section.items.order_by("number").first()
    before = row(item)
    response = staff.post(url, {**data, "items-0-text": value})
    assert_refused(response, message)
    assert row(item) == before


@pytest.mark.parametrize("templates", ["none", "none marked default"])
def test_adding_an_organization_without_a_default_checklist_template_says_why_and_creates_nothing(
    staff, db, request, templates
):
    if templates == "none":
        # The session loads the official template: take it away (items first, their notes are protected).
        Item.objects.all().delete()
        ChecklistTemplate.objects.all().delete()
    else:
        # What a superuser does by unticking 新規の機関に使う on the template.
        request.getfixturevalue("official_template")
        ChecklistTemplate.objects.update(is_default=False)
    counts = table_counts()
    response = staff.post(reverse("admin:disclosures_organization_add"), organization_add_data())
    assert_no_500(response)
    assert response.status_code == 200
    assert "チェックリスト様式が登録されていません。" in page_text(response)
    assert table_counts() == counts


# === the publish view ===========================================================


@pytest.fixture
def changed_draft(sheet):
    """The example's draft, changed since its version 1, so it can be published."""
    change_sheet(sheet, hours_system="24時間 365日")
    return sheet


@pytest.mark.parametrize(
    "note, message",
    [
        pytest.param(LONG, too_long(1000, len(LONG)), id="10 001 characters"),
        pytest.param("", "変更内容を入力してください。", id="blank"),
        pytest.param(" \u3000\n", "変更内容を入力してください。", id="whitespace only"),
        pytest.param("更新\x00", NULL_MESSAGE, id="null"),
    ],
)
def test_publish_with_a_bad_change_note_is_refused_and_publishes_nothing(staff, changed_draft, note, message):
    before, counts = row(changed_draft), table_counts()
    response = staff.post(publish_url(changed_draft), {"change_note": note})
    assert_refused(response, message)
    assert table_counts() == counts
    assert row(changed_draft) == before


@pytest.mark.parametrize(
    "effective_date, message",
    [
        ("2021-02-30", NOT_A_DATE),
        ("昨日", NOT_A_DATE),
        ("99999999999999999999-01-01", NOT_A_DATE),
        ("9999-12-31", "最終更新日に未来の日付は指定できません。"),
    ],
)
def test_first_publication_with_an_impossible_effective_date_publishes_nothing(
    staff, other_org, effective_date, message
):
    counts = table_counts()
    response = staff.post(
        publish_url(other_org.sheet), {"change_note": "初版", "effective_date": effective_date}
    )
    assert_no_500(response)
    assert response.status_code == 200
    assert message in page_text(response)
    assert table_counts() == counts


def test_first_publication_accepts_an_effective_date_typed_the_japanese_way(staff, other_org):
    response = staff.post(
        publish_url(other_org.sheet), {"change_note": "初版", "effective_date": "2021年4月1日"}
    )
    assert response.status_code == 302
    assert other_org.publications.get().sheet_updated_on.isoformat() == "2021-04-01"


def test_effective_date_sent_for_a_later_version_is_ignored(staff, changed_draft):
    response = staff.post(publish_url(changed_draft), {"change_note": "更新", "effective_date": "2001-01-01"})
    assert response.status_code == 302
    publication = Publication.objects.get(organization=changed_draft.organization, number=2)
    assert publication.sheet_updated_on.isoformat() != "2001-01-01"


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "options"])
def test_only_a_post_publishes(staff, changed_draft, method):
    counts = table_counts()
    response = getattr(staff, method)(publish_url(changed_draft), {"change_note": "更新"})
    assert_no_500(response)
    assert table_counts() == counts


HOSTILE_NOTE = f'<b>重要</b>{SCRIPT}{QUOTES}{RARE_KANJI}\n2行目 <img src=x onerror="alert(2)">'


@pytest.fixture
def hostile_note_version(staff, changed_draft):
    response = staff.post(publish_url(changed_draft), {"change_note": HOSTILE_NOTE})
    assert response.status_code == 302
    return Publication.objects.get(organization=changed_draft.organization, number=2)


def test_hostile_change_note_is_published_verbatim(hostile_note_version):
    assert hostile_note_version.change_note == HOSTILE_NOTE


@pytest.mark.parametrize("url", ["/qolead/versions/", "/qolead/versions/2/diff/"])
def test_hostile_change_note_is_escaped_on_public_pages(public, hostile_note_version, url):
    response = public.get(url)
    assert response.status_code == 200
    page = assert_inert(response.content.decode())
    assert "<b>重要</b>" not in response.content.decode()
    assert squeeze(HOSTILE_NOTE) in squeeze(page.text)


def test_hostile_change_note_is_escaped_html_in_the_feed(public, hostile_note_version):
    body = public.get("/qolead/feed/").content
    assert b"<script" not in body and b"<img" not in body
    entry = ET.fromstring(body).find(f"{ATOM}entry")
    summary = entry.find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    # The summary's text is HTML for the feed reader: it must itself be inert.
    page = assert_inert(summary.text)
    assert "<b>" not in summary.text and "<img" not in summary.text
    assert squeeze(HOSTILE_NOTE) in squeeze(page.text)


def test_hostile_change_note_is_verbatim_in_json(public, hostile_note_version):
    document = json.loads(public.get("/qolead/versions/2.json").content)
    assert document["publication"]["change_note"] == HOSTILE_NOTE


@pytest.mark.parametrize("value", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
def test_change_note_with_control_characters_never_breaks_the_public_urls(
    staff, public, changed_draft, value
):
    """Refusing the note or publishing it are both fine; a feed, list or JSON
    that can no longer be served is not."""
    response = staff.post(publish_url(changed_draft), {"change_note": f"更新 {value}"})
    assert_no_500(response)
    for url in ("/qolead/feed/", "/qolead/versions/", "/qolead/current.json", "/qolead/"):
        response = public.get(url)
        assert_no_500(response)
        assert response.status_code == 200, url
    ET.fromstring(public.get("/qolead/feed/").content)


def test_failed_pdf_rendering_publishes_nothing_and_says_why(staff, changed_draft, monkeypatch):
    def fail(*args, **kwargs):
        raise PdfRenderError(["フォントを読み込めません。"])

    monkeypatch.setattr("disclosures.publishing.render_publication_pdf", fail)
    before, answers, counts = row(changed_draft), answers_state(changed_draft.checklist), table_counts()
    response = staff.post(publish_url(changed_draft), {"change_note": "更新"})
    assert_no_500(response)
    assert response.status_code == 200
    assert PDF_FAILED in page_text(response) and "フォントを読み込めません。" in page_text(response)
    assert table_counts() == counts
    assert row(changed_draft) == before
    assert answers_state(changed_draft.checklist) == answers


def test_crash_while_rendering_the_pdf_stores_nothing(staff, changed_draft, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("WeasyPrint crashed")

    monkeypatch.setattr("disclosures.publishing.render_publication_pdf", crash)
    before, counts = row(changed_draft), table_counts()
    staff.post(publish_url(changed_draft), {"change_note": "更新"})
    assert table_counts() == counts
    assert row(changed_draft) == before


# === admin URLs with hostile ids and query strings ==============================

HOSTILE_OBJECT_IDS = ["abc", "-1", "0", str(10**20), "1 OR 1=1", "1;DROP", "%00", "..%2f..%2f"]


@pytest.mark.parametrize("object_id", HOSTILE_OBJECT_IDS)
@pytest.mark.parametrize(
    "name",
    [
        "disclosures_disclosuresheet_change",
        "disclosures_organization_change",
        "checklist_checklist_change",
        "disclosures_publication_change",
        "disclosures_disclosuresheet_history",
    ],
)
def test_admin_change_pages_with_malformed_ids_are_not_found(staff, sheet, name, object_id):
    response = staff.get(reverse(f"admin:{name}", args=[object_id]))
    assert_no_500(response)
    assert response.status_code in (302, 404)


@pytest.mark.parametrize(
    "path", ["99999/publish/", f"{10**20}/publish/", "99999/preview/", f"{10**20}/preview/"]
)
def test_publish_and_preview_of_unknown_sheets_are_not_found(staff, sheet, path):
    base = reverse("admin:disclosures_disclosuresheet_changelist")
    response = staff.get(base + path)
    assert_no_500(response)
    assert response.status_code == 404


HOSTILE_QUERIES = {
    "search with markup": {"q": SCRIPT},
    "search 10 001 characters": {"q": LONG},
    "search with null": {"q": "a\x00b"},
    "unknown ordering": {"o": "999"},
    "ordering with markup": {"o": SCRIPT},
    "negative page": {"p": "-1"},
    "huge page": {"p": str(10**20)},
    "unknown filter": {"nonexistent__field": "1"},
    "filter with markup": {"sheet__classification": SCRIPT},
}


@pytest.mark.parametrize("query", HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
@pytest.mark.parametrize(
    "name",
    [
        "disclosures_organization",
        "disclosures_disclosuresheet",
        "checklist_checklist",
        "disclosures_publication",
    ],
)
def test_admin_lists_survive_hostile_query_strings(staff, sheet, name, query):
    response = staff.get(reverse(f"admin:{name}_changelist"), query)
    assert_no_500(response)
    # 302: the admin's ?e=1 for a bad lookup; 400: a lookup the admin does not allow.
    assert response.status_code in (200, 302, 400)
    assert_inert(response.content.decode())


@pytest.mark.parametrize(
    "query",
    [
        {"published_at__year": "abc"},
        {"published_at__year": "9999"},
        {"published_at__year": "9999", "published_at__month": "12"},
        {"published_at__year": str(10**20)},
        {"published_at__year": "2024", "published_at__month": "13"},
        {"published_at__year": "2024", "published_at__month": "2", "published_at__day": "30"},
    ],
    ids=["year not a number", "year 9999", "December 9999", "year 10**20", "month 13", "30 February"],
)
def test_publication_list_survives_impossible_date_hierarchy_values(staff, sheet, query):
    response = staff.get(reverse("admin:disclosures_publication_changelist"), query)
    assert_no_500(response)
    # 400: the list has no date filter, so these lookups are not allowed at all.
    assert response.status_code in (200, 302, 400)


# === every registered admin: hostile lookups and history ids ====================
#
# Django's own admins (users, groups), the third-party ones (axes, django-otp) and
# ours: every filter of every list, the date hierarchy and lookups on the primary
# key, given out-of-range and malformed values; every history URL given malformed
# ids. None may be a 500 on SQLite or PostgreSQL.

REGISTERED_ADMINS = {model._meta.label: model_admin for model, model_admin in admin.site._registry.items()}
# 2**31: past PostgreSQL's integer (auth ids); 2**63: past SQLite's and bigint.
OUT_OF_RANGE = [str(10**20), str(-(10**20)), f"1,{10**20}", str(2**31), str(2**63)]
MALFORMED = ["abc", "1.5", "", "1,abc", "-", "9999", "a\x00b", SCRIPT]
HOSTILE_HISTORY_IDS = ["abc", "1.5", "-1", "0", str(10**20), "1 OR 1=1", "%00"]


def changelist_url(model_admin):
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def lookup_parameters(model_admin, user):
    """The query-string parameters the admin's list reads: its filters' own (and
    each __exact also as __in, as a hand-made URL would write it), the date
    hierarchy's, and lookups on the primary key."""
    request = RequestFactory().get(changelist_url(model_admin))
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    parameters = {name for spec in changelist.filter_specs for name in spec.expected_parameters()}
    parameters |= {name.removesuffix("__exact") + "__in" for name in parameters if name.endswith("__exact")}
    # A relation compared directly: ?groups__in=…, ?template=…
    parameters |= {
        name.split("__")[0] + suffix
        for name in parameters
        if "__id__" in name
        for suffix in ("", "__in", "__gt")
    }
    if model_admin.date_hierarchy:
        parameters |= {f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    pk = model_admin.model._meta.pk.name
    parameters |= {f"{pk}__exact", f"{pk}__in", f"{pk}__gt", f"{pk}__lt", "pk__in"}
    return sorted(parameters)


def hostile_lookup_failures(client, url, parameter, value, **more):
    """What went wrong with ?parameter=value: a 500, or an out-of-range id that matched rows."""
    response = client.get(url, {parameter: value, **more})
    if response.status_code == 302 and response["Location"].endswith("?e=1"):
        # The admin's own answer to a lookup it cannot apply: back to the list.
        refused = client.get(response["Location"])
        return [] if refused.status_code == 200 else [(parameter, value, f"?e=1: {refused.status_code}")]
    if response.status_code not in (200, 400):
        return [(parameter, value, response.status_code)]
    exact_or_in = parameter.endswith(("__exact", "__in", "__year"))
    if value in OUT_OF_RANGE and exact_or_in and response.status_code == 200 and response.context:
        changelist = response.context.get("cl")
        if changelist is not None and changelist.result_count:
            return [(parameter, value, f"{changelist.result_count} rows")]
    return []


@pytest.mark.parametrize("label", sorted(REGISTERED_ADMINS))
def test_every_admin_list_survives_out_of_range_and_malformed_lookups(staff, superuser, other_org, label):
    model_admin = REGISTERED_ADMINS[label]
    url = changelist_url(model_admin)
    failures = [
        failure
        for parameter in lookup_parameters(model_admin, superuser)
        for value in [*OUT_OF_RANGE, *MALFORMED]
        for failure in hostile_lookup_failures(staff, url, parameter, value)
    ]
    # With the facet counts on, each filter counts its choices under the same lookups.
    failures += [
        failure
        for parameter in lookup_parameters(model_admin, superuser)
        for value in OUT_OF_RANGE[:1]
        for failure in hostile_lookup_failures(staff, url, parameter, value, _facets="True")
    ]
    assert not failures, failures


@pytest.mark.parametrize(
    "url_name, parameter",
    [
        ("admin:disclosures_publication_changelist", "organization__id__in"),
        ("admin:checklist_checklist_changelist", "template__id__in"),
        ("admin:checklist_section_changelist", "template__id__in"),
        ("admin:auth_user_changelist", "groups__id__in"),
    ],
)
def test_the_reviews_out_of_range_lookups_are_refused_with_400(staff, sheet, url_name, parameter):
    response = staff.get(reverse(url_name), {parameter: "9" * 20})
    assert_no_500(response)
    assert response.status_code == 400
    assert "使えない値が含まれています" in response.content.decode()


@pytest.mark.parametrize("label", sorted(REGISTERED_ADMINS))
def test_every_admin_history_page_with_a_malformed_id_is_not_found(staff, sheet, label):
    opts = REGISTERED_ADMINS[label].model._meta
    for object_id in HOSTILE_HISTORY_IDS:
        response = staff.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[object_id]))
        assert_no_500(response)
        # 302: Django's own "no such object" redirect to the admin index.
        assert response.status_code in (302, 404), object_id


HISTORY_ADMINS = sorted(
    label for label, model_admin in REGISTERED_ADMINS.items() if isinstance(model_admin, SimpleHistoryAdmin)
)


def test_history_admins_are_the_audited_models():
    assert HISTORY_ADMINS == [
        "disclosures.DisclosureSheet",
        "disclosures.Organization",
        "disclosures.PublicationRequest",
    ]


def audited(model, sheet, user):
    """The model, with at least one object and its history row (a publication
    request is asked for when there is none)."""
    if model is PublicationRequest and not model.objects.exists():
        change_sheet(sheet, hours_system="24時間")
        ask_for_publication(sheet, user=user, note="確認をお願いします。")
    return model


@pytest.mark.parametrize("label", HISTORY_ADMINS)
def test_history_versions_with_a_malformed_id_are_not_found(staff, superuser, sheet, label):
    model = audited(REGISTERED_ADMINS[label].model, sheet, superuser)
    obj = model.objects.first()
    opts = model._meta
    for version_id in HOSTILE_HISTORY_IDS:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_simple_history", args=[obj.pk, version_id])
        response = staff.get(url)
        assert_no_500(response)
        assert response.status_code == 404, version_id


@pytest.mark.parametrize("label", HISTORY_ADMINS)
def test_history_version_of_a_malformed_object_id_is_not_found(staff, superuser, sheet, label):
    model = audited(REGISTERED_ADMINS[label].model, sheet, superuser)
    record = model.history.first()
    opts = model._meta
    for object_id in HOSTILE_HISTORY_IDS:
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_simple_history", args=[object_id, record.history_id]
        )
        response = staff.get(url)
        assert_no_500(response)
        assert response.status_code == 404, object_id


# === public URLs ================================================================

MALFORMED_PUBLIC_PATHS = [
    "/%00/",
    "/%00/versions/1/",
    "/qolead%00/",
    "/qolead/versions/-1/",
    "/qolead/versions/0/",
    "/qolead/versions/01/",
    "/qolead/versions/1e3/",
    "/qolead/versions/1.5/",
    "/qolead/versions/99999999999999999999/",
    "/qolead/versions/999999999/",
    "/qolead/versions/999999999.json",
    "/qolead/versions/999999999/pdf/",
    "/qolead/versions/999999999/diff/",
    "/qolead/versions/1/../../admin/",
    "/qolead/versions/１/",
    "/qolead/versions/%F0%9F%98%80/",
    "/qolead/versions/%3Cscript%3E/",
    "/" + "a" * 5000 + "/",
    "/" + "a" * 5000 + "/versions/1/",
    "/" + "a" * 5000 + "/feed/",
    "/QOLEAD/",
    "/nobody/",
    "/nobody/feed/",
    "/nobody/current.json",
    "/nobody/pdf/",
    "/nobody/versions/",
    "/qolead%2F..%2Fadmin/",
    "/%E2%80%AEqolead/",
    "/%FF%FE/",
    "/%3Cscript%3Ealert(1)%3C%2Fscript%3E/",
    "/qolead/current.json/",
    "/qolead/versions/1.JSON",
]


@pytest.mark.parametrize("path", MALFORMED_PUBLIC_PATHS)
def test_malformed_public_urls_are_404_never_500(public, example_org, path):
    response = public.get(path)
    assert_no_500(response)
    assert response.status_code == 404
    assert_inert(response.content.decode())


PUBLIC_URLS = [
    "/qolead/",
    "/qolead/current.json",
    "/qolead/pdf/",
    "/qolead/feed/",
    "/qolead/versions/",
    "/qolead/versions/1/",
    "/qolead/versions/1.json",
    "/qolead/versions/1/pdf/",
    "/qolead/versions/1/diff/",
]
UNSAFE_METHODS = ["post", "put", "patch", "delete"]


@pytest.mark.parametrize("method", UNSAFE_METHODS)
@pytest.mark.parametrize("url", ["/", *PUBLIC_URLS])
def test_unsafe_methods_on_public_urls_are_405(public, example_org, url, method):
    response = getattr(public, method)(url, {"change_note": SCRIPT})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("method", UNSAFE_METHODS)
@pytest.mark.parametrize("url", ["/", *PUBLIC_URLS])
def test_unsafe_methods_without_csrf_token_are_403(example_org, url, method):
    """A browser's request is checked for its CSRF token before the view can say 405."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    response = getattr(client, method)(url, {"change_note": SCRIPT})
    assert response.status_code == 403


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_head_on_public_urls_is_200_with_an_empty_body(public, example_org, url):
    response = public.head(url)
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"] == public.get(url)["Content-Type"]


@pytest.mark.parametrize("url", ["/", *PUBLIC_URLS])
def test_options_on_public_urls_is_refused_not_a_crash(public, example_org, url):
    response = public.options(url)
    assert_no_500(response)
    assert response.status_code == 405


# One of each kind of response: page, JSON, PDF, feed.
SAMPLE_URLS = ["/qolead/versions/1/", "/qolead/current.json", "/qolead/versions/1/pdf/", "/qolead/feed/"]


@pytest.mark.parametrize("url", SAMPLE_URLS)
@pytest.mark.parametrize(
    "query",
    [
        {"q": SCRIPT},
        {"callback": "alert"},
        {"format": "<style>body{display:none}</style>"},
        {"x": "a\x00b"},
        {"x": "a" * 10_001},
    ],
    ids=["script", "callback", "style", "null", "10 001 characters"],
)
def test_query_strings_are_ignored_and_never_reflected(public, example_org, url, query):
    response = public.get(url, query)
    assert response.status_code == 200
    assert response.content == public.get(url).content
    if response["Content-Type"].startswith("text/html"):
        assert_inert(response.content.decode())


@pytest.mark.parametrize("url", SAMPLE_URLS)
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_IF_NONE_MATCH": SCRIPT},
        {"HTTP_IF_NONE_MATCH": "W/" + '"x",' * 5000},
        {"HTTP_IF_MODIFIED_SINCE": "Sat, 99 Foo 99999 99:99:99 GMT"},
        {"HTTP_IF_MODIFIED_SINCE": "9" * 5000},
        {"HTTP_IF_MATCH": '"nope"', "HTTP_IF_UNMODIFIED_SINCE": "garbage"},
        {"HTTP_RANGE": "bytes=-99999999999999999999"},
        {"HTTP_ACCEPT_LANGUAGE": "x" * 10_000},
        {"HTTP_ACCEPT": SCRIPT},
    ],
    ids=[
        "etag markup",
        "10 000 etags",
        "impossible date",
        "5000 digits",
        "if-match",
        "range",
        "language",
        "accept",
    ],
)
def test_hostile_request_headers_are_not_a_crash(public, example_org, url, headers):
    response = public.get(url, **headers)
    assert_no_500(response)
    assert response.status_code in (200, 304, 412)


def test_unknown_host_is_refused_with_400(public, example_org):
    response = public.get("/qolead/", HTTP_HOST="evil.example<script>")
    assert response.status_code == 400


# === escaping of a version full of hostile text =================================

HOSTILE_SCRIPT = '<script>alert("x")</script>'
HOSTILE_VALUES = {
    "name": f"株式会社{RARE_KANJI}{HOSTILE_SCRIPT}",
    "address": f"東京都{QUOTES}{STYLE}",
    "hours_office": ATTRIBUTE_BREAKER,
    "financial_reference": f"1行目{HOSTILE_SCRIPT}\n2行目{QUOTES}{RARE_KANJI}",
    "required_equipment": '<a href="javascript:alert(1)">リンク</a>',
    "website_url": 'https://example.jp/?q="><script>alert(1)</script>',
}


# 実施時期 typed is a month; hostile text can only be an unconverted value from before
# (planned_time_text), shown to staff and never published.
PLANNED_MONTH = "2031年3月"
HOSTILE_PLANNED_TIME = f"{HOSTILE_SCRIPT}{RARE_KANJI}"


@pytest.fixture
def hostile_draft(staff, sheet):
    """The hostile values typed into the sheet form, and a hostile 実施時期 into
    the checklist, through the admin."""
    response = post_sheet(staff, sheet, **HOSTILE_VALUES)
    assert response.status_code == 302, page_text(response)[:3000]
    data = checklist_post_data(sheet.checklist, a0=("planned", PLANNED_MONTH))
    assert post_answers(staff, sheet.checklist, data).status_code == 302
    return sheet


@pytest.fixture
def hostile_version(staff, hostile_draft):
    """Version 2: the hostile draft published through the admin."""
    sheet = hostile_draft
    response = staff.post(publish_url(sheet), {"change_note": HOSTILE_SCRIPT})
    assert response.status_code == 302, page_text(response)[:3000]
    return Publication.objects.get(organization=sheet.organization, number=2)


HTML_PAGES = ["/qolead/", "/qolead/versions/2/", "/qolead/versions/2/diff/", "/qolead/versions/"]


@pytest.mark.parametrize("url", HTML_PAGES)
def test_hostile_values_are_escaped_on_public_pages(public, hostile_version, url):
    response = public.get(url)
    assert response.status_code == 200
    page = assert_inert(response.content.decode())
    assert squeeze(HOSTILE_SCRIPT) in squeeze(page.text)
    if url != "/qolead/versions/":
        for value in (*HOSTILE_VALUES.values(), PLANNED_MONTH):
            assert squeeze(value) in squeeze(page.text), value


def test_hostile_values_are_escaped_in_the_current_page_markup(public, hostile_version):
    body = public.get("/qolead/").content.decode()
    assert html.escape(HOSTILE_SCRIPT) in body
    assert html.escape(ATTRIBUTE_BREAKER) in body
    assert 'href="https://example.jp/?q=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in body


@pytest.mark.parametrize("view", ["preview", "publish", "sheet", "checklist", "dashboard"])
def test_hostile_draft_is_escaped_in_the_admin(staff, hostile_draft, view):
    """The publish page lists the changes since version 1: every hostile value."""
    sheet = hostile_draft
    if view != "publish":  # which would list it as a problem, not show the changes
        legacy = sheet.checklist.ordered_answers()[1]
        legacy.status, legacy.planned_time_text = "planned", HOSTILE_PLANNED_TIME
        legacy.save()
    url = {
        "preview": preview_url(sheet),
        "publish": publish_url(sheet),
        "sheet": sheet_url(sheet),
        "checklist": checklist_url(sheet.checklist),
        "dashboard": reverse("admin:index"),
    }[view]
    response = staff.get(url)
    assert response.status_code == 200
    page = assert_inert(response.content.decode())
    if view in ("preview", "publish"):
        planned = HOSTILE_PLANNED_TIME if view == "preview" else PLANNED_MONTH
        for value in (HOSTILE_VALUES["name"], HOSTILE_VALUES["address"], planned):
            assert squeeze(value) in squeeze(page.text), value
    if view in ("checklist", "dashboard"):
        assert squeeze(HOSTILE_PLANNED_TIME) in squeeze(page.text)


def test_hostile_values_are_verbatim_in_json(public, hostile_version):
    document = json.loads(public.get("/qolead/versions/2.json").content)
    for name, value in HOSTILE_VALUES.items():
        assert document["sheet"]["values"][name] == value
    assert document["publication"]["change_note"] == HOSTILE_SCRIPT
    assert json.loads(public.get("/qolead/current.json").content) == document


def test_hostile_values_leave_the_feed_well_formed_and_inert(public, hostile_version):
    body = public.get("/qolead/feed/").content
    assert b"<script" not in body and b"<style" not in body
    feed = ET.fromstring(body)
    assert feed.find(f"{ATOM}title").text.startswith(HOSTILE_VALUES["name"])
    summary = feed.find(f"{ATOM}entry").find(f"{ATOM}summary")
    assert MarkupReader(summary.text).text == HOSTILE_SCRIPT
    assert_inert(summary.text)


def test_hostile_name_is_percent_encoded_in_the_pdf_download_name(public, hostile_version):
    disposition = public.get("/qolead/versions/2/pdf/")["Content-Disposition"]
    ascii_part, utf8_name = disposition.split("; filename*=UTF-8''")
    assert ascii_part.startswith('attachment; filename="qolead-v2-')
    assert not set(utf8_name) & set("\"<>'; \r\n")


@pytest.mark.real_pdf
def test_hostile_values_are_printed_literally_in_the_real_pdf(public, hostile_version):
    reader = PdfReader(io.BytesIO(public.get("/qolead/versions/2/pdf/").content))
    text = squeeze("".join(page.extract_text() for page in reader.pages))
    assert squeeze(HOSTILE_VALUES["name"]) in text
    assert squeeze(HOSTILE_VALUES["financial_reference"]) in text
    assert squeeze(PLANNED_MONTH) in text
    for char in RARE_KANJI:
        assert char in text
