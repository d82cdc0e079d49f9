"""E-mail subscriptions: double opt-in, a mail per new version, one-click unsubscribe.

The mail goes through the background tasks to the real SMTP server of the tests
(the `smtp_server` fixture); `run_queued_tasks()` is the worker.
"""

import io
import re
import time
import zipfile
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from disclosure_portal.mail import queue_email
from disclosures.models import Publication, PublicationQuerySet
from disclosures.publishing import NothingChanged, publish
from subscriptions import throttle
from subscriptions.models import Subscription
from subscriptions.notify import notify_subscribers
from subscriptions.tokens import (
    CONFIRMATION_MAX_AGE,
    CONFIRMATION_SALT,
    read_unsubscribe_token,
    unsubscribe_token,
)

from .factories import change_sheet, new_organization
from .smtp import free_port, run_queued_tasks
from .test_security import CLIENT_A, CLIENT_B, PASSWORD, admin_login, behind_tls_proxy, via_proxy  # noqa: F401

pytestmark = pytest.mark.django_db

SITE = "https://disclosure.example.jp"
LINK = re.compile(r"https://disclosure\.example\.jp/\S+")


def mail_tasks():
    return DBTaskResult.objects.filter(task_path="disclosure_portal.mail.send_email")


def subscribe(client, email, slug="qolead", **headers):
    url = (
        reverse("subscriptions:subscribe", kwargs={"slug": slug})
        if slug
        else reverse("subscriptions:subscribe_all")
    )
    return client.post(url, {"email": email}, **headers)


def confirmation_link(inbox, email):
    """The link of the latest confirmation mail sent to `email` (the worker runs first)."""
    run_queued_tasks()
    body = inbox.body(inbox.to(email)[-1])
    (link,) = [url for url in LINK.findall(body) if "/subscribe/confirm/" in url]
    return link.removeprefix(SITE)


def subscribed(client, inbox, email, slug="qolead"):
    """Subscribe `email` as a visitor does: the form, the mail's link, the button."""
    assert subscribe(client, email, slug).status_code == 200
    link = confirmation_link(inbox, email)
    assert client.post(link).status_code == 200
    return Subscription.objects.get(email=email)


def new_version(organization, note="システムの稼働時間を変更しました。"):
    change_sheet(organization.sheet, hours_system=f"24時間 365日稼働（{note}）")
    return publish(organization.sheet, change_note=note)


@pytest.fixture
def kenshin(example_org):
    """A second published agency."""
    organization = new_organization("kenshin", "健診代行株式会社")
    publish(organization.sheet, change_note="初版")
    return organization


# --- Subscribing: double opt-in ------------------------------------------------------------


def test_subscribing_sends_a_confirmation_mail_and_stores_nothing_until_confirmed(example_org, smtp_server):
    client = Client(enforce_csrf_checks=True)  # no CSRF cookie on public pages: none is needed
    response = subscribe(client, "tanaka@example.jp")

    assert response.status_code == 200
    assert "確認のメールを送りました" in response.content.decode()
    assert not Subscription.objects.exists()
    run_queued_tasks()
    (mail,) = smtp_server.to("tanaka@example.jp")
    assert mail["Subject"].strip() == "【代行機関 重要事項の開示】更新のお知らせの登録確認"
    body = smtp_server.body(mail)
    assert "「株式会社QOLead」の重要事項が更新されたとき" in body
    assert "48時間以内" in body
    assert re.search(r"https://disclosure\.example\.jp/subscribe/confirm/\S+/", body)
    assert not Subscription.objects.exists(), "nothing is stored before the link is followed"


def test_the_link_asks_for_a_click_and_the_click_subscribes(client, example_org, smtp_server):
    subscribe(client, "tanaka@example.jp")
    link = confirmation_link(smtp_server, "tanaka@example.jp")

    page = client.get(link)
    assert page.status_code == 200
    assert "「株式会社QOLead」の更新のお知らせ" in page.content.decode()
    assert 'method="post"' in page.content.decode()
    assert not Subscription.objects.exists(), "a mail scanner that opens the link subscribes no one"

    done = client.post(link)
    assert done.status_code == 200
    assert "登録しました" in done.content.decode()
    subscription = Subscription.objects.get()
    assert (subscription.email, subscription.organization) == ("tanaka@example.jp", example_org)

    assert client.post(link).status_code == 200, "a second click changes nothing"
    assert Subscription.objects.count() == 1


def test_subscribing_to_all_agencies(client, example_org, smtp_server):
    subscription = subscribed(client, smtp_server, "all@example.jp", slug=None)
    assert subscription.organization is None
    body = smtp_server.body(smtp_server.to("all@example.jp")[0])
    assert "すべての代行機関の重要事項が更新されたとき" in body


def test_an_address_typed_in_full_width_is_read_as_half_width(client, example_org, smtp_server):
    assert subscribe(client, "ｔａｎａｋａ＠Ｅｘａｍｐｌｅ．ＪＰ").status_code == 200
    run_queued_tasks()
    assert smtp_server.recipients() == ["tanaka@example.jp"]


def test_only_a_published_agency_can_be_subscribed_to(client, other_org):
    assert client.get("/other-agency/subscribe/").status_code == 404
    assert subscribe(client, "tanaka@example.jp", slug="other-agency").status_code == 404
    assert client.get("/no-such-agency/subscribe/").status_code == 404
    assert not mail_tasks().exists()


def test_subscribe_is_no_organisations_url_name():
    from django.core.exceptions import ValidationError

    from disclosures.models import validate_slug_not_reserved

    with pytest.raises(ValidationError):
        validate_slug_not_reserved("subscribe")


# --- The same answer whether subscribed or not ---------------------------------------------


def test_the_answer_is_the_same_whether_or_not_the_address_is_subscribed(client, example_org, smtp_server):
    first = subscribe(client, "tanaka@example.jp")
    Subscription.objects.create(email="tanaka@example.jp", organization=example_org)
    second = subscribe(client, "tanaka@example.jp")

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers.keys() == second.headers.keys()


def test_an_address_already_subscribed_is_told_so_by_mail_with_how_to_stop(client, example_org, smtp_server):
    subscription = subscribed(client, smtp_server, "tanaka@example.jp")
    subscribe(client, "TANAKA@example.jp")
    run_queued_tasks()

    mail = smtp_server.to("TANAKA@example.jp")[-1]
    assert mail["Subject"].strip() == "【代行機関 重要事項の開示】更新のお知らせは登録済みです"
    body = smtp_server.body(mail)
    assert "すでに登録されています" in body
    assert "/subscribe/confirm/" not in body
    assert mail["List-Unsubscribe"].strip() in [f"<{url}>" for url in LINK.findall(body)]
    assert Subscription.objects.get() == subscription


# --- A mail for each new version -----------------------------------------------------------


def test_a_new_version_mails_its_subscribers_and_those_of_all_agencies(
    client, example_org, kenshin, smtp_server
):
    subscribed(client, smtp_server, "qolead-fan@example.jp")
    subscribed(client, smtp_server, "kenshin-fan@example.jp", slug="kenshin")
    subscribed(client, smtp_server, "everything@example.jp", slug=None)
    smtp_server.messages.clear()

    new_version(example_org, "システムの稼働時間を24時間に変更しました。")
    assert smtp_server.messages == [], "sent by the worker, not by publish()"
    run_queued_tasks()

    assert smtp_server.recipients() == ["everything@example.jp", "qolead-fan@example.jp"]
    for mail in smtp_server.messages:
        assert mail["Subject"].strip() == "【代行機関 重要事項の開示】株式会社QOLead 第2版を公開しました"
        body = smtp_server.body(mail)
        assert "システムの稼働時間を24時間に変更しました。" in body
        links = LINK.findall(body)
        for path in ("/qolead/versions/2/", "/qolead/versions/2/diff/", "/qolead/versions/2/pdf/"):
            assert SITE + path in links
            assert client.get(path).status_code == 200
        (unsubscribe,) = [url for url in links if "/subscribe/stop/" in url]
        assert mail["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_an_address_subscribed_to_the_agency_and_to_all_gets_one_mail_with_both_ways_to_stop(
    client, example_org, smtp_server
):
    own = subscribed(client, smtp_server, "tanaka@example.jp")
    subscribe(client, "tanaka@example.jp", slug=None)
    client.post(confirmation_link(smtp_server, "tanaka@example.jp"))
    everything = Subscription.objects.get(organization=None)
    smtp_server.messages.clear()

    new_version(example_org)
    run_queued_tasks()

    (mail,) = smtp_server.messages
    body = smtp_server.body(mail)
    stops = [url for url in LINK.findall(body) if "/subscribe/stop/" in url]
    tokens = [url.rstrip("/").rsplit("/", 1)[1] for url in stops]
    assert [read_unsubscribe_token(token) for token in tokens] == [own.pk, everything.pk]
    assert mail["List-Unsubscribe"].strip() == f"<{stops[0]}>", "the agency's own subscription first"
    assert "「株式会社QOLead」の更新のお知らせを停止する" in body
    assert "すべての代行機関の更新のお知らせを停止する" in body


def test_the_first_version_of_a_new_agency_mails_the_subscribers_of_all(client, example_org, smtp_server):
    subscribed(client, smtp_server, "everything@example.jp", slug=None)
    smtp_server.messages.clear()
    organization = new_organization("kenshin", "健診代行株式会社")
    publish(organization.sheet, change_note="初版を公開しました。")
    run_queued_tasks()

    (mail,) = smtp_server.messages
    body = smtp_server.body(mail)
    assert "初版を公開しました。" in body
    assert f"{SITE}/kenshin/versions/1/" in body
    assert f"{SITE}/kenshin/versions/1/pdf/" in body
    assert "/diff/" not in body, "a first version has no previous one to compare with"


def test_a_name_with_a_line_break_gives_a_one_line_subject(client, example_org, smtp_server):
    subscribed(client, smtp_server, "tanaka@example.jp")
    smtp_server.messages.clear()
    change_sheet(example_org.sheet, name="株式会社\nQOLead")
    publish(example_org.sheet, change_note="名称を2行にしました。")
    run_queued_tasks()

    (mail,) = smtp_server.messages
    assert mail["Subject"].strip() == "【代行機関 重要事項の開示】株式会社 QOLead 第2版を公開しました"
    assert "株式会社 QOLead が重要事項の開示を更新しました。" in smtp_server.body(mail)


def test_a_failing_mail_server_does_not_fail_publish(client, example_org, smtp_server, settings):
    subscribed(client, smtp_server, "tanaka@example.jp")
    settings.EMAIL_PORT = free_port()  # nobody listens there

    publication = new_version(example_org)
    run_queued_tasks()

    assert Publication.objects.filter(organization=example_org).count() == 2
    assert client.get(publication.get_absolute_url()).status_code == 200
    failed = DBTaskResult.objects.get(status="FAILED")
    assert failed.args_kwargs["kwargs"]["to"] == "tanaka@example.jp"
    assert DBTaskResult.objects.filter(status="READY").count() == 1, "tried again later"


def test_a_failure_to_enqueue_does_not_fail_publish(client, example_org, smtp_server, caplog):
    subscribed(client, smtp_server, "tanaka@example.jp")
    with mock.patch("django_tasks.base.Task.enqueue", side_effect=RuntimeError("queue unavailable")):
        publication = new_version(example_org)

    assert publication.number == 2
    assert Publication.objects.filter(organization=example_org).count() == 2
    assert "Could not enqueue the subscribers' mail for qolead version 2" in caplog.text


def test_a_publish_that_fails_mails_no_one(client, example_org, smtp_server):
    subscribed(client, smtp_server, "tanaka@example.jp")
    smtp_server.messages.clear()
    with pytest.raises(NothingChanged):
        publish(example_org.sheet, change_note="変更なし")
    run_queued_tasks()
    assert smtp_server.messages == []


def test_a_scheduled_notice_is_sent_at_its_time(client, example_org, smtp_server):
    subscribed(client, smtp_server, "tanaka@example.jp")
    publication = new_version(example_org)
    run_queued_tasks()
    smtp_server.messages.clear()

    go_live = timezone.now() + timedelta(hours=2)
    notify_subscribers(publication, run_after=go_live)
    run_queued_tasks()
    assert smtp_server.messages == [], "not before go-live"

    with mock.patch("django.utils.timezone.now", return_value=go_live + timedelta(seconds=1)):
        run_queued_tasks()
    run_queued_tasks()  # the mails it queued, due now
    assert smtp_server.recipients() == ["tanaka@example.jp"]


def test_a_version_not_public_when_the_task_runs_mails_no_one(client, example_org, smtp_server):
    """The task asks the public querysets at send time: a version they do not show
    (a cancelled or not yet live scheduled publication) mails nothing."""
    subscribed(client, smtp_server, "tanaka@example.jp")
    smtp_server.messages.clear()
    publication = new_version(example_org)
    public = PublicationQuerySet.for_slug

    def without_version_2(self, slug):
        return public(self, slug).exclude(number=2)

    with mock.patch.object(PublicationQuerySet, "for_slug", without_version_2):
        run_queued_tasks()
    assert smtp_server.messages == []
    assert DBTaskResult.objects.get(args_kwargs__kwargs__publication_id=publication.pk).status == "SUCCESSFUL"


# --- Unsubscribing -------------------------------------------------------------------------


def unsubscribe_url_of_the_latest_mail(inbox):
    return inbox.messages[-1]["List-Unsubscribe"].strip().strip("<>").removeprefix(SITE)


def test_the_unsubscribe_link_deletes_the_subscription_at_once(client, example_org, smtp_server):
    subscribed(client, smtp_server, "tanaka@example.jp")
    new_version(example_org)
    run_queued_tasks()
    url = unsubscribe_url_of_the_latest_mail(smtp_server)

    page = client.get(url)

    assert page.status_code == 200
    assert "「株式会社QOLead」の更新のお知らせのメールを停止し" in page.content.decode()
    assert not Subscription.objects.filter(email="tanaka@example.jp").exists()
    assert client.get(url).status_code == 200, "a second click says it is stopped"
    smtp_server.messages.clear()
    new_version(example_org, "もう一度更新しました。")
    run_queued_tasks()
    assert smtp_server.messages == []


def test_unsubscribing_deletes_the_address_from_the_mail_queue_records_too(client, example_org, smtp_server):
    subscribed(client, smtp_server, "tanaka@example.jp")
    subscribed(client, smtp_server, "suzuki@example.jp")
    new_version(example_org)
    run_queued_tasks()
    queue_email(to="tanaka@example.jp", subject="公開を依頼しました", body="staff mail")  # not ours to delete
    url = [m for m in smtp_server.to("tanaka@example.jp") if m["List-Unsubscribe"]][-1]["List-Unsubscribe"]

    client.get(url.strip().strip("<>").removeprefix(SITE))

    addressed = [task.args_kwargs["kwargs"] for task in mail_tasks()]
    assert [(m["to"], m["subject"]) for m in addressed if m["to"] == "tanaka@example.jp"] == [
        ("tanaka@example.jp", "公開を依頼しました")
    ]
    assert any(m["to"] == "suzuki@example.jp" for m in addressed)


def test_one_click_unsubscribe_by_post_as_rfc_8058_asks(example_org, smtp_server):
    subscribed(Client(), smtp_server, "tanaka@example.jp")
    new_version(example_org)
    run_queued_tasks()
    url = unsubscribe_url_of_the_latest_mail(smtp_server)
    mail_client = Client(enforce_csrf_checks=True)  # no cookie, no CSRF token: as a mail client posts

    response = mail_client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert not Subscription.objects.exists()


def test_a_post_without_the_one_click_body_unsubscribes_no_one(example_org, smtp_server):
    subscription = subscribed(Client(), smtp_server, "tanaka@example.jp")
    new_version(example_org)
    run_queued_tasks()
    url = unsubscribe_url_of_the_latest_mail(smtp_server)

    response = Client().post(url, {"something": "else"})

    assert response.status_code == 400
    assert "List-Unsubscribe=One-Click" in response.content.decode()
    assert Subscription.objects.get() == subscription


def test_a_head_request_does_not_unsubscribe(client, example_org, smtp_server):
    subscribed(client, smtp_server, "tanaka@example.jp")
    new_version(example_org)
    run_queued_tasks()
    assert client.head(unsubscribe_url_of_the_latest_mail(smtp_server)).status_code == 200
    assert Subscription.objects.exists()


# --- Links that cannot be used -------------------------------------------------------------


def test_an_expired_confirmation_link_shows_a_japanese_page_and_subscribes_no_one(
    client, example_org, smtp_server
):
    too_old = int(time.time() - CONFIRMATION_MAX_AGE.total_seconds() - 60)
    with mock.patch.object(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(too_old)):
        subscribe(client, "tanaka@example.jp")
    link = confirmation_link(smtp_server, "tanaka@example.jp")

    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400
        assert "有効期限（48時間）が切れています" in response.content.decode()
    assert not Subscription.objects.exists()


def tampered(link):
    token = link.rstrip("/").rsplit("/", 1)[1]
    payload, rest = token.split(":", 1)
    forged = signing.b64_encode(b'{"e":"victim@example.jp","o":null}').decode()
    return link.replace(token, f"{forged}:{rest}")


def test_a_tampered_confirmation_link_shows_a_japanese_page(client, example_org, smtp_server):
    subscribe(client, "tanaka@example.jp")
    link = confirmation_link(smtp_server, "tanaka@example.jp")

    for url in (tampered(link), link[:-5] + "/", "/subscribe/confirm/not-a-token/"):
        response = client.post(url)
        assert response.status_code == 400, url
        assert "このリンクは正しくありません" in response.content.decode()
    assert not Subscription.objects.exists()


def test_a_token_signed_for_something_else_is_refused(client, example_org, smtp_server):
    subscription = subscribed(client, smtp_server, "tanaka@example.jp")
    # An unsubscribe token is no confirmation token, and a signed text that is no
    # JSON object is no token at all.
    not_json = signing.TimestampSigner(salt=CONFIRMATION_SALT).sign("12345")
    for token in (unsubscribe_token(subscription), not_json):
        response = client.post(reverse("subscriptions:confirm", kwargs={"token": token}))
        assert response.status_code == 400
    confirmation = confirmation_link(smtp_server, "tanaka@example.jp").rstrip("/").rsplit("/", 1)[1]
    response = client.get(reverse("subscriptions:unsubscribe", kwargs={"token": confirmation}))
    assert response.status_code == 400
    assert Subscription.objects.get() == subscription


def test_a_tampered_unsubscribe_link_deletes_nothing(client, example_org, smtp_server):
    subscription = subscribed(client, smtp_server, "tanaka@example.jp")
    other = Subscription.objects.create(email="other@example.jp", organization=example_org)
    forged = f"{other.pk}:" + unsubscribe_token(subscription).split(":", 1)[1]

    response = client.get(reverse("subscriptions:unsubscribe", kwargs={"token": forged}))

    assert response.status_code == 400
    assert "このリンクは正しくありません" in response.content.decode()
    assert Subscription.objects.count() == 2


def test_an_overlong_or_odd_token_is_a_404(client):
    assert client.get("/subscribe/confirm/" + "a" * 601 + "/").status_code == 404
    assert client.get("/subscribe/stop/a%20b/").status_code == 404


# --- Throttling ----------------------------------------------------------------------------


def test_confirmation_mails_to_one_address_are_throttled(client, example_org, smtp_server):
    for _ in range(throttle.PER_ADDRESS):
        assert subscribe(client, "tanaka@example.jp").status_code == 200
    response = subscribe(client, "Tanaka@example.jp", slug=None)

    assert response.status_code == 429
    assert "しばらくしてからお申し込みください" in response.content.decode()
    assert "1日3通まで" in response.content.decode()
    run_queued_tasks()
    assert len(smtp_server.to("tanaka@example.jp")) == throttle.PER_ADDRESS
    assert subscribe(client, "suzuki@example.jp").status_code == 200, "other addresses still can"


def test_the_address_throttle_ends_after_a_day(client, example_org, smtp_server):
    for _ in range(throttle.PER_ADDRESS):
        subscribe(client, "tanaka@example.jp")
    assert subscribe(client, "tanaka@example.jp").status_code == 429
    with mock.patch("django.core.cache.backends.locmem.time.time", return_value=time.time() + 24 * 3600 + 1):
        assert subscribe(client, "tanaka@example.jp").status_code == 200


def test_subscriptions_from_one_client_are_throttled(client, example_org, smtp_server):
    for n in range(throttle.PER_CLIENT):
        assert subscribe(client, f"user{n}@example.jp", REMOTE_ADDR=CLIENT_A).status_code == 200
    response = subscribe(client, "one-more@example.jp", REMOTE_ADDR=CLIENT_A)

    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "1時間に20件まで" in response.content.decode()
    assert subscribe(client, "one-more@example.jp", REMOTE_ADDR=CLIENT_B).status_code == 200
    run_queued_tasks()
    assert smtp_server.to("one-more@example.jp") and len(smtp_server.messages) == throttle.PER_CLIENT + 1


def test_behind_the_proxy_clients_are_throttled_apart_and_a_forged_header_does_not_help(
    client,
    example_org,
    behind_tls_proxy,  # noqa: F811
):
    for n in range(throttle.PER_CLIENT):
        # The attacker writes another address in front; the proxy appends the real one.
        assert (
            subscribe(client, f"user{n}@example.jp", **via_proxy(f"192.0.2.{n}, {CLIENT_A}")).status_code
            == 200
        )
    assert subscribe(client, "more@example.jp", **via_proxy(f"192.0.2.99, {CLIENT_A}")).status_code == 429
    assert subscribe(client, "more@example.jp", **via_proxy(CLIENT_B)).status_code == 200


def test_the_throttle_keeps_no_address_in_the_cache(client, example_org):
    from django.core.cache import cache

    subscribe(client, "tanaka@example.jp")
    keys = list(cache._cache.keys())
    assert keys and not any("tanaka" in key for key in keys)


# --- Hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email, message",
    [
        ("", "メールアドレスを入力してください。"),
        ("   ", "メールアドレスを入力してください。"),
        ("tanaka", "メールアドレスの形式が正しくありません"),
        ("tanaka@example.jp\r\nBcc: victim@example.jp", "メールアドレスの形式が正しくありません"),
        ("tanaka@example.jp,victim@example.jp", "メールアドレスの形式が正しくありません"),
        ("<script>alert(1)</script>@example.jp", "メールアドレスの形式が正しくありません"),
        ("田中@example.jp", "メールアドレスの形式が正しくありません"),
        ("tanaka\x00@example.jp", "制御文字など表示できない文字が含まれています。"),
        ("a" * 250 + "@example.jp", "メールアドレスは254文字以内で入力してください。"),
        ("a" * 100_000, "メールアドレスは254文字以内で入力してください。"),
    ],
)
def test_hostile_addresses_are_refused_in_japanese_and_nothing_is_sent(client, example_org, email, message):
    response = subscribe(client, email)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "<script>alert" not in page
    assert 'aria-invalid="true"' in page
    assert not mail_tasks().exists()
    assert not Subscription.objects.exists()


def test_a_form_without_the_field_or_a_list_of_values_is_refused(client, example_org):
    assert client.post("/qolead/subscribe/", {}).status_code == 400
    assert client.post("/qolead/subscribe/", {"email": ["a@example.jp", "b@example.jp"]}).status_code in (
        200,
        400,
    )
    assert client.put("/qolead/subscribe/").status_code == 405


# --- Pages: cookie-free, never cached, the portal's look, the agency page ------------------


def test_no_subscription_page_sets_a_cookie_or_may_be_cached(example_org, smtp_server, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)  # a staff member's session cookie, too
    responses = [
        client.get("/qolead/subscribe/"),
        client.get("/subscribe/"),
        subscribe(client, "tanaka@example.jp"),
        subscribe(client, "bad"),
    ]
    link = confirmation_link(smtp_server, "tanaka@example.jp")
    responses += [client.get(link), client.post(link)]
    subscription = Subscription.objects.get()
    stop = reverse("subscriptions:unsubscribe", kwargs={"token": unsubscribe_token(subscription)})
    responses += [client.get(stop), client.get(link[:-3] + "/")]
    for response in responses:
        assert response.status_code in (200, 400), response
        assert not response.cookies, response.cookies.output()
        assert "no-store" in response["Cache-Control"]
        assert "public" not in response["Cache-Control"]


def test_the_agency_page_has_the_form_and_stays_public_and_cookie_free(client, example_org):
    response = client.get("/qolead/")
    page = response.content.decode()

    assert 'action="/qolead/subscribe/"' in page
    assert 'name="email"' in page
    assert "csrfmiddlewaretoken" not in page
    assert "public" in response["Cache-Control"]
    assert not response.cookies
    assert client.get("/qolead/versions/1/").content.decode().count('action="/qolead/subscribe/"') == 1


def test_the_draft_preview_has_no_form(staff_client, sheet):
    from .factories import preview_url

    page = staff_client.get(preview_url(sheet)).content.decode()
    assert "subscribe-form" not in page


def test_the_form_uses_the_portals_template_pack_and_stylesheet_not_bootstrap(client, example_org):
    page = client.get("/qolead/subscribe/").content.decode()

    assert 'class="subscribe-form"' in page
    assert 'class="form-field"' in page
    assert 'class="button"' in page
    assert "form-control" not in page and "btn-primary" not in page
    assert "bootstrap" not in page.lower()
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert stylesheets == ["/static/css/portal.css"]
    assert "<style" not in page and "<script" not in page and " style=" not in page


def test_a_subscription_page_for_all_agencies(client, example_org):
    page = client.get("/subscribe/").content.decode()
    assert "すべての代行機関の更新をメールで受け取る" in page
    assert 'action="/subscribe/"' in page


# --- Addresses are never shown publicly ----------------------------------------------------


def test_addresses_are_never_shown_on_a_public_page_feed_json_or_archive(client, example_org, smtp_server):
    subscribed(client, smtp_server, "secret-reader@example.jp")
    subscribed(client, smtp_server, "secret-all@example.jp", slug=None)
    new_version(example_org)

    for url in (
        "/",
        "/qolead/",
        "/qolead/versions/",
        "/qolead/versions/2/",
        "/qolead/versions/2/diff/",
        "/qolead/current.json",
        "/qolead/feed/",
        "/qolead/subscribe/",
        "/subscribe/",
    ):
        body = client.get(url).content.decode()
        assert "secret-" not in body, url
    archive = client.get("/qolead/archive.zip")
    with zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))) as zipped:
        for name in zipped.namelist():
            assert b"secret-" not in zipped.read(name), name


def test_only_superusers_see_subscribers_in_the_admin(staff_client, example_org, editor):
    Subscription.objects.create(email="secret-reader@example.jp", organization=example_org)
    url = reverse("admin:subscriptions_subscription_changelist")

    page = staff_client.get(url)
    assert page.status_code == 200
    assert "secret-reader@example.jp" in page.content.decode()

    client = Client()
    client.force_login(editor)
    assert client.get(url).status_code == 403
    assert "更新のお知らせ" not in client.get(reverse("admin:index")).content.decode()
