"""manage.py backup / restore: everything out to one file and back, hashes verified.

The example organisation (fixture `example_org`) is published as version 1; the
fixture `populated` adds users, a group, a membership, an admin log entry, a
checklist answer 実施予定 and version 2, whose PDF holds every byte value.
"""

import base64
import datetime
import gzip
import io
import json
import stat

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from checklist.models import Answer, ChecklistTemplate
from disclosures.management.commands.backup import (
    ObjectsDigest,
    included_models,
    manifest_sha256,
    row_sha256,
    signature,
)
from disclosures.models import Membership, Organization, Publication
from disclosures.publishing import publish

pytestmark = pytest.mark.django_db

PASSWORD = "editor-password-for-tests-123"
BINARY_PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


@pytest.fixture(autouse=True)
def fresh_content_type_cache():
    """Flushing recreates content types with new ids; none may stay cached for other tests."""
    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


@pytest.fixture
def populated(example_org, django_user_model, monkeypatch):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.jp", "admin-pw-123!x")
    editor = django_user_model.objects.create_user("editor", "editor@example.jp", PASSWORD, is_staff=True)
    add_publication = Permission.objects.get(codename="add_publication")
    editor.user_permissions.add(add_publication)
    group = Group.objects.create(name="公開責任者")
    group.permissions.add(add_publication)
    editor.groups.add(group)
    Membership.objects.create(organization=example_org, user=editor, role=Membership.Role.PUBLISHER)
    LogEntry.objects.create(
        user=admin,
        content_type=ContentType.objects.get_for_model(Organization),
        object_id=str(example_org.pk),
        object_repr=str(example_org),
        action_flag=CHANGE,
        change_message="担当者を追加しました。",
    )
    if apps.is_installed("django_otp.plugins.otp_totp"):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.create(user=editor, name="スマートフォン", confirmed=True)

    sheet = example_org.sheet
    answer = sheet.checklist.ordered_answers()[3]
    answer.status = Answer.Status.PLANNED
    answer.planned_time = datetime.date(2031, 3, 1)
    answer.save()
    sheet.address = sheet.address + "（第2版で移転）"
    sheet.save()
    monkeypatch.setattr("disclosures.publishing.render_publication_pdf", lambda snapshot, **_: BINARY_PDF)
    publish(sheet, change_note="所在地とチェックリストを更新しました。")
    return example_org


def database_state():
    """Every row a backup holds, with references by natural key (ids of content
    types and permissions change with a flush)."""
    return {
        model._meta.label_lower: serializers.serialize(
            "python", model._base_manager.order_by("pk"), use_natural_foreign_keys=True
        )
        for model in included_models()
    }


def empty_database():
    # PostgreSQL refuses TRUNCATE while this transaction's deferred checks are pending.
    connection.check_constraints()
    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()


def backup(path, **options):
    call_command("backup", str(path), stdout=io.StringIO(), **options)
    return path


def restore(path, **options):
    out = io.StringIO()
    call_command("restore", str(path), stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def read_backup_file(path):
    with gzip.open(path, "rb") as file:
        return json.load(file)


def write_backup_file(path, data):
    with gzip.open(path, "wb") as file:
        file.write(json.dumps(data, ensure_ascii=False).encode())


def publication_row(data, number):
    return next(
        row
        for row in data["objects"]
        if row["model"] == "disclosures.publication" and row["fields"]["number"] == number
    )


def test_backup_then_restore_into_an_empty_database_reproduces_everything(populated, tmp_path):
    before = database_state()
    originals = {p.number: (bytes(p.pdf), p.snapshot) for p in Publication.objects.all()}
    path = backup(tmp_path / "backup.json.gz")
    empty_database()
    assert not Organization.objects.exists()
    assert not ChecklistTemplate.objects.exists()

    output = restore(path)

    assert database_state() == before
    organization = Organization.objects.get(slug="qolead")
    assert [p.number for p in organization.publications.order_by("number")] == [1, 2]
    for publication in Publication.objects.all():
        pdf, snapshot = originals[publication.number]
        assert bytes(publication.pdf) == pdf
        assert publication.snapshot == snapshot
    assert bytes(Publication.objects.get(number=2).pdf) == BINARY_PDF
    editor = organization.members.get()
    assert editor.check_password(PASSWORD)
    assert editor.has_perm("disclosures.add_publication")
    assert editor.memberships.get().role == Membership.Role.PUBLISHER
    checklist = organization.sheet.checklist
    assert checklist.template == ChecklistTemplate.objects.get(code="guideline-v2")
    assert checklist.answers.count() == 56
    assert checklist.ordered_answers()[3].planned_time == datetime.date(2031, 3, 1)
    assert "公開版 2版" in output and "検証しました" in output


def test_backup_file_holds_a_manifest_and_only_its_owner_may_read_it(populated, tmp_path):
    path = backup(tmp_path / "backup.json.gz")

    data = read_backup_file(path)
    manifest = data["manifest"]
    assert (data["format"], data["format_version"]) == ("disclosure-portal-backup", 2)
    assert manifest["publications"] == [
        {
            "organization": "qolead",
            "version": p.number,
            "pk": p.pk,
            "snapshot_sha256": p.snapshot_sha256,
            "pdf_sha256": p.pdf_sha256,
            "row_sha256": row_sha256(publication_row(data, p.number)),
        }
        for p in Publication.objects.order_by("number")
    ]
    assert data["integrity"]["manifest_sha256"] == manifest_sha256(manifest)
    assert data["integrity"]["hmac_sha256"] is None  # no key set
    assert manifest["counts"]["disclosures.publication"] == 2
    assert manifest["counts"]["auth.user"] == 2
    assert sum(manifest["counts"].values()) == len(data["objects"])
    assert not {"contenttypes.contenttype", "auth.permission", "sessions.session"} & set(manifest["counts"])
    assert manifest["created_at"] and manifest["django_version"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def tamper_pdf(data):
    row = publication_row(data, 2)
    pdf = bytearray(base64.b64decode(row["fields"]["pdf"]))
    pdf[20] ^= 0xFF
    row["fields"]["pdf"] = base64.b64encode(bytes(pdf)).decode()


def tamper_snapshot(data):
    publication_row(data, 2)["fields"]["snapshot"]["sheet"]["values"]["address"] = "改ざんした所在地"


def tamper_snapshot_and_its_hash(data):
    from disclosures.snapshot import sha256_of

    row = publication_row(data, 2)
    row["fields"]["snapshot"]["sheet"]["values"]["address"] = "改ざんした所在地"
    row["fields"]["snapshot_sha256"] = sha256_of(row["fields"]["snapshot"])


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (tamper_pdf, "PDF が pdf_sha256 と一致しません"),
        (tamper_snapshot, "スナップショットが snapshot_sha256 と一致しません"),
        (tamper_snapshot_and_its_hash, "snapshot_sha256 がマニフェストと違います"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_restore_refuses_a_tampered_publication_and_restores_nothing(populated, tmp_path, tamper, reason):
    path = backup(tmp_path / "backup.json.gz")
    data = read_backup_file(path)
    tamper(data)
    write_backup_file(path, data)
    empty_database()

    with pytest.raises(CommandError) as refused:
        restore(path)

    assert f"qolead 第2版: {reason}" in str(refused.value)
    assert "qolead 第1版" not in str(refused.value)
    assert all(not model._base_manager.exists() for model in included_models())


def test_restore_refuses_a_database_that_is_not_empty(populated, tmp_path):
    path = backup(tmp_path / "backup.json.gz")
    before = database_state()

    with pytest.raises(CommandError, match="データベースが空ではないため、復元しません.*--flush"):
        restore(path)

    assert database_state() == before


def test_restore_with_flush_replaces_the_current_data(populated, tmp_path):
    before = database_state()
    path = backup(tmp_path / "backup.json.gz")
    Organization.create_with_drafts(slug="after-backup", name="バックアップ後の機関")

    restore(path, flush=True)

    assert database_state() == before
    assert not Organization.objects.filter(slug="after-backup").exists()


def test_a_failed_restore_with_flush_leaves_the_current_data_as_it_was(populated, tmp_path):
    path = backup(tmp_path / "backup.json.gz")
    data = read_backup_file(path)
    tamper_pdf(data)
    write_backup_file(path, data)
    Organization.create_with_drafts(slug="after-backup", name="バックアップ後の機関")
    before = database_state()

    with pytest.raises(CommandError, match="すべて取り消しました"):
        restore(path, flush=True)

    assert database_state() == before


def test_after_a_restore_new_rows_get_new_ids(populated, tmp_path):
    """Sequences are reset: PostgreSQL would otherwise hand out restored ids again."""
    path = backup(tmp_path / "backup.json.gz")
    empty_database()
    restore(path)

    other = Organization.create_with_drafts(slug="new-org", name="新しい機関")
    sheet = Organization.objects.get(slug="qolead").sheet
    sheet.address = sheet.address + "（第3版）"
    sheet.save()
    third = publish(sheet, change_note="所在地を更新しました。")

    assert other.pk > Organization.objects.get(slug="qolead").pk
    assert third.number == 3
    assert third.pk > Publication.objects.get(number=2).pk


def test_backup_refuses_to_overwrite_a_file_unless_forced(populated, tmp_path):
    path = tmp_path / "backup.json.gz"
    path.write_bytes(b"an older backup")

    with pytest.raises(CommandError, match="既にあります.*--force"):
        backup(path)
    assert path.read_bytes() == b"an older backup"

    backup(path, force=True)
    assert read_backup_file(path)["manifest"]["counts"]["disclosures.publication"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["backup.json.gz"]  # no temporary file left


def garbage(path, valid):
    path.write_bytes(b"this is not a backup\x00\xff")


def truncated(path, valid):
    path.write_bytes(valid[: len(valid) // 2])


def empty(path, valid):
    path.write_bytes(b"")


def not_json(path, valid):
    path.write_bytes(gzip.compress(b"<html>not json</html>"))


def other_json(path, valid):
    path.write_bytes(gzip.compress(b'[{"model": "auth.user", "pk": 1, "fields": {}}]'))


def objects_cut_short(path, valid):
    data = json.loads(gzip.decompress(valid))
    data["objects"] = data["objects"][:10]
    path.write_bytes(gzip.compress(json.dumps(data).encode()))


@pytest.mark.parametrize(
    "spoil, message",
    [
        (garbage, "読み込めません"),
        (truncated, "読み込めません"),
        (empty, "読み込めません"),
        (not_json, "読み込めません"),
        (other_json, "バックアップファイルではありません"),
        (objects_cut_short, "件数"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_restore_of_a_broken_file_is_a_clear_error(example_org, tmp_path, spoil, message):
    valid = backup(tmp_path / "valid.json.gz").read_bytes()
    path = tmp_path / "broken.json.gz"
    spoil(path, valid)
    empty_database()

    with pytest.raises(CommandError, match=message):
        restore(path)

    assert not Organization.objects.exists()


def test_restore_of_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="ありません"):
        restore(tmp_path / "missing.json.gz")


def test_restore_refuses_a_backup_of_a_newer_schema(example_org, tmp_path):
    path = backup(tmp_path / "backup.json.gz")
    data = read_backup_file(path)
    data["manifest"]["migrations"]["disclosures"].append("9999_from_the_future")
    write_backup_file(path, data)
    empty_database()

    with pytest.raises(CommandError, match="disclosures.9999_from_the_future.*migrate"):
        restore(path)


def test_backup_and_restore_outside_a_transaction(populated, transactional_db, tmp_path):
    """As from the command line: the backup reads one snapshot, the restore commits."""
    before = database_state()
    path = backup(tmp_path / "backup.json.gz")

    output = restore(path, flush=True)

    assert database_state() == before
    assert "公開版 2版" in output


# --- every field of a publication, every row, the manifest: hashed (and signed) ---

HMAC_KEY = "a-secret-key-for-tests-only-0123456789abcdef"


def recompute_digests(data, key=None):
    """What a careful editor of the file would do: make the digests match the edit
    (and sign it with `key`, the editor's guess of the key)."""
    digest = ObjectsDigest()
    for row in data["objects"]:
        digest.add(row_sha256(row))
    data["integrity"]["objects_sha256"] = digest.hexdigest()
    data["integrity"]["manifest_sha256"] = manifest_sha256(data["manifest"])
    if key:
        data["integrity"]["hmac_sha256"] = signature(
            key,
            manifest_digest=data["integrity"]["manifest_sha256"],
            objects_digest=data["integrity"]["objects_sha256"],
        )


def user_row(data, username):
    return next(
        row
        for row in data["objects"]
        if row["model"] == "auth.user" and row["fields"]["username"] == username
    )


def edit_and_restore(path, edit, *, recompute=False):
    data = read_backup_file(path)
    edit(data)
    if recompute:
        digest = ObjectsDigest()
        for row in data["objects"]:
            digest.add(row_sha256(row))
        data["integrity"]["objects_sha256"] = digest.hexdigest()
    write_backup_file(path, data)
    empty_database()
    with pytest.raises(CommandError) as refused:
        restore(path)
    assert all(not model._base_manager.exists() for model in included_models())
    return str(refused.value)


PUBLICATION_EDITS = {
    "published_at": "2020-01-01T00:00:00+00:00",
    "live_from": "2020-01-01T00:00:00+00:00",
    "sheet_updated_on": "2020-01-01",
    "checklist_updated_on": "2020-01-01",
    "change_note": "書き換えた変更内容",
    "published_by": ["admin"],
    "title": "別の機関名",
}


@pytest.mark.parametrize("field, value", PUBLICATION_EDITS.items(), ids=PUBLICATION_EDITS.keys())
@pytest.mark.parametrize("recompute", [False, True], ids=["as edited", "file digest recomputed"])
def test_restore_refuses_an_edited_publication_field_naming_the_version(
    populated, tmp_path, field, value, recompute
):
    path = backup(tmp_path / "backup.json.gz")

    def edit(data):
        publication_row(data, 2)["fields"][field] = value

    message = edit_and_restore(path, edit, recompute=recompute)

    assert (
        "qolead 第2版: 公開版の行（公開日時・最終更新日・変更内容・公開者など）がバックアップ時の記録"
        in message
    )
    assert "qolead 第1版" not in message


def test_restore_refuses_a_renumbered_publication(populated, tmp_path):
    path = backup(tmp_path / "backup.json.gz")

    def edit(data):
        publication_row(data, 2)["fields"]["number"] = 7

    message = edit_and_restore(path, edit, recompute=True)

    assert "qolead 第7版: マニフェストにない版です" in message
    assert "qolead 第2版: マニフェストにあるのに復元されていません" in message


def test_without_a_key_an_edited_user_row_is_refused_as_a_changed_file(populated, tmp_path):
    path = backup(tmp_path / "backup.json.gz")

    def edit(data):
        user_row(data, "editor")["fields"]["is_superuser"] = True

    message = edit_and_restore(path, edit)

    assert "objects_sha256 が一致しません" in message


def test_an_edited_manifest_is_refused(populated, tmp_path):
    path = backup(tmp_path / "backup.json.gz")

    def edit(data):
        data["manifest"]["created_at"] = "2000-01-01T00:00:00+00:00"

    assert "manifest_sha256 が一致しません" in edit_and_restore(path, edit)


def test_with_a_key_a_signed_backup_restores(populated, tmp_path, settings):
    settings.BACKUP_HMAC_KEY = HMAC_KEY
    before = database_state()
    path = backup(tmp_path / "backup.json.gz")
    assert read_backup_file(path)["integrity"]["hmac_sha256"]
    empty_database()

    output = restore(path)

    assert database_state() == before
    assert "署名も一致" in output


def test_with_a_key_a_superuser_flag_edited_in_the_backup_is_refused(populated, tmp_path, settings):
    settings.BACKUP_HMAC_KEY = HMAC_KEY
    path = backup(tmp_path / "backup.json.gz")
    data = read_backup_file(path)
    user_row(data, "editor")["fields"]["is_superuser"] = True
    recompute_digests(data)  # every digest made to match; the HMAC cannot be
    write_backup_file(path, data)
    empty_database()

    with pytest.raises(CommandError, match="署名（HMAC）が一致しないため、復元しません"):
        restore(path)

    assert all(not model._base_manager.exists() for model in included_models())


def test_with_a_key_a_backup_signed_with_another_key_is_refused(populated, tmp_path, settings):
    settings.BACKUP_HMAC_KEY = "another-key-0123456789abcdef0123456789"
    path = backup(tmp_path / "backup.json.gz")
    settings.BACKUP_HMAC_KEY = HMAC_KEY
    empty_database()

    with pytest.raises(CommandError, match="署名（HMAC）が一致しない"):
        restore(path)

    assert all(not model._base_manager.exists() for model in included_models())


def test_with_a_key_an_unsigned_backup_is_refused_before_the_flush(populated, tmp_path, settings):
    path = backup(tmp_path / "backup.json.gz")  # no key: unsigned
    settings.BACKUP_HMAC_KEY = HMAC_KEY
    before = database_state()

    with pytest.raises(CommandError, match="署名（HMAC）がないため、復元しません"):
        restore(path, flush=True)

    assert database_state() == before


def test_without_a_key_a_signed_backup_restores_with_a_warning(populated, tmp_path, settings):
    settings.BACKUP_HMAC_KEY = HMAC_KEY
    before = database_state()
    path = backup(tmp_path / "backup.json.gz")
    settings.BACKUP_HMAC_KEY = ""
    empty_database()
    errors = io.StringIO()

    call_command("restore", str(path), stdout=io.StringIO(), stderr=errors)

    assert database_state() == before
    assert "署名（HMAC）がありますが" in errors.getvalue()


def test_restore_refuses_a_publication_row_given_another_id(populated, tmp_path):
    path = backup(tmp_path / "backup.json.gz")

    def edit(data):
        row = publication_row(data, 2)
        row["pk"] = 99
        row["fields"]["published_at"] = "2020-01-01T00:00:00+00:00"

    message = edit_and_restore(path, edit, recompute=True)

    assert "マニフェストにない公開版の行があります（id=99）" in message
    assert "qolead 第2版: 公開版の行（id=" in message


def test_scheduled_and_cancelled_versions_restore_with_their_go_live_times(populated, tmp_path):
    """Issue 14 (scheduled publication): live_from is in every publication row and
    the cancellation of a schedule is restored with it."""
    import datetime

    from django.utils import timezone

    from disclosures.models import ScheduleCancellation
    from disclosures.publishing import cancel_schedule

    from .factories import change_sheet

    sheet = populated.sheet
    go_live = timezone.now() + datetime.timedelta(days=3)
    change_sheet(sheet, hours_system="予約公開の受付時間")
    cancelled = publish(sheet, change_note="取り消す予定", live_from=go_live)
    cancel_schedule(populated)
    scheduled = publish(sheet, change_note="公開予定", live_from=go_live + datetime.timedelta(days=1))
    before = database_state()
    path = backup(tmp_path / "backup.json.gz")
    empty_database()

    restore(path)

    assert database_state() == before
    assert ScheduleCancellation.objects.get().publication.number == cancelled.number == 3
    assert Publication.objects.get(number=4).live_from == scheduled.live_from
    assert [p.number for p in Publication.objects.filter(organization__slug="qolead").scheduled()] == [4]
    assert [p.number for p in Publication.objects.current()] == [2]
