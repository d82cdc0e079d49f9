"""Each version as .xlsx for the public; the draft as .xlsx for staff, uploaded back
with its values checked, the changes shown and applied only when confirmed."""

import datetime
import io
import zipfile

import openpyxl
import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from checklist.models import Answer
from disclosures import spreadsheet
from disclosures.formatting import box
from disclosures.layout import field_label
from disclosures.models import DisclosureSheet, Membership
from disclosures.snapshot import build_snapshot, document_digests, field_choices

from .factories import PASSWORD, change_sheet, logged_in, member, publish_version
from .test_text_limits import fill_to_the_maximum

HOSTILE = '=HYPERLINK("https://evil.example/","請求書")'


def xlsx_url(sheet, number=None):
    if number is None:
        return reverse("disclosures:current_xlsx", args=[sheet.organization.slug])
    return reverse("disclosures:version_xlsx", args=[sheet.organization.slug, number])


def download_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_xlsx", args=[sheet.pk])


def upload_url(sheet):
    return reverse("admin:disclosures_disclosuresheet_xlsx_upload", args=[sheet.pk])


def workbook(data):
    return openpyxl.load_workbook(io.BytesIO(data))


def keyed(data_or_workbook, sheet_name=spreadsheet.SHEET_NAME, value_column=spreadsheet.VALUE):
    """{key: value} of a worksheet, by its hidden key column."""
    book = data_or_workbook if isinstance(data_or_workbook, openpyxl.Workbook) else workbook(data_or_workbook)
    return {
        row[0].value: row[value_column - 1]
        for row in book[sheet_name].iter_rows()
        if row[0].value not in (None, "")
    }


def edited(data, sheet_values=(), answers=()):
    """The file after a staff member typed `sheet_values` ({key: value}) and `answers`
    ({key: (実施状況, 実施時期)}) into it with Excel (here openpyxl) and saved it."""
    book = workbook(data)
    cells = keyed(book)
    for key, value in dict(sheet_values).items():
        cells[key].value = value
    status_cells = keyed(book, spreadsheet.CHECKLIST_NAME, spreadsheet.STATUS)
    time_cells = keyed(book, spreadsheet.CHECKLIST_NAME, spreadsheet.PLANNED_TIME)
    for key, (status, planned_time) in dict(answers).items():
        status_cells[key].value = status
        time_cells[key].value = planned_time
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, sheet, data, name="draft.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(upload_url(sheet), {"file": SimpleUploadedFile(name, data)})


def draft_digests(sheet):
    return document_digests(build_snapshot(DisclosureSheet.objects.get(pk=sheet.pk)))


@pytest.fixture
def editor_client(editor):
    return logged_in(editor)


@pytest.fixture
def draft_file(editor_client, sheet):
    response = editor_client.get(download_url(sheet))
    assert response.status_code == 200
    return response.content


# --- each version, for the public ------------------------------------------------------


def test_version_xlsx_holds_the_values_of_its_snapshot(client, example_org):
    publication = example_org.publications.get()
    response = client.get(xlsx_url(example_org.sheet, 1))
    assert response.status_code == 200
    assert response["Content-Type"] == spreadsheet.CONTENT_TYPE
    values = publication.snapshot["sheet"]["values"]
    cells = keyed(response.content)
    for key, cell in cells.items():
        if "=" in key:  # a box: ■ exactly for the chosen choices
            field, choice = key.split("=")
            chosen = values[field] if isinstance(values[field], list) else [values[field]]
            assert cell.value == box(choice in chosen), key
        elif key == "service_start_date":
            assert cell.value.date().isoformat() == values[key]
        elif values[key] is None:  # a blank count: as the form shows it
            assert cell.value in (None, "—"), key
        else:
            assert cell.value == (values[key] or None), key
    assert {key.split("=")[0] for key in cells} == set(values) - {"guideline_compliance"}
    statuses = keyed(response.content, spreadsheet.CHECKLIST_NAME, spreadsheet.STATUS)
    items = [
        (f"{section['order']}.{item['number']}", item)
        for section in publication.snapshot["checklist"]["sections"]
        for item in section["items"]
    ]
    assert len(statuses) == len(items) == 56
    assert all(statuses[key].value == dict(Answer.Status.choices)[item["status"]] for key, item in items)


def test_version_xlsx_is_laid_out_like_the_form(client, example_org):
    book = workbook(client.get(xlsx_url(example_org.sheet)).content)
    first, second = book.worksheets
    assert first.title == "事業運営上開示すべき重要事項の概要"
    texts = {cell.value for row in first.iter_rows() for cell in row if isinstance(cell.value, str)}
    assert {"基本情報", "機関名 注1)", "専任", "機関本体", "注9) 試用期間を除く。"} <= texts
    rows = list(second.iter_rows(values_only=True))
    assert (None, "区分", "番号", "項目", "実施状況", "実施時期") in rows
    assert first.column_dimensions["A"].hidden  # the keys


def test_rows_are_as_tall_as_their_wrapped_text(client, example_org):
    """Excel fits no row to a merged cell's text: the long notes would show one line."""
    first = workbook(client.get(xlsx_url(example_org.sheet)).content).worksheets[0]
    heights = {
        cell.value[:3]: first.row_dimensions[cell.row].height
        for row in first.iter_rows(min_col=2, max_col=2)
        for cell in row
        if isinstance(cell.value, str) and cell.value.startswith("注")
    }
    assert heights["注3)"] >= 3 * spreadsheet.LINE_HEIGHT  # 180 characters across the sheet
    assert heights["注9)"] is None  # one line: Excel's own height


def test_xlsx_is_built_from_the_published_snapshot_not_the_draft(client, sheet):
    published_phone = sheet.phone
    change_sheet(sheet, phone="03-0000-0000")
    for url in (xlsx_url(sheet), xlsx_url(sheet, 1)):
        assert keyed(client.get(url).content)["phone"].value == published_phone


def test_current_xlsx_follows_the_latest_version(client, sheet):
    publish_version(sheet, phone="03-1111-2222")
    assert keyed(client.get(xlsx_url(sheet)).content)["phone"].value == "03-1111-2222"
    assert keyed(client.get(xlsx_url(sheet, 1)).content)["phone"].value != "03-1111-2222"


def test_a_version_xlsx_is_the_same_bytes_whenever_it_is_built(example_org, monkeypatch):
    publication = example_org.publications.get()
    first = spreadsheet.publication_workbook(publication)
    later = datetime.datetime.now().timestamp() + 86400 * 400
    monkeypatch.setattr("time.time", lambda: later)  # zipfile stamps entries with time.time()
    assert spreadsheet.publication_workbook(publication) == first
    local = timezone.localtime(publication.published_at)
    assert {entry.date_time for entry in zipfile.ZipFile(io.BytesIO(first)).infolist()} == {
        (*local.timetuple()[:5], local.second // 2 * 2)  # a zip keeps times to two seconds
    }
    properties = workbook(first).properties
    assert (
        properties.created
        == properties.modified
        == publication.published_at.replace(tzinfo=None, microsecond=0)
    )


def test_xlsx_downloads_with_the_version_in_its_name_and_validators(client, example_org):
    response = client.get(xlsx_url(example_org.sheet, 1))
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="qolead-v1-')
    assert disposition.endswith(".xlsx") and "filename*=UTF-8''" in disposition
    assert "immutable" in response["Cache-Control"] and "public" in response["Cache-Control"]
    again = client.get(xlsx_url(example_org.sheet, 1), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    current = client.get(xlsx_url(example_org.sheet))
    assert "max-age=60" in current["Cache-Control"] and not current.cookies
    assert client.get(xlsx_url(example_org.sheet), HTTP_IF_NONE_MATCH=current["ETag"]).status_code == 304


def test_an_unpublished_organizations_xlsx_is_404(client, other_org):
    assert client.get(xlsx_url(other_org.sheet)).status_code == 404
    assert client.get(xlsx_url(other_org.sheet, 1)).status_code == 404


def test_agency_and_version_pages_link_to_their_xlsx(client, sheet):
    publish_version(sheet, phone="03-1111-2222")
    for page, number in ((reverse("disclosures:current", args=["qolead"]), 2), ("/qolead/versions/1/", 1)):
        assert f'href="{xlsx_url(sheet, number)}"' in client.get(page).content.decode()


def test_formula_looking_text_is_written_as_text_never_as_a_formula(client, sheet):
    publish_version(sheet, financial_reference=HOSTILE)
    data = client.get(xlsx_url(sheet)).content
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "HYPERLINK" in sheet_xml
    cell = keyed(data)["financial_reference"]
    assert (cell.value, cell.data_type) == (HOSTILE, "s")


# --- the draft, for staff ------------------------------------------------------------------


def test_the_draft_downloads_with_its_editable_values_marked(editor_client, sheet):
    response = editor_client.get(download_url(sheet))
    assert response["Content-Type"] == spreadsheet.CONTENT_TYPE
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="qolead-draft-')
    book = workbook(response.content)
    first = book[spreadsheet.SHEET_NAME]
    assert first.protection.sheet and book[spreadsheet.CHECKLIST_NAME].protection.sheet
    for key, cell in keyed(book).items():
        assert not cell.protection.locked and cell.fill.fgColor.rgb.endswith("FFF2CC"), key
    assert first["C10"].protection.locked  # a label (機関名)
    assert book[spreadsheet.MARKER_SHEET].sheet_state == "veryHidden"


def test_a_round_trip_changes_the_draft_only_after_confirmation(editor, editor_client, sheet, draft_file):
    data = edited(
        draft_file,
        {"phone": "03-9999-0000", "service_targets=institution": box(True), "staff_total_own": 20},
        {"1.1": ("実施予定", "2027年3月")},
    )
    before = draft_digests(sheet)
    response = upload(editor_client, sheet, data)
    page = response.content.decode()
    assert response.status_code == 200 and "下書きからの変更点" in page
    assert field_label("phone") in page and "03-9999-0000" in page
    assert "組織的安全管理対策 1." in page and "2027年3月" in page
    assert draft_digests(sheet) == before  # shown, not applied
    token = response.context["confirmation"]

    confirmed = editor_client.post(upload_url(sheet), {"confirmation": token})
    assert confirmed.status_code == 302
    sheet = DisclosureSheet.objects.get(pk=sheet.pk)
    assert sheet.phone == "03-9999-0000"
    assert sheet.service_targets == ["insurer", "institution"]
    assert sheet.staff_total_own == 20
    answer = sheet.checklist.ordered_answers()[0]
    assert (answer.status, answer.planned_time) == (Answer.Status.PLANNED, datetime.date(2027, 3, 1))
    assert sheet.history.latest().history_user == editor
    assert answer.history.latest().history_user == editor


def test_an_unchanged_upload_says_nothing_changed(editor_client, sheet, draft_file):
    response = upload(editor_client, sheet, draft_file)
    page = response.content.decode()
    assert "変更はありません" in page and response.context["confirmation"] is None


def test_every_text_at_its_maximum_round_trips_unchanged(editor_client, sheet):
    fill_to_the_maximum(sheet)
    data = editor_client.get(download_url(sheet)).content
    assert "変更はありません" in upload(editor_client, sheet, data).content.decode()


def test_staff_are_warned_when_the_draft_changed_after_the_download(editor_client, sheet, draft_file):
    change_sheet(sheet, address="東京都千代田区1-1")
    response = upload(editor_client, sheet, edited(draft_file, {"phone": "03-9999-0000"}))
    page = response.content.decode()
    assert "このファイルをダウンロードした後に下書きが変更されています" in page
    assert "東京都千代田区1-1" in page  # the diff shows the change the file would undo


def test_formula_looking_text_typed_by_staff_round_trips_as_text(editor_client, sheet):
    change_sheet(sheet, financial_reference=HOSTILE)
    data = editor_client.get(download_url(sheet)).content
    assert "<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert keyed(data)["financial_reference"].data_type == "s"
    assert "変更はありません" in upload(editor_client, sheet, data).content.decode()


def with_entry(data, name, content):
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def foreign_workbook(_data):
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


def with_formula(data):
    book = workbook(data)
    keyed(book)["staff_total_own"].value = "=8+10"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_forged_marker(data):
    book = workbook(data)
    marker = book[spreadsheet.MARKER_SHEET]
    genuine = signing.loads(marker["B1"].value, salt=spreadsheet.MARKER_SALT)
    marker["B1"].value = signing.dumps(genuine, key="not-the-portals-secret", salt=spreadsheet.MARKER_SALT)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def without_a_row(data):
    book = workbook(data)
    book[spreadsheet.SHEET_NAME].delete_rows(11)  # 所在地
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


REFUSALS = {
    "not a zip": ("draft.xlsx", lambda data: b"%PDF-1.7\n" + data, "Excelファイル（.xlsx）ではありません"),
    "damaged zip": ("draft.xlsx", lambda data: data[: len(data) // 2], "壊れているため読み込めません"),
    "foreign workbook": (
        "draft.xlsx",
        foreign_workbook,
        "このポータルからダウンロードしたExcelファイルではありません",
    ),
    "forged marker": (
        "draft.xlsx",
        with_forged_marker,
        "このポータルからダウンロードしたExcelファイルではありません",
    ),
    "over 2 MB": (
        "draft.xlsx",
        lambda data: data + b"\0" * (2 * 1024 * 1024),
        "ファイルが大きすぎます（2.0MB",
    ),
    "formula": ("draft.xlsx", with_formula, "数式が入っているセルがあります"),
    "xlsm": ("draft.xlsm", lambda data: data, "マクロを含むことができる形式"),
    "vbaProject.bin": (
        "draft.xlsx",
        lambda data: with_entry(data, "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
        "マクロを含むファイルは受け付けません",
    ),
    "zip bomb": (
        "draft.xlsx",
        lambda data: with_entry(data, "xl/media/padding.bin", b"\0" * (40 * 1024 * 1024)),
        "展開後のファイルが大きすぎます",
    ),
    "a row deleted": ("draft.xlsx", without_a_row, "行や列が変更されている"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_file_changes_nothing(editor_client, sheet, draft_file, case):
    name, make, message = REFUSALS[case]
    before = draft_digests(sheet)
    response = upload(editor_client, sheet, make(draft_file), name=name)
    page = response.content.decode()
    assert response.status_code == 200 and "取り込めません" in page and message in page, page
    assert response.context["confirmation"] is None
    assert draft_digests(sheet) == before


def test_a_file_of_another_organization_is_refused(django_user_model, sheet, other_org):
    both = django_user_model.objects.create_superuser("root", "root@example.jp", PASSWORD)
    client = logged_in(both)
    other_file = client.get(download_url(other_org.sheet)).content
    before = draft_digests(sheet)
    page = upload(client, sheet, other_file).content.decode()
    assert "別の代行機関（other-agency）のファイルです" in page
    assert draft_digests(sheet) == before


def test_invalid_values_are_listed_with_their_labels_and_change_nothing(editor_client, sheet, draft_file):
    data = edited(
        draft_file,
        {
            "phone": "電話なし",
            "agency_code": "123",
            "classification=institution_group": box(True),  # a second 分類
            "similar_services=no": "x",
            "system_ownership=leased": box(True),  # 自己導入 is ticked too
            "staff_total_own": 1,  # fewer than 専任 + 兼任
        },
        {"1.1": ("済", ""), "1.2": ("実施予定", "")},
    )
    before = draft_digests(sheet)
    response = upload(editor_client, sheet, data)
    problems = response.context["problems"]
    assert any(p.startswith(f"{field_label('phone')}: ") for p in problems)
    assert any(p.startswith(f"{field_label('agency_code')}: 注2)") for p in problems)
    assert any("注3)" in p for p in problems)
    assert any(p.startswith(f"{field_label('similar_services')}「無」") for p in problems)
    assert any(p.startswith(f"{field_label('staff_total_own')}: ") for p in problems)
    assert f"{field_label('system_ownership')}: 選べるのは一つだけです。" in problems
    assert (
        "組織的安全管理対策 1. 実施状況: 「実施済」か「実施予定」を入力してください（未回答なら空欄）。"
        in problems
    )
    assert "組織的安全管理対策 2. 「実施予定」を選択した場合は、実施時期を記入してください。" in problems
    assert response.context["confirmation"] is None
    assert draft_digests(sheet) == before


def test_choices_read_from_the_file_are_those_of_the_model():
    assert [choice for choice, _ in field_choices("classification")] == [
        "insurer",
        "institution_group",
        "institution_other",
    ]


# --- the confirmation ------------------------------------------------------------------


def preview_token(client, sheet, draft_file):
    response = upload(client, sheet, edited(draft_file, {"phone": "03-9999-0000"}))
    return response.context["confirmation"]


def test_a_tampered_confirmation_changes_nothing(editor_client, sheet, draft_file):
    token = preview_token(editor_client, sheet, draft_file)
    before = draft_digests(sheet)
    response = editor_client.post(upload_url(sheet), {"confirmation": token[:-3] + "xyz"})
    assert "確認の内容が正しくありません" in response.content.decode()
    assert draft_digests(sheet) == before


def test_a_confirmation_after_the_draft_changed_changes_nothing(editor_client, sheet, draft_file):
    token = preview_token(editor_client, sheet, draft_file)
    change_sheet(sheet, address="東京都千代田区1-1")
    before = draft_digests(sheet)
    response = editor_client.post(upload_url(sheet), {"confirmation": token})
    assert "変更点を表示した後に下書きが変更されました" in response.content.decode()
    assert draft_digests(sheet) == before


def test_a_confirmation_is_for_the_user_who_saw_it(django_user_model, editor_client, sheet, draft_file):
    token = preview_token(editor_client, sheet, draft_file)
    colleague = logged_in(member(django_user_model, sheet.organization, Membership.Role.EDITOR, "colleague"))
    response = colleague.post(upload_url(sheet), {"confirmation": token})
    assert "確認の内容が正しくありません" in response.content.decode()
    assert DisclosureSheet.objects.get(pk=sheet.pk).phone != "03-9999-0000"


# --- who may ---------------------------------------------------------------------------


def test_another_organizations_editor_cannot_download_upload_or_confirm(
    django_user_model, editor_client, sheet, other_org, draft_file
):
    token = preview_token(editor_client, sheet, draft_file)
    outsider = logged_in(member(django_user_model, other_org, Membership.Role.PUBLISHER, "outsider"))
    assert outsider.get(download_url(sheet)).status_code == 404
    assert outsider.get(upload_url(sheet)).status_code == 404
    assert upload(outsider, sheet, draft_file).status_code == 404
    assert outsider.post(upload_url(sheet), {"confirmation": token}).status_code == 404
    assert DisclosureSheet.objects.get(pk=sheet.pk).phone != "03-9999-0000"


def test_anonymous_visitors_are_sent_to_the_login(client, sheet):
    response = client.get(download_url(sheet))
    assert response.status_code == 302 and "login" in response["Location"]
