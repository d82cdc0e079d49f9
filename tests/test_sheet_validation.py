"""Each rule of the form's notes, proved on the model (shared by admin, loader and publish)."""

import pytest
from django.core.exceptions import ValidationError

pytestmark = pytest.mark.django_db


def errors_of(sheet, **changes):
    for name, value in changes.items():
        setattr(sheet, name, value)
    try:
        sheet.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


def test_example_sheet_is_valid(sheet):
    assert errors_of(sheet) == {}


@pytest.mark.parametrize("field", ["name", "address", "phone"])
def test_note1_fields_are_required(sheet, field):
    assert field in errors_of(sheet, **{field: ""})


def test_note1_name_of_only_spaces_is_rejected(sheet):
    assert "注1)" in errors_of(sheet, name="\u3000 ")["name"][0]


@pytest.mark.parametrize("code", ["", "12345678"])
def test_note2_agency_code_blank_or_eight_digits_is_accepted(sheet, code):
    assert errors_of(sheet, agency_code=code) == {}


@pytest.mark.parametrize("code", ["1234567", "123456789", "１２３４５６７８", "1234567a", "1234 678"])
def test_note2_agency_code_other_than_eight_half_width_digits_is_rejected(sheet, code):
    assert "注2)" in errors_of(sheet, agency_code=code)["agency_code"][0]


def test_note3_classification_is_required(sheet):
    assert "classification" in errors_of(sheet, classification="")


def test_note3_unknown_classification_is_rejected(sheet):
    assert "classification" in errors_of(sheet, classification="both")


def test_note5_partner_counts_blank_and_zero_are_kept_distinct(sheet):
    errors_of(sheet, staff_dedicated_partner=0, staff_concurrent_partner=0, staff_total_partner=0)
    sheet.save()
    sheet.refresh_from_db()
    assert sheet.staff_total_partner == 0
    errors_of(sheet, staff_dedicated_partner=None, staff_concurrent_partner=None, staff_total_partner=None)
    sheet.save()
    sheet.refresh_from_db()
    assert sheet.staff_total_partner is None


def test_note5_partner_counts_partly_blank_are_rejected(sheet):
    errors = errors_of(sheet, staff_dedicated_partner=2, staff_total_partner=5)
    assert list(errors) == ["staff_concurrent_partner"]
    assert "注5)" in errors["staff_concurrent_partner"][0]


@pytest.mark.parametrize("field", ["staff_dedicated_own", "facility_count", "capacity_per_day"])
def test_negative_counts_are_rejected(sheet, field):
    assert field in errors_of(sheet, **{field: -1})


def test_huge_counts_are_rejected(sheet):
    assert "cases_last_year_per_year" in errors_of(sheet, cases_last_year_per_year=10**12)


def test_dedicated_and_concurrent_above_total_staff_are_rejected(sheet):
    errors = errors_of(sheet, staff_dedicated_own=10, staff_concurrent_own=10, staff_total_own=19)
    assert "全職員の数（19人）を超えています" in errors["staff_total_own"][0]


def test_partner_column_is_checked_against_its_own_total(sheet):
    errors = errors_of(sheet, staff_dedicated_partner=3, staff_concurrent_partner=0, staff_total_partner=2)
    assert list(errors) == ["staff_total_partner"]


def test_similar_services_yes_needs_its_content(sheet):
    assert "similar_services_detail" in errors_of(sheet, similar_services="yes", similar_services_detail="")


def test_similar_services_content_without_yes_is_rejected(sheet):
    assert "similar_services_detail" in errors_of(sheet, similar_services="no")


def test_other_service_needs_its_text(sheet):
    errors = errors_of(sheet, service_contents=["inspection", "other"], service_contents_other="")
    assert "「その他」を選んだ場合" in errors["service_contents_other"][0]


def test_institution_may_choose_needs_the_selectable_functions(sheet):
    errors = errors_of(sheet, institution_selection="yes", institution_selectable_functions=" ")
    assert "選択可能な機能" in errors["institution_selectable_functions"][0]


def test_nothing_special_excludes_other_dedicated_areas(sheet):
    errors = errors_of(sheet, system_areas=["dedicated_area", "none"])
    assert "特に無し" in errors["system_areas"][0]


def test_nothing_special_alone_is_accepted(sheet):
    assert errors_of(sheet, system_areas=["none"]) == {}


@pytest.mark.parametrize(
    "methods,field", [("data_in_methods", "data_in_line"), ("data_out_methods", "data_out_line")]
)
def test_online_exchange_needs_its_line_type(sheet, methods, field):
    assert field in errors_of(sheet, **{methods: ["online"], field: ""})


@pytest.mark.parametrize(
    "methods,field", [("data_in_methods", "data_in_media"), ("data_out_methods", "data_out_media")]
)
def test_offline_exchange_needs_its_media(sheet, methods, field):
    assert field in errors_of(sheet, **{methods: ["online", "offline"], field: ""})


def test_unknown_option_in_a_checkbox_group_is_rejected(sheet):
    assert "service_targets" in errors_of(sheet, service_targets=["insurer", "everyone"])


def test_checkbox_groups_are_stored_in_the_forms_order(sheet):
    sheet.service_contents = ["data_exchange", "inspection"]
    sheet.save()
    sheet.refresh_from_db()
    assert sheet.service_contents == ["inspection", "data_exchange"]


@pytest.mark.parametrize("url", ["qolead.com", "javascript:alert(1)", "http://"])
def test_invalid_website_url_is_rejected(sheet, url):
    assert "website_url" in errors_of(sheet, website_url=url)


@pytest.mark.parametrize("email", ["qolism.info", "a@b", "a b@example.jp"])
def test_invalid_email_is_rejected(sheet, email):
    assert "contact_email" in errors_of(sheet, contact_email=email)


@pytest.mark.parametrize(
    "phone", ["03-5774-3631", "03 - 5774 - 3631", "０３－５７７４－３６３１", "090-1234-5678"]
)
def test_japanese_phone_numbers_are_accepted(sheet, phone):
    assert errors_of(sheet, phone=phone) == {}


@pytest.mark.parametrize("phone", ["5774-3631", "03-5774-36311-1", "電話してください", "03-5774-3631 内線2"])
def test_invalid_phone_numbers_are_rejected(sheet, phone):
    assert "phone" in errors_of(sheet, phone=phone)


def test_unknown_prefecture_is_rejected(sheet):
    errors = errors_of(sheet, facility_prefectures="東京都、大阪県")
    assert "大阪県" in errors["facility_prefectures"][0]


def test_several_prefectures_are_accepted(sheet):
    assert errors_of(sheet, facility_prefectures="東京都、大阪府 北海道") == {}


def test_every_problem_is_reported_at_once(sheet):
    errors = errors_of(
        sheet,
        name="",
        agency_code="12",
        staff_dedicated_partner=1,
        system_areas=["none", "dedicated_area"],
        similar_services_detail="",
    )
    assert {
        "name",
        "agency_code",
        "staff_concurrent_partner",
        "system_areas",
        "similar_services_detail",
    } <= set(errors)
