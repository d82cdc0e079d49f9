"""Issue 14, point 3: scheduled publication.

A version scheduled for a go-live time is numbered, frozen and rendered at once;
the public sees nothing of it before that moment and sees it everywhere from that
moment on, with nothing run in between (a frozen clock moves across the go-live).
The example organisation (fixture `sheet`) has version 1, published at
EXAMPLE_PUBLISHED_AT.
"""

import datetime
import io
import json
import zipfile

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from disclosures.formatting import japanese_date, japanese_moment
from disclosures.models import Membership, Publication, ScheduleCancellation
from disclosures.publishing import (
    FAR_GO_LIVE,
    NOTHING_TO_CANCEL,
    PAST_GO_LIVE,
    PublishError,
    cancel_schedule,
    publish,
)

from .factories import EXAMPLE_PUBLISHED_AT, change_sheet, frozen_at, member, publish_url

pytestmark = pytest.mark.django_db

EXAMPLE_DATE = datetime.date(2022, 4, 1)
# An hour after version 1; the go-live at midnight (Tokyo) three days later.
NOW = EXAMPLE_PUBLISHED_AT + datetime.timedelta(hours=1)
GO_LIVE = timezone.localtime(NOW).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(
    days=3
)
BEFORE = GO_LIVE - datetime.timedelta(seconds=1)
NEW_HOURS = "予約公開で変わる受付時間"


def schedule(sheet, live_from=GO_LIVE, *, user=None, hours=NEW_HOURS, note="4月からの受付時間"):
    with frozen_at(NOW):
        change_sheet(sheet, hours_system=hours)
        return publish(sheet, user=user, change_note=note, live_from=live_from)


def get(client, url, at, **headers):
    with frozen_at(at):
        return client.get(url, **headers)


def archive_manifest(client, at):
    with frozen_at(at):
        archive = b"".join(client.get("/qolead/archive.zip").streaming_content)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return json.loads(z.read("qolead-archive/manifest.json"))


def current_version(client, at):
    return get(client, "/qolead/current.json", at).json()["publication"]["version"]


# --- what publish() makes ----------------------------------------------------------


def test_scheduled_version_is_numbered_frozen_and_rendered_now_dated_at_its_go_live(sheet, monkeypatch):
    rendered = {}

    def render(snapshot, *, number, published_at, **dates):
        rendered.update(number=number, published_at=published_at, **dates)
        return b"%PDF-1.7\n% scheduled\n"

    monkeypatch.setattr("disclosures.publishing.render_publication_pdf", render)
    publication = schedule(sheet)
    assert (publication.number, publication.published_at, publication.live_from) == (2, NOW, GO_LIVE)
    assert bytes(publication.pdf) == b"%PDF-1.7\n% scheduled\n"
    assert publication.snapshot["sheet"]["values"]["hours_system"] == NEW_HOURS
    # 最終更新日: the go-live date for the document that changed, as the PDF prints it.
    assert publication.sheet_updated_on == timezone.localdate(GO_LIVE)
    assert publication.checklist_updated_on == EXAMPLE_DATE
    assert rendered == {
        "number": 2,
        "published_at": GO_LIVE,
        "sheet_updated_on": timezone.localdate(GO_LIVE),
        "checklist_updated_on": EXAMPLE_DATE,
    }
    # The draft edited after scheduling does not touch the frozen version.
    change_sheet(sheet, hours_system="さらに変えた下書き")
    publication.refresh_from_db()
    assert publication.snapshot["sheet"]["values"]["hours_system"] == NEW_HOURS


def test_immediate_versions_go_live_when_published(sheet):
    with frozen_at(NOW):
        change_sheet(sheet, hours_system="24時間")
        publication = publish(sheet, change_note="即時公開")
    assert publication.live_from == publication.published_at == NOW
    assert Publication.objects.get(number=1).live_from == Publication.objects.get(number=1).published_at


def test_the_queryset_knows_live_and_scheduled_versions_at_any_moment(sheet):
    schedule(sheet)
    versions = Publication.objects.filter(organization=sheet.organization_id)
    assert [p.number for p in versions.live(BEFORE)] == [1]
    assert [p.number for p in versions.scheduled(BEFORE)] == [2]
    assert [p.number for p in versions.current(BEFORE)] == [1]
    assert [p.number for p in versions.current(GO_LIVE)] == [2]
    assert [p.number for p in versions.scheduled(GO_LIVE)] == []
    assert [p.number for p in Publication.objects.for_slug("qolead", BEFORE)] == [1]


# --- the public before and after the go-live -------------------------------------------


def test_the_public_keeps_version_1_everywhere_until_the_go_live_then_sees_version_2(client, sheet):
    version_1_pdf = Publication.objects.get(number=1).pdf_sha256
    scheduled = schedule(sheet)
    go_live_on = japanese_date(timezone.localdate(GO_LIVE))

    for at in (NOW, BEFORE):
        document = get(client, "/qolead/current.json", at).json()
        assert document["publication"]["version"] == 1
        assert NEW_HOURS not in json.dumps(document, ensure_ascii=False)
        page = get(client, "/qolead/", at).content.decode()
        assert NEW_HOURS not in page and "/qolead/versions/2/" not in page
        assert "-v1-" in get(client, "/qolead/pdf/", at)["Content-Disposition"]
        versions = get(client, "/qolead/versions/", at).content.decode()
        assert "/qolead/versions/1/" in versions and "/qolead/versions/2/" not in versions
        for url in ("/qolead/versions/2/", "/qolead/versions/2.json", "/qolead/versions/2/pdf/"):
            assert get(client, url, at).status_code == 404, url
        assert get(client, "/qolead/versions/2/diff/", at).status_code == 404
        feed = get(client, "/qolead/feed/", at).content.decode()
        assert "第1版" in feed and "第2版" not in feed
        assert get(client, f"/verify/{scheduled.pdf_sha256}.json", at).status_code == 404
        assert get(client, f"/verify/{version_1_pdf}.json", at).json()["is_current"] is True
        manifest = archive_manifest(client, at)
        assert manifest["current_version"] == 1 and [v["version"] for v in manifest["versions"]] == [1]
        assert get(client, "/", at).status_code in (200, 302)

    document = get(client, "/qolead/current.json", GO_LIVE).json()
    assert document["publication"]["version"] == 2
    assert datetime.datetime.fromisoformat(document["publication"]["published_at"]) == GO_LIVE
    assert document["publication"]["sheet_updated_on"] == timezone.localdate(GO_LIVE).isoformat()
    page = get(client, "/qolead/", GO_LIVE).content.decode()
    assert NEW_HOURS in page and go_live_on in page
    assert "-v2-" in get(client, "/qolead/pdf/", GO_LIVE)["Content-Disposition"]
    assert "/qolead/versions/2/" in get(client, "/qolead/versions/", GO_LIVE).content.decode()
    assert get(client, "/qolead/versions/2/", GO_LIVE).status_code == 200
    assert get(client, "/qolead/versions/2/diff/", GO_LIVE).status_code == 200
    assert "第2版" in get(client, "/qolead/feed/", GO_LIVE).content.decode()
    assert get(client, f"/verify/{scheduled.pdf_sha256}.json", GO_LIVE).json()["is_current"] is True
    assert get(client, f"/verify/{version_1_pdf}.json", GO_LIVE).json()["is_current"] is False
    assert archive_manifest(client, GO_LIVE)["current_version"] == 2


def test_a_client_revalidating_with_its_date_gets_version_2_at_the_go_live(client, sheet):
    schedule(sheet)
    earlier = get(client, "/qolead/current.json", BEFORE)
    # Last-Modified is version 1's; at the go-live it is the go-live time.
    response = get(client, "/qolead/current.json", GO_LIVE, HTTP_IF_MODIFIED_SINCE=earlier["Last-Modified"])
    assert response.status_code == 200 and response.json()["publication"]["version"] == 2


def test_max_age_of_the_current_version_never_reaches_past_the_go_live(client, sheet):
    schedule(sheet)
    assert "max-age=60" in get(client, "/qolead/current.json", NOW)["Cache-Control"]
    near = get(client, "/qolead/current.json", GO_LIVE - datetime.timedelta(seconds=20))
    assert "max-age=19" in near["Cache-Control"] or "max-age=20" in near["Cache-Control"]
    assert "max-age=60" in get(client, "/qolead/", GO_LIVE)["Cache-Control"]


# --- one at a time, in the future -----------------------------------------------------


def test_publishing_while_a_version_is_scheduled_is_refused(sheet):
    schedule(sheet)
    for live_from in (None, GO_LIVE + datetime.timedelta(days=1)):
        with frozen_at(NOW), pytest.raises(PublishError) as refused:
            change_sheet(sheet, hours_system="別の変更")
            publish(sheet, change_note="もう一つ", live_from=live_from)
        assert refused.value.problems[0] == (
            f"第2版が{japanese_moment(GO_LIVE)}に公開予定です。公開予定の版がある間は、新しい版を公開できません"
            "（公開予定を取り消すか、公開されるのを待ってください）。"
        )
    assert Publication.objects.count() == 2
    # Once it is live, the next version can be published.
    with frozen_at(GO_LIVE + datetime.timedelta(minutes=1)):
        assert publish(sheet, change_note="公開後の変更").number == 3


@pytest.mark.parametrize(
    "live_from, message",
    [
        (NOW - datetime.timedelta(minutes=1), PAST_GO_LIVE),
        (NOW, PAST_GO_LIVE),
        (NOW + datetime.timedelta(days=367), FAR_GO_LIVE),
    ],
    ids=["past", "now", "over a year"],
)
def test_a_go_live_time_not_to_come_within_a_year_is_refused(sheet, live_from, message):
    with pytest.raises(PublishError) as refused:
        schedule(sheet, live_from)
    assert message in refused.value.problems
    assert Publication.objects.count() == 1


def test_a_scheduled_first_publication_dates_both_documents_at_its_go_live(official_template):
    from .factories import new_organization

    organization = new_organization("kenshin", "健診代行株式会社")
    with frozen_at(NOW):
        publication = publish(organization.sheet, change_note="初版", live_from=GO_LIVE)
    assert publication.number == 1
    assert publication.sheet_updated_on == publication.checklist_updated_on == timezone.localdate(GO_LIVE)
    assert Publication.objects.for_slug("kenshin", BEFORE).count() == 0
    assert Publication.objects.for_slug("kenshin", GO_LIVE).count() == 1


# --- cancellation ----------------------------------------------------------------------


def test_a_cancelled_version_is_kept_never_public_and_its_number_is_not_used_again(
    client, sheet, django_user_model
):
    publisher = member(django_user_model, sheet.organization, Membership.Role.PUBLISHER, "publisher")
    scheduled = schedule(sheet, user=publisher)
    with frozen_at(NOW + datetime.timedelta(minutes=5)):
        assert cancel_schedule(sheet.organization, user=publisher) == scheduled
    cancellation = ScheduleCancellation.objects.get()
    assert (cancellation.publication, cancellation.cancelled_by) == (scheduled, publisher)
    assert cancellation.history.get().history_type == "+"  # in the audit trail
    assert Publication.objects.filter(number=2).exists()  # unchanged, not deleted

    after = GO_LIVE + datetime.timedelta(days=1)
    assert current_version(client, after) == 1
    assert get(client, "/qolead/versions/2/", after).status_code == 404
    assert get(client, f"/verify/{scheduled.pdf_sha256}.json", after).status_code == 404
    with frozen_at(after), pytest.raises(PublishError) as nothing:
        cancel_schedule(sheet.organization, user=publisher)
    assert nothing.value.problems == [NOTHING_TO_CANCEL]

    # The next version is 3; the public sees 1 and 3, and 3's changes against 1.
    with frozen_at(after):
        change_sheet(sheet, hours_system="取消後の受付時間")
        third = publish(sheet, change_note="取消後に公開")
    assert third.number == 3
    assert third.sheet_updated_on == timezone.localdate(after)
    assert current_version(client, after) == 3
    versions = get(client, "/qolead/versions/", after).content.decode()
    assert "/qolead/versions/1/" in versions and "/qolead/versions/2/" not in versions
    diff = get(client, "/qolead/versions/3/diff/", after)
    assert diff.status_code == 200 and "第1版" in diff.content.decode()
    assert [v["version"] for v in archive_manifest(client, after)["versions"]] == [1, 3]


def test_a_version_that_went_live_cannot_be_cancelled(sheet):
    schedule(sheet)
    with frozen_at(GO_LIVE), pytest.raises(PublishError):
        cancel_schedule(sheet.organization)
    assert not ScheduleCancellation.objects.exists()


def test_an_editor_cannot_cancel_a_schedule(sheet, editor):
    schedule(sheet)
    with frozen_at(NOW), pytest.raises(PermissionDenied):
        cancel_schedule(sheet.organization, user=editor)
    assert not ScheduleCancellation.objects.exists()


# --- the admin -------------------------------------------------------------------------


# Admin requests run on the real clock (a session lasts 30 minutes of it): NOW is
# an hour after version 1, the go-live days later, both to come.


def post_publish(staff_client, sheet, live_from):
    return staff_client.post(
        publish_url(sheet), {"change_note": "4月からの受付時間", "live_from": live_from}, follow=True
    )


@pytest.mark.parametrize(
    "value",
    ["来年の4月", "2027-02-30T00:00", "99999-04-01T00:00", "2027-04-01T25:00", "0000-01-01T00:00"],
)
def test_a_go_live_time_that_is_no_date_gets_a_japanese_error(staff_client, sheet, value):
    change_sheet(sheet, hours_system=NEW_HOURS)
    response = post_publish(staff_client, sheet, value)
    assert response.status_code == 200
    assert "公開開始日時は 2027-04-01 00:00 のように、正しい日付と時刻で入力してください。" in (
        response.content.decode()
    )
    assert Publication.objects.count() == 1


def test_a_past_go_live_time_is_refused_in_the_form(staff_client, sheet):
    change_sheet(sheet, hours_system=NEW_HOURS)
    past = timezone.localtime(NOW - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = post_publish(staff_client, sheet, past)
    assert response.status_code == 200 and PAST_GO_LIVE in response.content.decode()
    assert Publication.objects.count() == 1


def test_staff_schedule_see_and_cancel_a_version_in_the_admin(staff_client, sheet):
    change_sheet(sheet, hours_system=NEW_HOURS)
    go_live = timezone.localtime(GO_LIVE).strftime("%Y-%m-%dT%H:%M")
    response = post_publish(staff_client, sheet, go_live)
    label = f"公開予定 第2版 {japanese_moment(GO_LIVE)}"
    assert label.endswith(" 0:00")
    assert f"第2版を{japanese_moment(GO_LIVE)}に公開する予定で確定しました" in response.content.decode()
    assert Publication.objects.get(number=2).live_from == GO_LIVE

    organization_page = staff_client.get(
        reverse("admin:disclosures_organization_change", args=[sheet.organization_id])
    )
    sheet_page = staff_client.get(reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    list_page = staff_client.get(reverse("admin:disclosures_organization_changelist"))
    publish_page = staff_client.get(publish_url(sheet))
    versions_page = staff_client.get(reverse("admin:disclosures_publication_changelist"))
    for page in (organization_page, sheet_page, list_page, publish_page):
        assert label in page.content.decode()
    assert f"公開予定 {japanese_moment(GO_LIVE)}" in versions_page.content.decode()
    publish_text = publish_page.content.decode()
    assert "第2版の公開予定を取り消す" in publish_text
    assert "公開予定の版がある間は、新しい版を公開できません" in publish_text

    # A second schedule through the form is refused with the same message.
    again = post_publish(staff_client, sheet, go_live)
    assert "公開予定の版がある間は、新しい版を公開できません" in again.content.decode()
    assert Publication.objects.count() == 2

    cancel_url = reverse("admin:disclosures_disclosuresheet_cancel_schedule", args=[sheet.pk])
    assert staff_client.get(cancel_url).status_code == 302  # a GET cancels nothing
    assert not ScheduleCancellation.objects.exists()
    cancelled = staff_client.post(cancel_url, follow=True)
    assert "第2版（" in cancelled.content.decode() and "を取り消しました" in cancelled.content.decode()
    assert ScheduleCancellation.objects.get().cancelled_by.username == "admin"
    versions_page = staff_client.get(reverse("admin:disclosures_publication_changelist"))
    sheet_page = staff_client.get(reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]))
    trail = staff_client.get(reverse("admin:disclosures_schedulecancellation_changelist"))
    assert "取消（" in versions_page.content.decode()
    assert label not in sheet_page.content.decode()
    assert "第2版" in trail.content.decode()


def test_the_publish_page_names_the_number_after_a_cancelled_one(staff_client, sheet):
    schedule(sheet)
    with frozen_at(NOW):
        cancel_schedule(sheet.organization)
    page = staff_client.get(publish_url(sheet)).content.decode()
    assert "第3版として公開する" in page


def test_the_caches_hold_no_current_page_past_the_go_live(client, sheet):
    """The page, JSON and PDF of the current version, warm in the cache before the
    go-live, are of the past at the go-live."""
    schedule(sheet)
    urls = ["/qolead/", "/qolead/current.json", "/qolead/pdf/", "/qolead/versions/1/"]
    for url in urls:
        for _ in range(2):
            assert get(client, url, NOW).status_code == 200
    assert cache.get("disclosure:generation") is not None
    assert current_version(client, GO_LIVE) == 2
    assert "-v2-" in get(client, "/qolead/pdf/", GO_LIVE)["Content-Disposition"]
    assert NEW_HOURS in get(client, "/qolead/", GO_LIVE).content.decode()
    assert "現在の版ではありません" in get(client, "/qolead/versions/1/", GO_LIVE).content.decode()


# --- the data migration ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_existing_version_its_publication_time_as_go_live():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        ("disclosures", "0010_reminders_digest"),
        ("disclosures", "0011_schedule_live_from"),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps
    organization = old.get_model("disclosures", "Organization").objects.create(slug="old", name="旧機関")
    published_at = [
        datetime.datetime(2023, 4, 1, 0, 0, tzinfo=datetime.UTC) + datetime.timedelta(days=n)
        for n in range(2)
    ]
    for number, moment in enumerate(published_at, start=1):
        old.get_model("disclosures", "Publication").objects.create(
            organization=organization,
            number=number,
            published_at=moment,
            change_note="移行前の版",
            snapshot={},
            snapshot_sha256="0" * 64,
            sheet_digest="0" * 64,
            checklist_digest="0" * 64,
            sheet_updated_on=moment.date(),
            checklist_updated_on=moment.date(),
            pdf=b"%PDF",
            pdf_sha256="0" * 64,
            title="旧機関",
            classification="insurer",
        )
    executor = MigrationExecutor(connection)
    executor.migrate([after])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    versions = Publication.objects.filter(organization__slug="old").order_by("number")
    assert [(p.published_at, p.live_from) for p in versions] == [(m, m) for m in published_at]
    assert [p.number for p in Publication.objects.for_slug("old")] == [2, 1]
    assert [p.number for p in Publication.objects.filter(organization__slug="old").current()] == [2]


def test_admin_pages_of_scheduled_and_cancelled_versions_open_without_a_public_link(staff_client, sheet):
    scheduled = schedule(sheet)
    page = staff_client.get(reverse("admin:disclosures_publication_change", args=[scheduled.pk]))
    assert page.status_code == 200
    assert f"公開予定 {japanese_moment(GO_LIVE)}" in page.content.decode()
    assert scheduled.get_absolute_url() not in page.content.decode()
    with frozen_at(NOW):
        cancel_schedule(sheet.organization)
    cancellation = ScheduleCancellation.objects.get()
    page = staff_client.get(reverse("admin:disclosures_schedulecancellation_change", args=[cancellation.pk]))
    assert page.status_code == 200 and japanese_moment(GO_LIVE) in page.content.decode()
    page = staff_client.get(reverse("admin:disclosures_publication_change", args=[scheduled.pk]))
    assert "取消（" in page.content.decode()
