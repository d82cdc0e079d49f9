"""Hostile input on issue 15's public forms and parameters, beyond what
test_directory.py, test_comparison.py and test_subscriptions.py already send: the
directory's q= of 10,000 characters, RTL override, emoji and SQL-ish text, absurd page
numbers and repeated parameters; /compare/ with o= repeated 1,000 times or holding
control characters; the subscription forms (one agency and all agencies) with a bare
line feed header injection, an over-long, a Unicode or an RTL-overridden address.

Never a 500, always a Japanese message, nothing stored or sent for a refused address.
Requests go through a client made with raise_request_exception=False, so that a crash
is a 500 status here rather than an exception.
"""

from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from disclosures import directory
from disclosures.models import DirectoryEntry
from subscriptions.models import Subscription

from .factories import new_organization, publish_change
from .smtp import run_queued_tasks
from .test_directory import DirectoryReader

pytestmark = pytest.mark.django_db

RTL_OVERRIDE = "\u202e"
EMOJI = "😀"


@pytest.fixture
def anyone():
    return Client(raise_request_exception=False)


@pytest.fixture
def two(example_org):
    """qolead and kenshin (健診代行株式会社), both published."""
    kenshin = new_organization("kenshin", "健診代行株式会社")
    publish_change(kenshin.sheet, "初版")
    return example_org, kenshin


def names_and_errors(response):
    assert response.status_code == 200, response.status_code
    page = DirectoryReader(response.content.decode())
    return sorted(entry["名称"] for entry in page.entries), page.errors


# --- the directory ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "found", "message"),
    [
        ("健" * 10_000, [], "100文字以内で入力してください。キーワードでは絞り込まずに表示しています。"),
        (f"{RTL_OVERRIDE}健診", [], "制御文字など表示できない文字が含まれています。"),
        (f"健診{EMOJI}", [], None),
        (EMOJI, [], None),
        ("' OR 1=1 --", [], None),
        ('"; DROP TABLE disclosures_directoryentry; --', [], None),
        ("%' UNION SELECT email FROM subscriptions_subscription --", [], None),
        ("健診\x00代行", [], "制御文字など表示できない文字が含まれています。"),
    ],
    ids=["10000-characters", "rtl-override", "emoji-after-a-word", "emoji", "or-1-1", "drop", "union", "nul"],
)
def test_hostile_keywords_are_answered_never_an_error(anyone, two, q, found, message):
    names, errors = names_and_errors(anyone.get("/", {"q": q}))
    if message:
        # Refused: named in Japanese, the keyword left out (every agency shown).
        assert any(message in error for error in errors), errors
        assert names == ["健診代行株式会社", "株式会社QOLead"]
    else:
        assert errors == [] and names == found
    assert DirectoryEntry.objects.count() == 2  # nothing a keyword could do to the table


def test_a_keyword_is_shown_back_in_the_field_escaped(anyone, two):
    q = f'"><script>alert(1)</script>{RTL_OVERRIDE}'
    html = anyone.get("/", {"q": q}).content.decode()
    assert "<script>alert(1)" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize("page", ["-1", "99999999999999999999", "1" + "0" * 400, "2.5", EMOJI, "1\x00"])
def test_absurd_page_numbers_show_the_first_page_in_japanese(anyone, two, page):
    names, errors = names_and_errors(anyone.get("/", {"page": page}))
    assert names == ["健診代行株式会社", "株式会社QOLead"]
    assert len(errors) == 1 and errors[0].endswith("ページはありません。1ページ目を表示しています。")


def test_a_full_width_page_number_is_read_as_the_number(anyone, two, monkeypatch):
    monkeypatch.setattr(directory, "PAGE_SIZE", 1)
    names, errors = names_and_errors(anyone.get("/", {"page": "２"}))
    assert names == ["株式会社QOLead"] and errors == []


def test_parameters_repeated_a_thousand_times_are_no_error(anyone, two):
    query = "&".join(["o=qolead"] * 500 + ["classification=institution_group"] * 500)
    names, errors = names_and_errors(anyone.get(f"/?{query}"))
    assert names == ["健診代行株式会社"] and errors == []
    names, errors = names_and_errors(anyone.get("/?" + "&".join(["page=1"] * 1000)))
    assert len(names) == 2 and errors == []


def test_more_parameters_than_django_reads_get_the_japanese_400_page(anyone, two):
    response = anyone.get("/?" + "&".join(["o=qolead"] * 1001))  # DATA_UPLOAD_MAX_NUMBER_FIELDS
    assert response.status_code == 400
    assert "URLまたは検索条件に使えない値が含まれています" in response.content.decode()


# --- /compare/ -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("&".join(["o=qolead"] * 1000), "指定が長すぎます。"),
        ("&".join(["o=q"] * 300), "指定が多すぎます。"),
        ("o=qolead&o=kenshin%00", "代行機関の指定が正しくありません。"),
        (f"o=qolead&o={quote(RTL_OVERRIDE)}kenshin", "代行機関の指定が正しくありません。"),
        (f"o=qolead&o={quote(EMOJI)}", "代行機関の指定が正しくありません。"),
        (f"o=qolead&o={quote(chr(39) + ' OR 1=1 --')}", "代行機関の指定が正しくありません。"),
    ],
    ids=["o-1000-times", "o-300-short", "nul", "rtl-override", "emoji", "sql"],
)
@pytest.mark.parametrize("path", ["/compare/", "/compare/csv/"])
def test_hostile_comparisons_are_refused_in_japanese(anyone, two, query, message, path):
    response = anyone.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()


# --- subscribing -------------------------------------------------------------------------


def mail_tasks():
    return DBTaskResult.objects.filter(task_path="disclosure_portal.mail.send_email")


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("a@example.jp\nBcc: x@y", "メールアドレスの形式が正しくありません"),
        ("a@example.jp\rBcc: x@y", "メールアドレスの形式が正しくありません"),
        ("a@example.jp%0ABcc:x@y.jp", "メールアドレスの形式が正しくありません"),
        (f"a{RTL_OVERRIDE}@example.jp", "制御文字など表示できない文字が含まれています。"),
        (f"{EMOJI}@example.jp", "メールアドレスの形式が正しくありません"),
        ("a@" + "b" * 300 + ".jp", "メールアドレスは254文字以内で入力してください。"),
        ("a" * 10_000 + "@example.jp", "メールアドレスは254文字以内で入力してください。"),
        ("' OR 1=1 --@example.jp", "メールアドレスの形式が正しくありません"),
    ],
    ids=[
        "lf-bcc",
        "cr-bcc",
        "encoded-lf",
        "rtl-override",
        "emoji",
        "long-domain",
        "10000",
        "sql",
    ],
)
@pytest.mark.parametrize("path", ["/qolead/subscribe/", "/subscribe/"])
def test_hostile_addresses_are_refused_on_both_forms(anyone, two, smtp_server, email, message, path):
    response = anyone.post(path, {"email": email})
    assert response.status_code == 400
    assert message in response.content.decode()
    run_queued_tasks()
    assert smtp_server.messages == [] and not mail_tasks().exists()
    assert not Subscription.objects.exists()


def test_a_line_feed_around_an_address_is_trimmed_and_adds_no_header(anyone, two, smtp_server):
    assert anyone.post("/subscribe/", {"email": "\na@example.jp\n"}).status_code == 200
    run_queued_tasks()
    (mail,) = smtp_server.messages
    assert mail.envelope_recipients == ["a@example.jp"]
    assert mail["To"] == "a@example.jp" and mail["Bcc"] is None


def test_a_unicode_domain_is_accepted_and_mailed_as_punycode(anyone, two, smtp_server):
    response = anyone.post("/subscribe/", {"email": "tanaka@例え.jp"})
    assert response.status_code == 200
    run_queued_tasks()
    (mail,) = smtp_server.messages
    assert mail.envelope_recipients == ["tanaka@xn--r8jz45g.jp"]


def test_a_form_post_with_an_odd_encoding_or_body_is_no_error(anyone, two):
    body = urlencode({"email": "a@example.jp"}).encode("utf-16")
    response = anyone.post("/qolead/subscribe/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "メールアドレスを入力してください。" in response.content.decode()
    response = anyone.post(
        "/subscribe/", b"\xff\xfe\x00email=\xff", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (200, 400)
    assert response.status_code != 500
