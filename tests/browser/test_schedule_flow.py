"""Scheduled publication in a real browser: the editor asks, the 公開責任者 sees the
request on the dashboard, reviews it and approves it for a go-live time typed into
the go-live field; the public keeps version 1, staff see 公開予定 on the dashboard
and the publish page, which cancels it. Screenshots at 1280 px go to var/screenshots/.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from disclosures.formatting import japanese_moment
from disclosures.models import Membership, Publication

from ..factories import change_sheet, month, plan
from .conftest import log_in
from .test_review_flow import PASSWORD, new_page, no_violations, staff_member

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Raised by pytest-playwright's own base_url fixture under pytest 9, not by us.
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

NEW_HOURS_SYSTEM = "平日 8:00-20:00（予約公開のテスト）"
NOTE = "4月からの稼働時間です。4月1日 0:00 に公開してください。"


def test_publisher_schedules_a_requested_version_and_can_cancel_it(
    browser, browser_context_args, live_server, example_org, django_user_model, screenshots_dir
):
    staff_member(django_user_model, example_org, Membership.Role.EDITOR, "editor")
    staff_member(django_user_model, example_org, Membership.Role.PUBLISHER, "publisher")
    sheet = example_org.sheet
    change_sheet(sheet, hours_system=NEW_HOURS_SYSTEM)
    go_live = (timezone.localtime() + datetime.timedelta(days=7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )

    editor = new_page(browser, browser_context_args)
    log_in(editor, live_server.url, "editor", PASSWORD)
    editor.goto(live_server.url + reverse("admin:disclosures_disclosuresheet_request", args=[sheet.pk]))
    editor.locator("#id_note").fill(NOTE)
    editor.get_by_role("button", name="公開を依頼する").click()
    expect(editor.locator("#request-status")).to_have_text("承認待ち")

    publisher = new_page(browser, browser_context_args)
    log_in(publisher, live_server.url, "publisher", PASSWORD)
    expect(publisher.locator(".reminder-open_requests")).to_contain_text(
        "公開依頼が承認待ちです（依頼者: editor、"
    )
    publisher.screenshot(path=screenshots_dir / "schedule-dashboard-request.png", full_page=True)

    # The publish page offers the go-live field (screenshot); approving goes through the request.
    publisher.goto(live_server.url + reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]))
    expect(publisher.get_by_label("公開開始日時（予約公開）")).to_be_visible()
    no_violations(publisher)
    publisher.screenshot(path=screenshots_dir / "schedule-publish-page.png", full_page=True)

    publisher.goto(live_server.url + reverse("admin:index"))
    publisher.locator(".reminder-open_requests a").click()
    expect(publisher.locator("table.changes ins").first).to_have_text(NEW_HOURS_SYSTEM)
    publisher.get_by_label("公開開始日時（予約公開）").fill(go_live.strftime("%Y-%m-%dT%H:%M"))
    no_violations(publisher)
    publisher.screenshot(path=screenshots_dir / "schedule-request-page.png", full_page=True)
    publisher.get_by_role("button", name="承認して第2版として公開する").click()
    moment = japanese_moment(go_live)
    expect(publisher.locator(".messagelist")).to_contain_text(f"第2版を{moment}に公開する予定で確定しました")
    expect(publisher.locator("#request-status")).to_contain_text(f"公開予定 {moment}")
    version = Publication.objects.get(number=2)
    assert version.live_from == go_live and version.published_by.username == "publisher"

    # The public still sees version 1.
    public = new_page(browser, browser_context_args)
    public.goto(live_server.url + "/qolead/")
    expect(public.locator("body")).not_to_contain_text(NEW_HOURS_SYSTEM)

    # An overdue 実施予定 too: the dashboard lists both, the publish page cancels.
    plan(sheet, 0, month(2026, 10))
    publisher.goto(live_server.url + reverse("admin:index"))
    expect(publisher.locator(".reminder-scheduled_versions")).to_contain_text(
        f"第2版が{moment}に公開予定です。"
    )
    expect(publisher.locator(".reminder-planned_items").first).to_contain_text("が過ぎています")
    no_violations(publisher)
    publisher.screenshot(path=screenshots_dir / "schedule-dashboard.png", full_page=True)
    publisher.locator(".reminder-scheduled_versions a").click()
    publisher.get_by_role("link", name="公開ページで取り消す（公開責任者）").click()
    expect(publisher.locator("#scheduled-version")).to_contain_text(f"公開予定 第2版 {moment}")
    publisher.screenshot(path=screenshots_dir / "schedule-publish-page-scheduled.png", full_page=True)
    publisher.get_by_role("button", name="第2版の公開予定を取り消す").click()
    expect(publisher.locator(".messagelist")).to_contain_text("第2版は公開されず、その番号は使われません")
    assert Publication.objects.get(number=2).cancellation
