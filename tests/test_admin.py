"""Staff edit both forms in the admin, laid out like the paper form."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklist.models import Answer
from disclosures.layout import SHEET_LAYOUT
from disclosures.models import DisclosureSheet, Organization

from .factories import checklist_post_data, checklist_url, make_template, sheet_post_data, sheet_url

pytestmark = pytest.mark.django_db


def test_sheet_change_page_shows_the_forms_headings_in_order(staff_client, sheet):
    page = staff_client.get(sheet_url(sheet)).content.decode()
    positions = [page.index(f">{part.title.text}<") for part in SHEET_LAYOUT]
    assert positions == sorted(positions)
    assert "注3) いずれか一つを選択。" in page
    assert "最低限のガイドラインを遵守済" in page


def test_sheet_change_page_offers_checkbox_groups_and_radios(staff_client, sheet):
    page = staff_client.get(sheet_url(sheet)).content.decode()
    assert 'type="checkbox" name="service_contents" value="other"' in page
    assert 'type="radio" name="classification" value="institution_group"' in page
    assert 'type="radio" name="similar_services" value="yes"' in page


def test_valid_sheet_change_is_saved(staff_client, sheet):
    response = staff_client.post(
        sheet_url(sheet), sheet_post_data(sheet, hours_system="24時間 365日稼働（保守時を除く）")
    )
    assert response.status_code == 302
    sheet.refresh_from_db()
    assert sheet.hours_system == "24時間 365日稼働（保守時を除く）"


def test_two_classifications_are_rejected(staff_client, sheet):
    data = sheet_post_data(sheet)
    data["classification"] = ["insurer", "institution_other"]
    response = staff_client.post(sheet_url(sheet), data)
    assert response.status_code == 200
    assert "注3) 代行機関の分類はいずれか一つを選択してください。" in response.content.decode()
    sheet.refresh_from_db()
    assert sheet.classification == "insurer"


def test_missing_classification_is_rejected(staff_client, sheet):
    response = staff_client.post(sheet_url(sheet), sheet_post_data(sheet, classification=""))
    assert "注3) 代行機関の分類をいずれか一つ選択してください。" in response.content.decode()


def test_invalid_sheet_shows_every_error_and_keeps_what_was_typed(staff_client, sheet):
    response = staff_client.post(
        sheet_url(sheet),
        sheet_post_data(
            sheet,
            name="",
            agency_code="１２３",
            staff_dedicated_partner="3",
            hours_office="平日 10:00-18:00",
            service_contents=["other"],
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    for message in (
        "注1) 必ず記入してください",
        "注2) 代行機関コードは半角数字8桁",
        "注5) 協力・関係会社がない場合は",
        "「その他」を選んだ場合は内容を記入してください。",
    ):
        assert message in page
    assert 'value="平日 10:00-18:00"' in page
    assert 'value="１２３"' in page
    sheet.refresh_from_db()
    assert sheet.name == "株式会社QOLead"


def test_non_numeric_count_gets_a_japanese_message(staff_client, sheet):
    response = staff_client.post(sheet_url(sheet), sheet_post_data(sheet, staff_total_own="十八"))
    assert "整数を入力してください。" in response.content.decode()


def test_sheet_has_no_add_or_delete(staff_client, sheet):
    assert staff_client.get(reverse("admin:disclosures_disclosuresheet_add")).status_code == 403
    delete = reverse("admin:disclosures_disclosuresheet_delete", args=[sheet.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert DisclosureSheet.objects.filter(pk=sheet.pk).exists()


def test_adding_an_organization_creates_its_one_draft_sheet_and_checklist(staff_client, official_template):
    response = staff_client.post(
        reverse("admin:disclosures_organization_add"),
        {
            "slug": "kenpo-agency",
            "name": "健保代行株式会社",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302
    organization = Organization.objects.get(slug="kenpo-agency")
    assert organization.sheet.name == "健保代行株式会社"
    assert organization.sheet.checklist.answers.count() == 56


def test_organization_slug_must_be_a_slug(staff_client, official_template):
    response = staff_client.post(
        reverse("admin:disclosures_organization_add"),
        {"slug": "代行/機関", "name": "x", "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0},
    )
    assert response.status_code == 200
    assert not Organization.objects.exists()


def test_checklist_page_shows_all_56_items_under_their_9_sections(staff_client, sheet):
    page = staff_client.get(checklist_url(sheet.checklist)).content.decode()
    assert page.count('class="checklist-section"') == 9
    assert page.count('name="answers-55-status"') == 3  # 未回答 / 実施済 / 実施予定
    assert "情報システム運用責任者の設置及び担当者(システム管理者を含む)の限定を行っている。" in page


def checklist_page_queries(client, checklist):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(checklist_url(checklist)).status_code == 200
    return len(queries)


def test_checklist_page_costs_the_same_queries_whatever_the_number_of_items(staff_client, official_template):
    small = Organization.create_with_drafts(slug="small", name="小", template=make_template("s", 2, 3))
    large = Organization.create_with_drafts(slug="large", name="大", template=make_template("l", 10, 12))
    assert checklist_page_queries(staff_client, small.sheet.checklist) == checklist_page_queries(
        staff_client, large.sheet.checklist
    )


def test_checklist_answers_are_saved(staff_client, sheet):
    checklist = sheet.checklist
    response = staff_client.post(
        checklist_url(checklist), checklist_post_data(checklist, a3=("planned", "2027年3月"))
    )
    assert response.status_code == 302
    answer = checklist.ordered_answers()[3]
    assert (answer.status, answer.planned_time) == ("planned", datetime.date(2027, 3, 1))
    assert sheet.guideline_compliance() == "planned"


def test_planned_answer_without_time_is_rejected_and_kept(staff_client, sheet):
    checklist = sheet.checklist
    response = staff_client.post(
        checklist_url(checklist),
        checklist_post_data(checklist, a0=("planned", ""), a1=("planned", "2027年度中"), a2=("", "")),
    )
    page = response.content.decode()
    assert response.status_code == 200
    # Once in the summary at the top of the page, once at the flagged row.
    assert page.count("「実施予定」を選択した場合は、実施時期を記入してください。") == 2
    assert page.count("実施時期は年月で入力してください（例: 2027-03 または 2027年3月）。") == 2
    assert 'value="2027年度中"' in page
    assert not checklist.answers.filter(status=Answer.Status.PLANNED).exists()


def test_checklist_saved_with_unanswered_items_warns(staff_client, sheet):
    checklist = sheet.checklist
    response = staff_client.post(
        checklist_url(checklist), checklist_post_data(checklist, a0=("", "")), follow=True
    )
    assert "未回答の項目が1件あります。" in response.content.decode()


@pytest.mark.parametrize(
    "name",
    [
        "disclosures_organization",
        "disclosures_disclosuresheet",
        "checklist_checklist",
        "checklist_checklisttemplate",
        "checklist_section",
    ],
)
def test_lists_search_and_filter(staff_client, sheet, name):
    url = reverse(f"admin:{name}_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "qolead"}).status_code == 200


def list_page_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "name", ["checklist_checklist", "disclosures_organization", "disclosures_disclosuresheet"]
)
def test_lists_cost_the_same_queries_with_many_organizations(staff_client, sheet, name):
    url = reverse(f"admin:{name}_changelist")
    with_one = list_page_queries(staff_client, url)
    for i in range(5):
        Organization.create_with_drafts(slug=f"org{i}", name=f"機関{i}")
    assert list_page_queries(staff_client, url) == with_one


def test_section_admin_page_edits_items(staff_client, official_template):
    section = official_template.sections.get(order=1)
    response = staff_client.get(reverse("admin:checklist_section_change", args=[section.pk]))
    assert "運用管理規程等において次の内容を定めている。" in response.content.decode()
