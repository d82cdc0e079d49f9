"""The subscription form on a phone (390 px): on the agency page and on its own page,
empty, with an error and once sent, nothing scrolls sideways, the field and the button
are wide enough to use, the page's CSP blocks nothing and axe-core finds no serious
violation.

Screenshots for people to look at: var/screenshots/subscribe-<state>-390.png.
"""

import pytest
from playwright.sync_api import expect

from .test_phone import WIDTHS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

PHONE = 390
# The e-mail field takes most of the width (the page's padding aside), the button is a thumb's size.
FIELD_SHARE = 0.8
BUTTON_MIN_HEIGHT = 40

# JavaScript: the boxes of the form.
FORM_BOXES = """() => {
    const box = (selector) => {
        const rect = document.querySelector(selector).getBoundingClientRect();
        return {left: rect.left, right: rect.right, width: rect.width, height: rect.height};
    };
    return {field: box("#id_email"), button: box(".subscribe-form .button"), form: box(".subscribe-box")};
}"""


@pytest.fixture
def phone(browser, axe_source):
    context = browser.new_context(
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport={"width": PHONE, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.add_init_script(script=axe_source)
    context.add_init_script(
        script="""window.cspViolations = [];
        document.addEventListener("securitypolicyviolation", (event) =>
            window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`));"""
    )
    yield context.new_page()
    context.close()


def check_fits(page, name, screenshots_dir):
    """No sideways scrolling, the form inside the viewport, a usable field and button."""
    measured = page.evaluate(WIDTHS)
    assert measured["viewport"] == PHONE
    assert measured["document"] <= PHONE, f"{name}: the page is {measured['document']} px wide"
    assert not measured["scrollingBoxes"], f"{name}: {measured['scrollingBoxes']}"
    assert page.evaluate("() => window.cspViolations") == [], f"{name}: blocked by the CSP"
    if page.locator("#id_email").count():
        boxes = page.evaluate(FORM_BOXES)
        for part, rect in boxes.items():
            assert 0 <= rect["left"] and rect["right"] <= PHONE, (
                f"{name}: the {part} leaves the screen: {rect}"
            )
        assert boxes["field"]["width"] >= FIELD_SHARE * boxes["form"]["width"], boxes
        assert boxes["button"]["height"] >= BUTTON_MIN_HEIGHT, boxes
        page.locator(".subscribe-box").first.screenshot(
            path=screenshots_dir / f"subscribe-{name}-form-{PHONE}.png"
        )
    page.screenshot(path=screenshots_dir / f"subscribe-{name}-{PHONE}.png", full_page=True)


def serious_violations(page):
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((rule) => ["serious", "critical"].includes(rule.impact))
            .map((rule) => `${rule.id}: ${rule.nodes.map((node) => node.target.join(" ")).join(", ")}`)"""
    )
    return violations


def test_the_form_fits_a_phone_on_the_agency_page_and_on_its_own(
    phone, live_server, two_versions, screenshots_dir
):
    page = phone
    page.goto(live_server.url + "/qolead/")
    page.locator(".subscribe-box").scroll_into_view_if_needed()
    check_fits(page, "agency-page", screenshots_dir)

    page.goto(live_server.url + "/qolead/subscribe/")
    check_fits(page, "page", screenshots_dir)
    assert serious_violations(page) == []

    # The server's own message (the browser's check of type=email set aside).
    page.evaluate("() => { document.querySelector('.subscribe-form').noValidate = true; }")
    page.locator("#id_email").fill("tanaka@example")
    page.locator(".subscribe-form .button").click()
    expect(page.locator(".form-errors")).to_contain_text("メールアドレスの形式が正しくありません")
    expect(page.locator("#id_email")).to_have_attribute("aria-invalid", "true")
    check_fits(page, "error", screenshots_dir)
    assert serious_violations(page) == []

    page.locator("#id_email").fill("tanaka.hanako.long-address-for-a-phone-test@kenshin-daikou.example.jp")
    page.locator(".subscribe-form .button").click()
    expect(page.locator("h1")).to_have_text("確認のメールを送りました")
    check_fits(page, "sent", screenshots_dir)


def test_the_form_on_the_agency_page_works_without_javascript_or_cookies(
    browser, live_server, two_versions, screenshots_dir
):
    context = browser.new_context(java_script_enabled=False, viewport={"width": PHONE, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/qolead/")
    page.locator("#id_email").fill("suzuki@example.jp")
    page.locator(".subscribe-form .button").click()
    expect(page.locator("h1")).to_have_text("確認のメールを送りました")
    assert context.cookies() == []
    context.close()
