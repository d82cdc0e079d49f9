"""The admin as staff use it (issue 11, point 8): answers before their history,
every error listed at the top, what publishing would change, Japanese names."""

import re

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disclosures.publishing import publish

from .factories import (
    change_sheet,
    checklist_post_data,
    checklist_url,
    frozen_at,
    member,
    new_organization,
    plan,
    sheet_post_data,
    sheet_url,
    utc,
)

pytestmark = pytest.mark.django_db

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
ORGANIZATIONS = reverse("admin:disclosures_organization_changelist")


def page_of(response):
    assert response.status_code == 200
    return response.content.decode()


def error_summary(page):
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert match, "no error summary"
    return match.group(0), match.start()


def summary_links(summary):
    return re.findall(r'<li><a href="#([^"]+)">(.*?)</a></li>', summary, re.S)


# --- a. the checklist page shows its answers first ---------------------------


def test_checklist_answers_come_before_their_history(staff_client, sheet):
    plan(sheet, 0, "2027年3月")  # one change, so the history is not empty
    page = page_of(staff_client.get(checklist_url(sheet.checklist)))
    assert '<table class="answer-history">' in page
    assert page.index('id="answers-0"') < page.index('<table class="answer-history">')
    # Collapsed below the save buttons, not between the answers and them.
    history = page.index('<details class="answer-history-panel" id="answer-history">')
    assert page.rindex('name="_continue"') < history < page.index('<table class="answer-history">')
    assert '<a href="#answer-history-list">回答の変更履歴</a>' in page


# --- b. a failed save lists every error at the top ---------------------------


def test_failed_sheet_save_lists_every_error_with_a_link_to_its_field(staff_client, sheet):
    data = sheet_post_data(
        sheet,
        name="",
        phone="",
        agency_code="１２３",
        staff_dedicated_own="多数",
        classification="",  # radio buttons
        system_areas=["none", "dedicated_area"],  # checkboxes
    )
    page = page_of(staff_client.post(sheet_url(sheet), data))
    summary, start = error_summary(page)
    links = summary_links(summary)
    anchors = [anchor for anchor, _ in links]
    assert set(anchors) == {
        "id_name",
        "id_phone",
        "id_agency_code",
        "id_staff_dedicated_own",
        "id_classification",
        "id_system_areas",
    }
    for anchor in anchors:
        assert f'id="{anchor}"' in page, f"#{anchor} links to nothing"
    by_anchor = dict(links)
    assert by_anchor["id_name"].startswith("機関名: 注1) 必ず記入してください")
    assert by_anchor["id_phone"].startswith("電話番号")
    # Every error marked at a field is in the summary, which comes before the fields.
    assert len(links) == page.count('<ul class="errorlist" id="') + summary.count("errorlist nonfield")
    assert start < page.index('id="id_name"')


def test_failed_checklist_save_lists_each_flagged_row_with_a_link(staff_client, sheet):
    checklist = sheet.checklist
    data = checklist_post_data(checklist, a0=("planned", ""), a40=("done", "2027年"))
    page = page_of(staff_client.post(checklist_url(checklist), data))
    summary, start = error_summary(page)
    links = summary_links(summary)
    assert [anchor for anchor, _ in links] == ["id_answers-0-planned_time", "id_answers-40-planned_time"]
    for anchor, _ in links:
        assert f'id="{anchor}"' in page
    answers = list(checklist.ordered_answers())
    first, second = (text for _, text in links)
    assert first == f"{answers[0].item} 実施時期: 「実施予定」を選択した場合は、実施時期を記入してください。"
    assert second.startswith(f"{answers[40].item} 実施時期: ")
    assert start < page.index('id="answers-0"')


def test_every_admin_form_lists_its_errors_inline_rows_included(staff_client, sheet, django_user_model):
    """Not only the two forms: any change form, here an organisation with a bad
    slug and a membership row without its user."""
    data = {
        "slug": "代行/機関",
        "name": "",
        "memberships-TOTAL_FORMS": 1,
        "memberships-INITIAL_FORMS": 0,
        "memberships-0-role": "publisher",  # changed, so the row is validated
        "memberships-0-user": "",
    }
    page = page_of(staff_client.post(reverse("admin:disclosures_organization_add"), data))
    summary, _ = error_summary(page)
    anchors = [anchor for anchor, _ in summary_links(summary)]
    assert anchors == ["id_slug", "id_name", "id_memberships-0-user"]
    for anchor in anchors:
        assert f'id="{anchor}"' in page
    assert "担当者 1 ユーザー: " in summary


def test_tampered_checklist_save_is_listed_too(staff_client, sheet):
    checklist = sheet.checklist
    data = checklist_post_data(checklist)
    data["answers-2-id"] = 10**9  # an answer that is not this checklist's
    page = page_of(staff_client.post(checklist_url(checklist), data))
    summary, _ = error_summary(page)
    links = summary_links(summary)
    assert "送信された回答がこのチェックリストのものではありません。" in summary
    assert 'id="answers-55"' in page  # and every answer is shown again
    for anchor, _ in links:
        assert f'id="{anchor}"' in page


# --- c. the draft compared with the live version -----------------------------

PUBLISHED_AT = utc(2030, 1, 10, 0, 0)  # 9:00 in Tokyo
CHANGED_AT = utc(2030, 1, 12, 5, 5)  # 14:05 in Tokyo
DIFFERS = "公開版との差分があります（2030年1月12日 14:05 から）"


@pytest.fixture
def published_org(example_org):
    organization = new_organization("tokyo", "株式会社東京代行")
    with frozen_at(PUBLISHED_AT):
        publish(organization.sheet, change_note="初版")
    return organization


def publication_state(client, sheet):
    page = page_of(client.get(sheet_url(sheet)))
    match = re.search(r'<div class="readonly">([^<]*)</div>', page[page.index("公開状況") :])
    return match.group(1)


def organization_row(client, organization):
    page = page_of(client.get(ORGANIZATIONS))
    row = re.search(rf"<tr>(?:(?!</tr>).)*?{organization.slug}(?:(?!</tr>).)*</tr>", page, re.S)
    return re.search(r'<td class="field-publication_state">([^<]*)</td>', row.group(0)).group(1)


def test_unpublished_draft_says_so(staff_client, example_org):
    organization = new_organization("osaka", "株式会社大阪代行")
    assert publication_state(staff_client, organization.sheet) == "未公開"
    assert organization_row(staff_client, organization) == "未公開"


def test_draft_equal_to_the_live_version_says_so(staff_client, published_org):
    with frozen_at(CHANGED_AT):
        change_sheet(published_org.sheet)  # saved, nothing changed
    assert publication_state(staff_client, published_org.sheet) == "公開版と同じです"
    assert organization_row(staff_client, published_org) == "公開版と同じです"


def test_changed_sheet_says_it_differs_since_its_first_change(staff_client, published_org):
    sheet = published_org.sheet
    with frozen_at(CHANGED_AT):
        change_sheet(sheet, phone="03-1111-2222")
    with frozen_at(utc(2030, 1, 13, 0, 0)):
        change_sheet(sheet, phone="03-3333-4444")
    assert publication_state(staff_client, sheet) == DIFFERS
    assert organization_row(staff_client, published_org) == DIFFERS


def test_changed_answer_says_it_differs_since_its_change(staff_client, published_org):
    with frozen_at(CHANGED_AT):
        plan(published_org.sheet, 5, "2031年3月")
    assert publication_state(staff_client, published_org.sheet) == DIFFERS
    assert organization_row(staff_client, published_org) == DIFFERS


def test_change_undone_is_equal_again(staff_client, published_org):
    sheet = published_org.sheet
    phone = sheet.phone
    with frozen_at(CHANGED_AT):
        change_sheet(sheet, phone="03-1111-2222")
        change_sheet(sheet, phone=phone)
    assert organization_row(staff_client, published_org) == "公開版と同じです"


def test_published_change_is_live_again(staff_client, published_org):
    sheet = published_org.sheet
    with frozen_at(CHANGED_AT):
        change_sheet(sheet, phone="03-1111-2222")
        publish(sheet, change_note="電話番号を変更")
    assert publication_state(staff_client, sheet) == "公開版と同じです"


def test_a_member_sees_only_their_organisations_state(published_org, django_user_model):
    from django.test import Client

    from disclosures.models import Membership

    user = member(django_user_model, published_org, Membership.Role.EDITOR, "tokyo-editor")
    client = Client()
    client.force_login(user)
    with frozen_at(CHANGED_AT):
        change_sheet(published_org.sheet, phone="03-1111-2222")
    page = page_of(client.get(ORGANIZATIONS))
    assert page.count('<td class="field-publication_state">') == 1  # not qolead's
    assert organization_row(client, published_org) == DIFFERS
    assert publication_state(client, published_org.sheet) == DIFFERS


def organization_list_queries(client):
    with CaptureQueriesContext(connection) as queries:
        page_of(client.get(ORGANIZATIONS))
    return len(queries)


def test_organization_list_costs_the_same_queries_with_5_changed_organizations(staff_client, published_org):
    with frozen_at(CHANGED_AT):
        change_sheet(published_org.sheet, phone="03-1111-2222")
    with_one = organization_list_queries(staff_client)
    for i in range(4):
        organization = new_organization(f"org{i}", f"株式会社代行{i}")
        with frozen_at(PUBLISHED_AT):
            publish(organization.sheet, change_note="初版")
        with frozen_at(CHANGED_AT):
            plan(organization.sheet, i, "2031年3月")
    page = page_of(staff_client.get(ORGANIZATIONS))
    assert page.count(DIFFERS) == 5
    assert organization_list_queries(staff_client) == with_one


# --- d. the preview links to editing and publishing ---------------------------


def test_preview_links_to_edit_to_ask_for_publication_and_to_publish(staff_client, sheet):
    page = page_of(staff_client.get(reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk])))
    for url in (
        sheet_url(sheet),
        checklist_url(sheet.checklist),
        reverse("admin:disclosures_disclosuresheet_request", args=[sheet.pk]),
        reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]),
    ):
        assert f'href="{url}"' in page


# --- e. Japanese names for every app and model --------------------------------


def test_admin_index_names_every_app_and_model_in_japanese(staff_client):
    page = page_of(staff_client.get(reverse("admin:index")))
    apps_shown = re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', page)
    models_shown = re.findall(r'<th scope="row" id="[^"]+">\s*(?:<a [^>]*>)?([^<]+)<', page)
    assert len(apps_shown) >= 5 and len(models_shown) >= 12  # auth, axes, otp_totp and ours
    english = [name for name in apps_shown + models_shown if not JAPANESE.search(name)]
    assert english == []


def test_every_installed_app_with_models_has_a_japanese_name():
    english = [
        config.label
        for config in apps.get_app_configs()
        if list(config.get_models()) and not JAPANESE.search(str(config.verbose_name))
    ]
    assert english == []


def test_third_party_lists_are_titled_in_japanese(staff_client, django_user_model):
    from axes.models import AccessAttempt, AccessLog
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = django_user_model.objects.get(username="admin")
    TOTPDevice.objects.create(user=user, name="スマートフォン")
    request = {
        "user_agent": "Mozilla/5.0",
        "ip_address": "192.0.2.1",
        "username": "admin",
        "http_accept": "text/html",
        "path_info": "/admin/login/",
    }
    AccessAttempt.objects.create(**request, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**request)
    for name in ("otp_totp_totpdevice", "axes_accessattempt", "axes_accesslog"):
        page = page_of(staff_client.get(reverse(f"admin:{name}_changelist")))
        title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
        headers = re.findall(
            r'<th scope="col" class="[^"]*column-[^"]*">.*?<div class="text">(?:<a [^>]*>|<span>)([^<]+)<',
            page,
            re.S,
        )
        assert JAPANESE.search(title.split("|")[0]), title
        assert len(headers) >= 3
        # Columns the third-party admins compute under plain English names
        # (no gettext) keep them: django-otp's QR code, django-axes's status.
        english = [h for h in headers if not JAPANESE.search(h) and h not in ("ID", "QR Code", "Status")]
        assert english == [], name


# --- f. the checklist is titled by its organisation ---------------------------


def test_checklist_is_titled_by_its_organisation(staff_client, example_org):
    organization = new_organization("tokyo", "株式会社東京代行")
    checklist = organization.sheet.checklist
    change_sheet(organization.sheet, name="株式会社東京代行サービス")
    checklist.refresh_from_db()
    assert str(checklist) == "株式会社東京代行サービスのチェックリスト"
    page = page_of(staff_client.get(checklist_url(checklist)))
    breadcrumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', page, re.S).group(1)
    assert "株式会社東京代行サービスのチェックリスト" in breadcrumbs
    assert "#" not in breadcrumbs
    listing = page_of(staff_client.get(reverse("admin:checklist_checklist_changelist")))
    assert "#" + str(checklist.pk) not in listing
