"""Review and approval in a real browser, with two staff accounts of one organisation:
the editor asks for publication, the 公開責任者 is mailed (seen on the test SMTP
server), follows the link, reviews the diff and publishes; the requester is mailed
and the public sees the new version. No page breaks the Content-Security-Policy.
Screenshots for people to look at go to var/screenshots/.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from disclosures.models import Membership, Publication, PublicationRequest

from ..factories import change_sheet, member
from ..smtp import run_queued_tasks
from .conftest import log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

PASSWORD = "pw-for-browser-review-9Zk"
NEW_HOURS_SYSTEM = "平日 9:00-18:00（依頼のテスト）"
NOTE = "システムの稼働時間を更新しました。ご確認ください。"
RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) =>
    window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`));"""


def staff_member(django_user_model, organization, role, username):
    user = member(django_user_model, organization, role, username)
    user.email = f"{username}@example.jp"
    user.set_password(PASSWORD)
    user.save()
    return user


def new_page(browser, browser_context_args):
    context = browser.new_context(**browser_context_args)
    context.add_init_script(script=RECORD_VIOLATIONS)
    return context.new_page()


def no_violations(page):
    assert page.evaluate("() => window.cspViolations") == [], page.url


def test_editor_asks_publisher_is_mailed_reviews_and_publishes(
    browser, browser_context_args, live_server, smtp_server, example_org, django_user_model, screenshots_dir
):
    staff_member(django_user_model, example_org, Membership.Role.EDITOR, "editor")
    staff_member(django_user_model, example_org, Membership.Role.PUBLISHER, "publisher")
    sheet = example_org.sheet
    change_sheet(sheet, hours_system=NEW_HOURS_SYSTEM)

    editor = new_page(browser, browser_context_args)
    log_in(editor, live_server.url, "editor", PASSWORD)
    editor.goto(live_server.url + reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    editor.get_by_role("link", name="公開を依頼…").click()
    expect(editor.locator("table.changes")).to_contain_text(NEW_HOURS_SYSTEM)
    no_violations(editor)
    editor.locator("#id_note").fill(NOTE)
    editor.screenshot(path=screenshots_dir / "review-ask.png", full_page=True)
    editor.get_by_role("button", name="公開を依頼する").click()
    expect(editor.locator("#request-status")).to_have_text("承認待ち")
    expect(editor.locator(".messagelist")).to_contain_text("公開責任者（1名）にメールで知らせます")
    no_violations(editor)

    run_queued_tasks()
    (mail,) = smtp_server.to("publisher@example.jp")
    link = re.search(r"https://disclosure\.example\.jp(/\S+)", smtp_server.body(mail)).group(1)
    publisher = new_page(browser, browser_context_args)
    log_in(publisher, live_server.url, "publisher", PASSWORD)
    publisher.goto(live_server.url + link)
    expect(publisher.locator("table.changes ins").first).to_have_text(NEW_HOURS_SYSTEM)
    expect(publisher.locator("#id_change_note")).to_have_value(NOTE)
    no_violations(publisher)
    publisher.screenshot(path=screenshots_dir / "review-request.png", full_page=True)
    publisher.get_by_role("button", name="承認して第2版として公開する").click()
    expect(publisher.locator("#request-status")).to_contain_text("承認・公開済（第2版）")
    no_violations(publisher)

    assert Publication.objects.get(number=2).published_by.username == "publisher"
    assert PublicationRequest.objects.get().status == PublicationRequest.Status.PUBLISHED
    run_queued_tasks()
    assert [m["Subject"].strip() for m in smtp_server.to("editor@example.jp")] == [
        "【公開しました】株式会社QOLead 第2版"
    ]
    publisher.goto(live_server.url + "/qolead/")
    expect(publisher.locator("body")).to_contain_text(NEW_HOURS_SYSTEM)
