"""publish(): numbered, frozen versions with a per-document 最終更新日.

The example organisation (fixture `example_org`) is published as version 1,
effective 2022年4月1日, with every checklist item 実施済.
"""

import datetime
import json
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from checklist.models import Answer, Item
from disclosures.models import DisclosureSheet, Membership, Publication
from disclosures.publishing import NothingChanged, PublishError, publish, published
from disclosures.snapshot import sha256_of

from .factories import (
    EXAMPLE,
    change_sheet,
    frozen_at,
    new_organization,
    plan,
    preview_url,
    publish_change,
    publish_url,
    schema_errors,
    utc,
)

EXAMPLE_DATE = datetime.date(2022, 4, 1)

# --- numbering ----------------------------------------------------------------


@pytest.mark.django_db
def test_versions_are_numbered_per_organization(example_org, official_template):
    other = new_organization("kenshin", "健診代行株式会社")
    numbers = [
        publish_change(example_org.sheet, hours_system="24時間").number,
        publish(other.sheet, change_note="初版").number,
        publish_change(example_org.sheet, hours_system="平日のみ").number,
        publish_change(other.sheet, hours_office="平日 10:00-18:00").number,
    ]
    assert numbers == [2, 1, 3, 2]
    assert list(example_org.publications.order_by("number").values_list("number", flat=True)) == [1, 2, 3]
    assert list(other.publications.order_by("number").values_list("number", flat=True)) == [1, 2]


@pytest.mark.django_db
def test_version_numbers_are_never_reused(sheet):
    second = publish_change(sheet, hours_system="24時間")
    with pytest.raises(ValueError):
        second.delete()
    third = publish_change(sheet, hours_system="平日のみ")
    assert third.number == 3


@pytest.mark.django_db
def test_refused_publish_does_not_use_up_a_number(sheet):
    with pytest.raises(NothingChanged):
        publish(sheet, change_note="変更なし")
    assert publish_change(sheet, hours_system="24時間").number == 2


# --- immutability -------------------------------------------------------------


@pytest.mark.django_db
def test_publication_cannot_be_changed(example_org):
    publication = example_org.publications.get()
    publication.change_note = "書き換え"
    with pytest.raises(ValueError):
        publication.save()
    publication.refresh_from_db()
    assert publication.change_note == "2022年4月1日に公開した内容を登録しました（初版）。"


@pytest.mark.django_db
def test_publication_cannot_be_deleted(example_org):
    publication = example_org.publications.get()
    with pytest.raises(ValueError):
        publication.delete()
    assert Publication.objects.filter(pk=publication.pk).exists()


# --- per-document 最終更新日 ----------------------------------------------------


@pytest.mark.django_db
def test_sheet_change_moves_only_the_sheets_date_to_the_tokyo_publish_date(sheet):
    # 16:00 UTC on 28 November is 01:00 on 29 November in Tokyo.
    with frozen_at(utc(2026, 11, 28, 16, 0)):
        publication = publish_change(sheet, hours_system="24時間 365日稼働（保守時を除く）")
    assert publication.sheet_updated_on == datetime.date(2026, 11, 29)
    assert publication.checklist_updated_on == EXAMPLE_DATE


@pytest.mark.django_db
def test_planning_a_checklist_item_moves_both_dates_because_compliance_is_on_the_sheet(sheet):
    plan(sheet, 0, "2027年3月")
    with frozen_at(utc(2026, 11, 28, 16, 0)):
        publication = publish(sheet, change_note="チェックリストを更新")
    # 注8: ガイドラインの遵守 is part of the sheet's content, computed from the checklist.
    assert publication.snapshot["sheet"]["values"]["guideline_compliance"] == "planned"
    assert publication.sheet_updated_on == datetime.date(2026, 11, 29)
    assert publication.checklist_updated_on == datetime.date(2026, 11, 29)


@pytest.mark.django_db
def test_changing_a_planned_time_moves_only_the_checklists_date(sheet):
    plan(sheet, 0, "2027年3月")
    plan(sheet, 1, "2027年3月")
    with frozen_at(utc(2026, 12, 1, 3, 0)):
        publish(sheet, change_note="実施予定を追加")
    plan(sheet, 1, "2027年9月")  # still 実施予定: ガイドラインの遵守 stays 遵守する予定
    with frozen_at(utc(2027, 1, 15, 3, 0)):
        publication = publish(sheet, change_note="実施時期を変更")
    assert publication.sheet_updated_on == datetime.date(2026, 12, 1)
    assert publication.checklist_updated_on == datetime.date(2027, 1, 15)


# --- effective date -----------------------------------------------------------


@pytest.mark.django_db
def test_first_publication_may_carry_an_earlier_effective_date(official_template):
    organization = new_organization("kenshin", "健診代行株式会社")
    publication = publish(
        organization.sheet, change_note="紙で公開していた内容", effective_date=datetime.date(2020, 1, 15)
    )
    assert publication.number == 1
    assert publication.sheet_updated_on == datetime.date(2020, 1, 15)
    assert publication.checklist_updated_on == datetime.date(2020, 1, 15)


@pytest.mark.django_db
def test_first_publication_may_carry_todays_tokyo_date(official_template):
    organization = new_organization("kenshin", "健診代行株式会社")
    with frozen_at(utc(2026, 11, 28, 16, 0)):  # already 29 November in Tokyo
        publication = publish(
            organization.sheet, change_note="初版", effective_date=datetime.date(2026, 11, 29)
        )
    assert publication.sheet_updated_on == datetime.date(2026, 11, 29)


@pytest.mark.django_db
def test_future_effective_date_is_refused(official_template):
    organization = new_organization("kenshin", "健診代行株式会社")
    with frozen_at(utc(2026, 11, 28, 16, 0)), pytest.raises(PublishError) as error:
        publish(organization.sheet, change_note="初版", effective_date=datetime.date(2026, 11, 30))
    assert error.value.problems == ["最終更新日に未来の日付は指定できません。"]
    assert not organization.publications.exists()


@pytest.mark.django_db
def test_effective_date_on_a_later_version_is_refused(sheet):
    change_sheet(sheet, hours_system="24時間")
    with pytest.raises(PublishError) as error:
        publish(sheet, change_note="更新", effective_date=datetime.date(2026, 1, 1))
    assert error.value.problems == ["最終更新日を指定できるのは初版（第1版）だけです。"]
    assert Publication.objects.count() == 1


# --- refusals -----------------------------------------------------------------


@pytest.mark.django_db
def test_unchanged_draft_is_refused_as_nothing_changed(sheet):
    sheet.save()  # saved again, same content
    with pytest.raises(NothingChanged) as error:
        publish(sheet, change_note="念のため再公開")
    assert len(error.value.problems) == 1
    assert "第1版" in error.value.problems[0]
    assert "同じ内容のため、公開しませんでした。" in error.value.problems[0]
    assert Publication.objects.count() == 1


@pytest.mark.django_db
def test_invalid_draft_is_refused_with_every_problem_listed_at_once(sheet):
    change_sheet(sheet, name="", agency_code="12ab")
    plan(sheet, 0, "")  # 実施予定 without its time
    unanswered = sheet.checklist.ordered_answers()[1]
    unanswered.status = ""
    unanswered.save()

    with pytest.raises(PublishError) as error:
        publish(sheet, change_note="更新")

    problems = error.value.problems
    assert not isinstance(error.value, NothingChanged)
    assert len(problems) >= 4, problems
    assert any(p.startswith("機関名: ") for p in problems), problems
    assert any(p.startswith("代行機関コード: 注2)") for p in problems), problems
    assert "組織的安全管理対策 1. 「実施予定」を選択した場合は、実施時期を記入してください。" in problems
    assert "組織的安全管理対策 2. 「実施済」か「実施予定」のどちらかを選んでください。" in problems
    assert Publication.objects.count() == 1


@pytest.mark.django_db
def test_change_note_is_required(sheet):
    change_sheet(sheet, hours_system="24時間")
    with pytest.raises(PublishError) as error:
        publish(sheet, change_note=" \n　")
    assert error.value.problems == ["変更内容を入力してください。"]
    assert Publication.objects.count() == 1


# --- the snapshot -------------------------------------------------------------


@pytest.mark.django_db
def test_snapshot_survives_later_edits_of_the_draft_and_the_checklist_template(client, example_org):
    old_item_text = "情報システム運用責任者の設置及び担当者(システム管理者を含む)の限定を行っている。"
    change_sheet(example_org.sheet, hours_system="下書きで変えた時間")
    item = Item.objects.get(section__order=1, number=1)
    item.text = "様式の改訂で変わった項目文"
    item.save()

    stored = Publication.objects.get(organization=example_org, number=1).snapshot
    assert stored["sheet"]["values"]["hours_system"] == "24時間 365日稼働"
    assert stored["checklist"]["sections"][0]["items"][0]["text"] == old_item_text

    page = client.get("/qolead/versions/1/").content.decode()
    assert "24時間 365日稼働" in page
    assert old_item_text in page
    assert "下書きで変えた時間" not in page
    assert "様式の改訂で変わった項目文" not in page


@pytest.mark.django_db
def test_snapshot_validates_against_the_json_schema(sheet):
    plan(sheet, 3, "2027年3月")
    publication = publish_change(sheet, service_start_date=datetime.date(2021, 4, 1), staff_total_own=18)
    assert schema_errors(publication.snapshot) == []


@pytest.mark.django_db
def test_stored_sha256_is_the_sha256_of_the_stored_snapshot(example_org):
    publication = Publication.objects.get(organization=example_org)  # read back from the database
    assert publication.snapshot_sha256 == sha256_of(publication.snapshot)


@pytest.mark.django_db
def test_served_json_without_publication_hashes_to_the_stored_sha256(client, example_org):
    publication = example_org.publications.get()
    document = json.loads(client.get("/qolead/versions/1.json").content)
    served = document.pop("publication")
    assert served["snapshot_sha256"] == publication.snapshot_sha256
    assert sha256_of(document) == publication.snapshot_sha256


# --- concurrency and signals --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_simultaneous_publishes_get_distinct_numbers(example_org):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite lets only one writer in at a time, so the row lock "
            "that numbers simultaneous publishes cannot be exercised (set DATABASE_URL)"
        )
    sheet = example_org.sheet
    answer_pk = sheet.checklist.ordered_answers()[0].pk
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def change_a_sheet_field():
        DisclosureSheet.objects.filter(pk=sheet.pk).update(hours_system="並行公開のテスト")

    def change_a_checklist_answer():
        Answer.objects.filter(pk=answer_pk).update(status="planned", planned_time=datetime.date(2027, 3, 1))

    def publish_in_a_thread(change):
        try:
            # Each thread changes a different row of the draft, then both publish at once.
            with transaction.atomic():
                change()
                barrier.wait(timeout=10)
                numbers.append(publish(sheet, change_note="同時に公開").number)
        except Exception as error:  # reported below, with IntegrityError in mind
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=publish_in_a_thread, args=(change,))
        for change in (change_a_sheet_field, change_a_checklist_answer)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(isinstance(error, IntegrityError) for error in errors), errors
    assert errors == []
    assert sorted(numbers) == [2, 3]
    assert list(example_org.publications.order_by("number").values_list("number", flat=True)) == [1, 2, 3]


@pytest.mark.django_db
def test_published_signal_is_sent_once_per_publication(sheet, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, publication, **kwargs):
        received.append(publication)

    published.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            second = publish_change(sheet, hours_system="24時間")
        with django_capture_on_commit_callbacks(execute=True):
            third = publish_change(sheet, hours_system="平日のみ")
    finally:
        published.disconnect(receiver)
    assert received == [second, third]


@pytest.mark.django_db
def test_refused_publish_sends_no_signal(sheet, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, publication, **kwargs):
        received.append(publication)

    published.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(NothingChanged):
            publish(sheet, change_note="変更なし")
    finally:
        published.disconnect(receiver)
    assert callbacks == []
    assert received == []


# --- the admin's publish and preview pages ------------------------------------


@pytest.mark.django_db
def test_publish_page_shows_changes_against_the_live_version(staff_client, sheet):
    change_sheet(sheet, hours_system="24時間 365日稼働（保守時を除く）")
    response = staff_client.get(publish_url(sheet))
    page = response.content.decode()
    assert response.status_code == 200
    assert "第2版" in page
    assert "運営に関する情報 › サービス提供時間 › システム" in page
    assert "<del>24時間 365日稼働</del>" in page
    assert "<ins>24時間 365日稼働（保守時を除く）</ins>" in page
    assert "サービス提供時間 › 拠点" not in page  # unchanged rows are not listed


@pytest.mark.django_db
def test_publish_page_shows_a_crispy_form_with_change_note_only_after_the_first_version(staff_client, sheet):
    change_sheet(sheet, hours_system="24時間")
    page = staff_client.get(publish_url(sheet)).content.decode()
    assert 'id="div_id_change_note"' in page  # crispy-bootstrap5's field wrapper
    assert 'name="change_note"' in page
    assert 'name="effective_date"' not in page


@pytest.mark.django_db
def test_publishing_from_the_admin_makes_version_2_and_says_so(staff_client, sheet):
    change_sheet(sheet, hours_system="24時間")
    response = staff_client.post(publish_url(sheet), {"change_note": "システムの稼働時間を更新"}, follow=True)
    publication = Publication.objects.get(number=2)
    assert response.redirect_chain[0] == (
        reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
        302,
    )
    assert publication.change_note == "システムの稼働時間を更新"
    assert publication.published_by.username == "admin"
    assert "第2版を公開しました" in response.content.decode()


@pytest.mark.django_db
def test_publishing_an_invalid_draft_from_the_admin_shows_the_problems(staff_client, sheet):
    change_sheet(sheet, name="", agency_code="12ab")
    response = staff_client.post(publish_url(sheet), {"change_note": "更新"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "公開できません（2件）" in page
    assert "代行機関コード: 注2) 代行機関コードは半角数字8桁で入力してください" in page
    assert Publication.objects.count() == 1


@pytest.mark.django_db
def test_publishing_without_a_change_note_shows_the_form_again(staff_client, sheet):
    change_sheet(sheet, hours_system="24時間")
    response = staff_client.post(publish_url(sheet), {"change_note": ""})
    page = response.content.decode()
    assert response.status_code == 200
    assert "変更内容を入力してください。" in page
    assert 'name="change_note"' in page
    assert Publication.objects.count() == 1


@pytest.mark.django_db
def test_staff_of_no_organization_cannot_reach_the_publish_page(client, django_user_model, sheet):
    clerk = django_user_model.objects.create_user("clerk", password="pw-for-tests-123", is_staff=True)
    client.force_login(clerk)
    change_sheet(sheet, hours_system="24時間")
    assert client.get(publish_url(sheet)).status_code == 404
    assert client.post(publish_url(sheet), {"change_note": "更新"}).status_code == 404
    assert Publication.objects.count() == 1


@pytest.mark.django_db
def test_editor_without_publish_permission_cannot_publish(client, django_user_model, sheet):
    editor = django_user_model.objects.create_user("editor", password="pw-for-tests-123", is_staff=True)
    Membership.objects.create(organization=sheet.organization, user=editor, role=Membership.Role.EDITOR)
    client.force_login(editor)
    change_sheet(sheet, hours_system="24時間")
    assert client.get(preview_url(sheet)).status_code == 200  # may look at the draft…
    assert client.post(publish_url(sheet), {"change_note": "更新"}).status_code == 403  # …not publish it
    assert Publication.objects.count() == 1


@pytest.mark.django_db
def test_preview_shows_the_unpublished_draft_with_a_banner(staff_client, sheet):
    change_sheet(sheet, hours_system="下書きの稼働時間")
    page = staff_client.get(preview_url(sheet)).content.decode()
    assert "未公開の下書きのプレビューです。" in page
    assert "下書きの稼働時間" in page


@pytest.mark.django_db
def test_preview_is_not_shown_to_anonymous_visitors(client, sheet):
    change_sheet(sheet, hours_system="下書きの稼働時間")
    response = client.get(preview_url(sheet))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "下書きの稼働時間" not in response.content.decode()


@pytest.mark.django_db
def test_public_page_shows_a_draft_value_only_once_published(client, staff_client, sheet):
    change_sheet(sheet, hours_system="下書きの稼働時間")
    assert "下書きの稼働時間" not in client.get("/qolead/").content.decode()
    staff_client.post(publish_url(sheet), {"change_note": "稼働時間を更新"})
    assert "下書きの稼働時間" in client.get("/qolead/").content.decode()


def test_publications_cannot_be_changed_or_deleted_in_bulk(example_org):
    with pytest.raises(ValueError):
        Publication.objects.filter(organization=example_org).update(change_note="改ざん")
    with pytest.raises(ValueError):
        Publication.objects.filter(organization=example_org).delete()
    assert Publication.objects.get().change_note == EXAMPLE["change_note"]
