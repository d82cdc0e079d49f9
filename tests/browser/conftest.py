"""Browser tests: Playwright (sync API, pytest-playwright) driving Debian's chromium
against pytest-django's live_server.

Not part of the default run (pyproject addopts `-m "not browser"`); run them with
    .venv/bin/pytest -m browser tests/browser
Without chromium they are skipped, unless REQUIRE_BROWSER=1 (set by .ci/run), which
turns the skip into a failure. Never `playwright install`: the browser is Debian's.
"""

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from disclosures.publishing import publish

from ..factories import change_sheet, new_organization, plan

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

STAFF_USERNAME = "staff"
STAFF_PASSWORD = "pw-for-browser-tests-7Qx"

# What the second published version (fixture `two_versions`) changes.
NEW_HOURS_SYSTEM = "24時間 365日稼働（保守時を除く）"
PLANNED_TIME = "2027年3月"
# The same month as <input type="month"> holds it (Chromium shows it as 2027年03月).
PLANNED_MONTH_VALUE = "2027-03"


def find_chromium():
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session", autouse=True)
def _allow_orm_calls_beside_playwright():
    """Playwright's sync API runs an event loop in the test's thread, so Django
    would refuse ORM calls there (SynchronousOnlyOperation), the test database's
    creation included. The browser tests are synchronous code that merely shares the
    thread: allow them. Session-wide (the test database is a session fixture) but
    only once a browser test runs (this conftest's directory): `make test` never
    sets it."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium, never a browser downloaded by `playwright install`."""
    chromium = find_chromium()
    if chromium is None:
        reason = (
            "chromium not found (neither `chromium` on PATH nor /usr/bin/chromium): "
            "apt-get install -y --no-install-recommends chromium"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "locale": "ja-JP",
        "timezone_id": "Asia/Tokyo",
        "viewport": {"width": 1280, "height": 900},
        "accept_downloads": True,
    }


@pytest.fixture
def screenshots_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser(STAFF_USERNAME, "staff@example.jp", STAFF_PASSWORD)


@pytest.fixture
def two_versions(example_org):
    """qolead with versions 1 and 2 (2: a sheet field changed and the first checklist
    item 実施予定), and a second published organisation, so that the index lists two."""
    sheet = example_org.sheet
    change_sheet(sheet, hours_system=NEW_HOURS_SYSTEM)
    plan(sheet, 0, PLANNED_TIME)
    publish(sheet, change_note="システムの稼働時間と実施予定の項目を更新しました。")
    other = new_organization("kenshin", "健診代行株式会社")
    publish(other.sheet, change_note="初版")
    return example_org


@pytest.fixture(scope="session")
def axe_source():
    source = AXE_JS.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, f"{AXE_JS} is not axe-core {AXE_VERSION}"
    return source.decode()


@pytest.fixture
def axe(context, axe_source):
    """Returns run(page) -> (violations, incomplete), each a list of dicts with the
    rule id, impact, help and the targets of the nodes; run() first checks that the
    page's Content-Security-Policy blocked nothing the page itself asked for.

    axe-core is added as an init script: it then runs in every page of the context
    before the page's own scripts, whatever the page's Content-Security-Policy says
    (a <script> tag added by the test would be blocked by a strict CSP)."""
    context.add_init_script(script=axe_source)
    # Also record what the page's Content-Security-Policy blocks (a style, a font...).
    context.add_init_script(
        script="""window.cspViolations = [];
        document.addEventListener("securitypolicyviolation", (event) =>
            window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`));"""
    )

    def run(page, **options):
        assert page.evaluate("() => window.axe && window.axe.version") == AXE_VERSION
        assert page.evaluate("() => window.cspViolations") == [], "blocked by the page's CSP"
        return page.evaluate(
            """async (options) => {
                const results = await axe.run(document, options);
                const brief = (results) => results.map((rule) => ({
                    id: rule.id,
                    impact: rule.impact,
                    help: rule.help,
                    nodes: rule.nodes.map((node) => ({
                        target: node.target.join(" "),
                        summary: node.failureSummary || "",
                    })),
                }));
                return [brief(results.violations), brief(results.incomplete)];
            }""",
            {"resultTypes": ["violations", "incomplete"], **options},
        )

    return run


def context_at_width(browser, width):
    """A Japanese browser context of `width` px (a phone or tablet below 1280 px)."""
    return browser.new_context(
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": width, "height": 844},
        is_mobile=width < 1280,
        has_touch=width < 1280,
    )


def log_in(page, base_url, username=STAFF_USERNAME, password=STAFF_PASSWORD):
    from playwright.sync_api import expect

    admin_index = reverse("admin:index")
    page.goto(f"{base_url}{reverse('admin:login')}?next={admin_index}")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("#login-form [type=submit]").click()
    expect(page).to_have_url(f"{base_url}{admin_index}")
