"""No admin page breaks the Content-Security-Policy: a superuser opens every admin
page reachable from the index (each list and its filters, each change and add
form, each history page, django-simple-history's versions included) and the
browser reports no violation, neither as a `securitypolicyviolation` event nor in
the console."""

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Error as PlaywrightError

from disclosures.models import Membership

from .conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) =>
    window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`));"""

ADMIN_LINKS = """() => Array.from(document.querySelectorAll("a[href]"), (a) => a.href)"""


def admin_pages_linked(page_url, hrefs, base_url):
    prefix = reverse("admin:index")
    for href in hrefs:
        parts = urlsplit(urljoin(page_url, href))
        if f"{parts.scheme}://{parts.netloc}" != base_url or not parts.path.startswith(prefix):
            continue
        # Sorting by each column shows nothing new; logging out would end the crawl;
        # filters are followed from the unfiltered list only (not in combination).
        if "o" in parse_qs(parts.query) or parts.path == reverse("admin:logout"):
            continue
        if parts.query and urlsplit(page_url).query:
            continue
        yield parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def every_kind_of_row(two_versions, staff_user, django_user_model):
    """A row in every admin list: a member, a TOTP device, a login attempt."""
    editor = django_user_model.objects.create_user("editor", password="pw-editor-123!", is_staff=True)
    Membership.objects.create(organization=two_versions, user=editor, role=Membership.Role.EDITOR)
    TOTPDevice.objects.create(user=editor, name="スマートフォン", confirmed=True)
    AccessAttempt.objects.create(
        username="editor", ip_address="203.0.113.10", user_agent="test", failures_since_start=1
    )
    return two_versions


def test_no_admin_page_a_superuser_reaches_violates_the_csp(page, live_server, every_kind_of_row):
    console_errors = []
    page.on(
        "console",
        lambda message: (
            console_errors.append((page.url, message.text))
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.context.add_init_script(script=RECORD_VIOLATIONS)
    page.goto(live_server.url + reverse("admin:login"))
    assert page.evaluate("() => window.cspViolations") == [], "the login page"
    log_in(page, live_server.url)
    to_visit, seen, violations = [reverse("admin:index")], set(), {}
    while to_visit and len(seen) < 300:
        path = to_visit.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            response = page.goto(live_server.url + path)
        except PlaywrightError as error:  # a file to save (the draft's .xlsx): no page
            if "Download is starting" not in str(error):
                raise
            continue
        if response is None or not response.headers.get("content-type", "").startswith("text/html"):
            continue
        page.wait_for_load_state("load")
        found = page.evaluate("() => window.cspViolations")
        if found:
            violations[path] = found
        to_visit.extend(admin_pages_linked(page.url, page.evaluate(ADMIN_LINKS), live_server.url))
    assert len(seen) < 300, "the crawl did not end"
    print(f"{len(seen)} admin pages opened")
    assert not violations, violations
    assert not console_errors, console_errors
    # The crawl reached the pages the rule is about.
    sheet = every_kind_of_row.sheet
    history = sheet.history.order_by("history_id").first()
    for expected in (
        reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
        reverse("admin:disclosures_disclosuresheet_history", args=[sheet.pk]),
        reverse("admin:disclosures_disclosuresheet_simple_history", args=[sheet.pk, history.history_id]),
        reverse("admin:checklist_checklist_change", args=[sheet.checklist_id]),
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:auth_user_add"),
    ):
        assert expected in seen, expected


def test_the_version_list_keeps_its_look_without_the_inline_style(page, live_server, every_kind_of_row):
    log_in(page, live_server.url)
    page.goto(
        live_server.url
        + reverse("admin:disclosures_disclosuresheet_history", args=[every_kind_of_row.sheet.pk])
    )
    border = page.evaluate(
        "() => getComputedStyle(document.querySelector('#change-history + .paginator')).borderTopWidth"
    )
    assert border == "0px"
