"""Roles per organisation, the audit trail, authentication and HTTP hardening."""

import datetime
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from disclosures.models import DisclosureSheet, Membership, Organization, Publication
from disclosures.publishing import publish

from .factories import (
    PASSWORD,
    ROOT,
    checklist_post_data,
    checklist_url,
    logged_in,
    member,
    new_organization,
    sheet_post_data,
    sheet_url,
)

pytestmark = pytest.mark.django_db

# --- roles ---------------------------------------------------------------


def test_member_lists_show_only_their_organizations(editor, other_org):
    client = logged_in(editor)
    for name in ("disclosures_disclosuresheet", "checklist_checklist", "disclosures_organization"):
        page = client.get(reverse(f"admin:{name}_changelist")).content.decode()
        assert "株式会社QOLead" in page, name
        assert "他機関株式会社" not in page, name


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:disclosures_disclosuresheet_change",
        "admin:disclosures_disclosuresheet_history",
        "admin:disclosures_disclosuresheet_preview",
        "admin:disclosures_disclosuresheet_publish",
    ],
)
def test_another_organizations_sheet_is_not_found_by_url(editor, other_org, url_name):
    response = logged_in(editor).get(reverse(url_name, args=[other_org.sheet.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url_name", ["admin:checklist_checklist_change", "admin:checklist_checklist_history"]
)
def test_another_organizations_checklist_is_not_found_by_url(editor, other_org, url_name):
    response = logged_in(editor).get(reverse(url_name, args=[other_org.sheet.checklist_id]))
    assert response.status_code == 404


def test_another_organizations_sheet_cannot_be_changed_by_post(editor, other_org):
    sheet = other_org.sheet
    response = logged_in(editor).post(sheet_url(sheet), sheet_post_data(sheet, name="乗っ取り"))
    assert response.status_code == 404
    sheet.refresh_from_db()
    assert sheet.name == "他機関株式会社"


def test_answers_of_another_checklist_cannot_be_changed_by_form_tampering(editor, other_org, sheet):
    own, foreign = sheet.checklist, other_org.sheet.checklist
    data = checklist_post_data(own)
    foreign_answer = foreign.ordered_answers()[0]
    data["answers-0-id"] = foreign_answer.pk  # an id from the other organisation
    data["answers-0-status"] = "planned"
    data["answers-0-planned_time"] = "2030年"
    response = logged_in(editor).post(checklist_url(own), data)
    assert response.status_code == 200  # the form is shown again with an error
    foreign_answer.refresh_from_db()
    assert foreign_answer.status == ""
    assert not own.answers.filter(status="planned").exists()


def test_another_organizations_publication_is_not_found(editor, other_org, example_org):
    publication = example_org.publications.get()
    outsider = member(type(editor), other_org, Membership.Role.PUBLISHER, "outsider")
    url = reverse("admin:disclosures_publication_change", args=[publication.pk])
    assert logged_in(outsider).get(url).status_code == 404
    assert logged_in(editor).get(url).status_code == 200


def test_editor_edits_the_draft_but_cannot_publish(editor, sheet):
    client = logged_in(editor)
    assert client.post(sheet_url(sheet), sheet_post_data(sheet, hours_system="平日のみ")).status_code == 302
    response = client.post(
        reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]), {"change_note": "更新"}
    )
    assert response.status_code == 403
    assert "公開責任者" in response.content.decode()
    assert Publication.objects.count() == 1


def test_publisher_publishes_their_organization(publisher, sheet):
    client = logged_in(publisher)
    client.post(sheet_url(sheet), sheet_post_data(sheet, hours_system="平日のみ"))
    response = client.post(
        reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]), {"change_note": "更新"}
    )
    assert response.status_code == 302
    assert Publication.objects.get(number=2).published_by == publisher


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:disclosures_organization_add"),
        reverse("admin:checklist_checklisttemplate_changelist"),
        reverse("admin:checklist_section_changelist"),
        reverse("admin:auth_user_changelist"),
    ],
)
def test_members_cannot_manage_organizations_templates_or_users(publisher, url):
    assert logged_in(publisher).get(url).status_code == 403


def test_members_see_their_organization_read_only_without_memberships(publisher, example_org):
    url = reverse("admin:disclosures_organization_change", args=[example_org.pk])
    page = logged_in(publisher).get(url).content.decode()
    assert 'name="name"' not in page
    assert "memberships-TOTAL_FORMS" not in page
    response = logged_in(publisher).post(url, {"slug": "stolen", "name": "x"})
    assert response.status_code == 403
    example_org.refresh_from_db()
    assert example_org.slug == "qolead"


def test_staff_without_membership_sees_nothing(django_user_model, sheet):
    clerk = django_user_model.objects.create_user("clerk", password=PASSWORD, is_staff=True)
    client = logged_in(clerk)
    assert client.get(sheet_url(sheet)).status_code in (403, 404)
    assert "重要事項の概要" not in client.get(reverse("admin:index")).content.decode()


class LinkCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def admin_links(page_url, body):
    """The admin pages a page links to, as paths with their query strings."""
    collector = LinkCollector()
    collector.feed(body)
    prefix = reverse("admin:index")
    for href in collector.links:
        url = urljoin(page_url, href)
        parts = urlsplit(url)
        if not parts.path.startswith(prefix) or parts.netloc not in ("", "testserver"):
            continue
        query = parse_qs(parts.query)
        # Column sorting multiplies the pages without showing anything new; logging
        # out would end the crawl.
        if "o" in query or parts.path == reverse("admin:logout"):
            continue
        yield parts.path + (f"?{parts.query}" if parts.query else "")


def test_an_editor_finds_no_other_organization_in_any_admin_page_they_can_open(editor, example_org):
    published = new_organization("tasha-kokai", "他社公開株式会社")
    publish(published.sheet, change_note="初版")
    Organization.create_with_drafts(slug="tasha-mikokai", name="他社未公開株式会社")
    leaks = ("他社公開", "他社未公開", "tasha-kokai", "tasha-mikokai")
    client = logged_in(editor)
    to_visit, seen, opened = [reverse("admin:index")], set(), []
    while to_visit and len(seen) < 400:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code in (200, 302, 403, 404), url
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        body = response.content.decode()
        opened.append(url)
        assert not [leak for leak in leaks if leak in body], url
        to_visit.extend(link for link in admin_links(url, body) if link not in seen)
    assert len(seen) < 400, "the crawl did not end"
    # Admin URLs no page links to: the autocomplete of members, "view on site".
    hidden = [
        reverse("admin:autocomplete") + "?app_label=disclosures&model_name=membership&field_name=user&term=",
        *(
            reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(model).pk, obj.pk])
            for model in (Organization, DisclosureSheet, Publication)
            for obj in model.objects.all()
        ),
    ]
    for url in hidden:
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        shown = response.content.decode() + response.get("Location", "")
        assert not [leak for leak in leaks if leak in shown], url
    # What an editor can open: their organisation, its draft and checklist, its
    # versions, each list's filters and each history.
    paths = {urlsplit(url).path for url in opened}
    sheet = example_org.sheet
    for expected in (
        reverse("admin:disclosures_publication_changelist"),
        reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
        reverse("admin:disclosures_disclosuresheet_history", args=[sheet.pk]),
        reverse("admin:disclosures_organization_history", args=[example_org.pk]),
        reverse("admin:checklist_checklist_change", args=[sheet.checklist_id]),
        reverse("admin:disclosures_publication_change", args=[example_org.publications.get().pk]),
    ):
        assert expected in paths
    assert any("?" in url for url in opened), "no filter link was followed"


# --- audit trail ---------------------------------------------------------


def test_sheet_change_is_recorded_with_who_when_and_old_and_new(editor, sheet):
    logged_in(editor).post(sheet_url(sheet), sheet_post_data(sheet, hours_system="平日のみ"))
    record = sheet.history.latest("history_date")
    delta = record.diff_against(record.prev_record)
    assert record.history_user == editor
    assert timezone.is_aware(record.history_date)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [
        ("hours_system", "24時間 365日稼働", "平日のみ")
    ]


def test_sheet_history_page_shows_the_change(editor, sheet):
    client = logged_in(editor)
    client.post(sheet_url(sheet), sheet_post_data(sheet, hours_system="平日のみ"))
    page = client.get(reverse("admin:disclosures_disclosuresheet_history", args=[sheet.pk])).content.decode()
    assert "平日のみ" in page and "editor" in page


def test_answer_changes_are_recorded_and_shown_on_the_checklist(editor, sheet):
    client = logged_in(editor)
    checklist = sheet.checklist
    client.post(checklist_url(checklist), checklist_post_data(checklist, a2=("planned", "2027年3月")))
    answer = checklist.ordered_answers()[2]
    assert answer.history.latest("history_date").history_user == editor
    page = client.get(checklist_url(checklist)).content.decode()
    assert "実施済" in page and "実施予定(2027年3月)" in page and "<td>editor</td>" in page


def test_membership_and_organization_changes_are_recorded(staff_client, example_org, django_user_model):
    user = django_user_model.objects.create_user("newcomer", password=PASSWORD, is_staff=True)
    staff_client.post(
        reverse("admin:disclosures_organization_change", args=[example_org.pk]),
        {
            "slug": "qolead",
            "name": "株式会社QOLead ホールディングス",
            "memberships-TOTAL_FORMS": 1,
            "memberships-INITIAL_FORMS": 0,
            "memberships-0-user": user.pk,
            "memberships-0-role": "publisher",
        },
    )
    assert example_org.history.latest("history_date").name == "株式会社QOLead ホールディングス"
    membership = Membership.objects.get(user=user)
    assert membership.history.get().history_type == "+"


def test_history_cannot_be_reverted_or_edited(staff_client, sheet):
    sheet.hours_system = "平日のみ"
    sheet.save()
    record = sheet.history.earliest("history_date")
    url = reverse("admin:disclosures_disclosuresheet_simple_history", args=[sheet.pk, record.history_id])
    response = staff_client.post(url, sheet_post_data(sheet, hours_system="改ざん"))
    assert response.status_code in (302, 403)
    sheet.refresh_from_db()
    assert sheet.hours_system == "平日のみ"
    assert sheet.history.filter(hours_system="改ざん").count() == 0


# --- authentication ------------------------------------------------------


@pytest.mark.real_password_hashing
def test_passwords_are_hashed_with_argon2(django_user_model):
    user = django_user_model.objects.create_user("hashed", password=PASSWORD)
    assert user.password.startswith("argon2$")


@pytest.mark.parametrize("password", ["password", "12345678", "short"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def admin_login(client, username, password, token="", **headers):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "otp_token": token, "next": reverse("admin:index")},
        **headers,
    )


def test_repeated_failed_logins_lock_the_account_with_a_clear_message(editor):
    client = Client()
    for _ in range(5):
        admin_login(client, "editor", "wrong-password")
    response = admin_login(client, "editor", PASSWORD)
    assert response.status_code == 429
    assert "ログインを一時停止しています" in response.content.decode()
    assert "_auth_user_id" not in client.session


PROXY = "10.0.0.1"  # the TLS proxy: the address every request comes from behind it
CLIENT_A, CLIENT_B = "203.0.113.10", "198.51.100.20"


@pytest.fixture
def behind_tls_proxy(settings):
    """This test runs with the client-address settings that DJANGO_BEHIND_TLS_PROXY=true
    gives (read from a fresh process with the production environment)."""
    names = [
        "AXES_IPWARE_META_PRECEDENCE_ORDER",
        "AXES_IPWARE_PROXY_COUNT",
        "AXES_IPWARE_PROXY_ORDER",
        "AXES_IPWARE_PROXY_TRUSTED_IPS",
        "IPWARE_STRICT",
    ]
    code = f"import json; from django.conf import settings as s; print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}))"
    result = run_manage(production_env(DJANGO_BEHIND_TLS_PROXY="true"), "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    for name, value in json.loads(result.stdout.strip().splitlines()[-1]).items():
        setattr(settings, name, value)


def via_proxy(forwarded_for):
    """What the proxy sends on: its own address, and X-Forwarded-For ending with the client's."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded_for}


def test_two_clients_behind_one_proxy_are_throttled_apart(editor, behind_tls_proxy):
    for _ in range(5):
        admin_login(Client(), "editor", "wrong-password", **via_proxy(CLIENT_A))
    assert admin_login(Client(), "editor", PASSWORD, **via_proxy(CLIENT_A)).status_code == 429
    # The owner, at another address behind the same proxy, still logs in.
    assert admin_login(Client(), "editor", PASSWORD, **via_proxy(CLIENT_B)).status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [CLIENT_A]


def test_behind_a_proxy_a_client_cannot_lock_out_another_address_by_forging_the_header(
    editor, behind_tls_proxy
):
    # The attacker writes the owner's address; the proxy appends the attacker's own.
    for _ in range(5):
        admin_login(Client(), "editor", "wrong-password", **via_proxy(f"{CLIENT_B}, {CLIENT_A}"))
    assert admin_login(Client(), "editor", PASSWORD, **via_proxy(CLIENT_B)).status_code == 302
    assert (
        admin_login(Client(), "editor", PASSWORD, **via_proxy(f"{CLIENT_B}, {CLIENT_A}")).status_code == 429
    )


def test_a_forged_forwarded_for_is_ignored_when_not_behind_a_proxy(editor):
    # Directly exposed, each attempt claims another address: all count for the connection's.
    for n in range(5):
        admin_login(
            Client(),
            "editor",
            "wrong-password",
            REMOTE_ADDR=CLIENT_A,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}",
        )
    response = admin_login(Client(), "editor", PASSWORD, REMOTE_ADDR=CLIENT_A, HTTP_X_FORWARDED_FOR=CLIENT_B)
    assert response.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [CLIENT_A]


def test_the_lockout_page_has_the_portals_japanese_titles(editor):
    from django.contrib import admin

    for _ in range(5):
        admin_login(Client(), "editor", "wrong-password")
    page = admin_login(Client(), "editor", PASSWORD).content.decode()
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title == f"ログインを一時停止しています | {admin.site.site_title}"
    assert f">{admin.site.site_header}</a>" in page
    assert "Django" not in page


def test_deleting_the_access_attempt_unlocks(editor):
    client = Client()
    for _ in range(5):
        admin_login(client, "editor", "wrong-password")
    AccessAttempt.objects.filter(username="editor").delete()  # the admin's unlock
    assert admin_login(client, "editor", PASSWORD).status_code == 302


def test_sessions_expire_after_thirty_idle_minutes(editor, settings):
    client = Client()
    assert admin_login(client, "editor", PASSWORD).status_code == 302
    client.get(reverse("admin:index"))
    expiry = client.session.get_expiry_date()
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert abs((expiry - timezone.now()) - datetime.timedelta(minutes=30)) < datetime.timedelta(seconds=30)
    session = client.session
    session.set_expiry(-1)  # as if the 30 minutes had passed
    session.save()
    assert client.get(reverse("admin:index")).status_code == 302


@pytest.fixture
def totp_device(editor):
    return TOTPDevice.objects.create(user=editor, name="スマートフォン", confirmed=True)


def current_token(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


INVALID_LOGIN = "ユーザー名、パスワード、確認コード（二段階認証を設定している場合）を正しく入力してください。"


def wrong_token(device):
    return f"{(int(current_token(device)) + 1) % 1000000:06d}"


def test_staff_with_a_totp_device_needs_its_code(editor, totp_device):
    response = admin_login(Client(), "editor", PASSWORD)
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert "_auth_user_id" not in response.client.session
    assert admin_login(Client(), "editor", PASSWORD, current_token(totp_device)).status_code == 302


def test_wrong_totp_code_is_refused(editor, totp_device):
    response = admin_login(Client(), "editor", PASSWORD, wrong_token(totp_device))
    assert response.status_code == 200
    assert INVALID_LOGIN in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def login_page_as_seen(response):
    """The page the person sees, without its per-response CSRF token."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_a_wrong_password_and_a_wrong_or_missing_code_look_the_same(editor, totp_device):
    code = wrong_token(totp_device)
    wrong_password = admin_login(Client(), "editor", "wrong-password", code)
    wrong_code = admin_login(Client(), "editor", PASSWORD, code)
    assert wrong_password.status_code == wrong_code.status_code == 200
    assert login_page_as_seen(wrong_code) == login_page_as_seen(wrong_password)
    assert INVALID_LOGIN in login_page_as_seen(wrong_code)
    assert PASSWORD not in login_page_as_seen(wrong_code)
    without_code = admin_login(Client(), "editor", PASSWORD)
    wrong_password_without_code = admin_login(Client(), "editor", "wrong-password")
    assert login_page_as_seen(without_code) == login_page_as_seen(wrong_password_without_code)


def test_wrong_or_missing_codes_count_towards_the_lockout(editor, totp_device):
    for n in range(5):
        admin_login(Client(), "editor", PASSWORD, wrong_token(totp_device) if n % 2 else "")
    response = admin_login(Client(), "editor", PASSWORD, current_token(totp_device))
    assert response.status_code == 429
    assert "ログインを一時停止しています" in response.content.decode()


def test_staff_without_a_device_log_in_with_the_password(editor):
    assert admin_login(Client(), "editor", PASSWORD).status_code == 302


def test_publishers_must_use_totp_when_the_setting_says_so(publisher, sheet, settings):
    settings.PUBLISHERS_REQUIRE_OTP = True
    device = TOTPDevice.objects.create(user=publisher, name="端末", confirmed=True)
    sheet.hours_system = "平日のみ"
    sheet.save()
    url = reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk])
    without = logged_in(publisher).post(url, {"change_note": "更新"})
    assert without.status_code == 403
    assert "二段階認証" in without.content.decode()
    client = Client()
    assert admin_login(client, "publisher", PASSWORD, current_token(device)).status_code == 302
    assert client.post(url, {"change_note": "更新"}).status_code == 302
    assert Publication.objects.filter(number=2).exists()


# --- HTTP ----------------------------------------------------------------


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""])
def test_a_refused_or_missing_next_lands_on_the_admin_index(editor, next_url):
    response = Client().post(
        reverse("admin:login"),
        {"username": "editor", "password": PASSWORD, "otp_token": "", "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_public_pages_send_a_csp_without_unsafe_inline(client, example_org):
    for url in ("/qolead/", "/qolead/versions/", "/qolead/versions/1/diff/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy


PUBLIC_URLS = [
    "/",
    "/qolead/",
    "/qolead/versions/",
    "/qolead/versions/1/",
    "/qolead/pdf/",
    "/qolead/versions/1/pdf/",
    "/qolead/current.json",
    "/qolead/versions/1.json",
    "/qolead/feed/",
    "/no-such-agency/",
]


def test_public_responses_to_a_logged_in_staff_member_carry_no_cookie(editor, example_org):
    client = Client()
    assert admin_login(client, "editor", PASSWORD).status_code == 302
    for url in PUBLIC_URLS:
        response = client.get(url)
        assert response.status_code in (200, 302, 404), url
        assert not response.cookies, (url, response.cookies.output())
    # The admin still refreshes the session (30 idle minutes from the last admin request).
    assert "sessionid" in client.get(reverse("admin:index")).cookies


def test_a_stale_session_cookie_is_not_deleted_by_a_public_response(example_org):
    client = Client()
    client.cookies["sessionid"] = "no-such-session"
    response = client.get("/qolead/")
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert not response.cookies


def test_security_headers(client, example_org, settings):
    response = client.get("/qolead/", secure=True)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def production_env(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SECRET_KEY="k3J9-vQ2$zX7!pL0mN4#rT8&wY1^bC5*dF6(gH2)jK9_lM3+nP7=qR4",
        DJANGO_ALLOWED_HOSTS="disclosure.example.jp",
    )
    env.update(overrides)
    return env


def run_manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_deploy_check_reports_nothing_with_production_settings():
    result = run_manage(production_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_still_sees_the_session_middleware():
    # Django checks the session cookie's flags only when it finds its own
    # SessionMiddleware in MIDDLEWARE (a subclass would silence the check).
    result = run_manage(production_env(DJANGO_SECURE_COOKIES="false"), "check", "--deploy")
    assert "security.W012" in result.stdout + result.stderr


def test_production_settings_turn_on_https_protections():
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)"
    )
    result = run_manage(production_env(), "shell", "--no-imports", "-c", code)
    assert result.stdout.split() == ["True", "True", "True", "True", "False"]


def test_hsts_header_over_https(client, example_org, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/qolead/", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_admin_url_prefix_is_configurable():
    code = "from django.urls import reverse; print(reverse('admin:index'))"
    result = run_manage(production_env(DJANGO_ADMIN_URL="staff-7f3k"), "shell", "--no-imports", "-c", code)
    assert result.stdout.strip() == "/staff-7f3k/"


@pytest.mark.parametrize("slug", ["admin", "static", "Admin"])
def test_organization_slug_cannot_hide_the_admin_or_static_files(official_template, slug):
    with pytest.raises(ValidationError):
        Organization(slug=slug, name="x").full_clean()
