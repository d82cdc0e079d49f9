"""Restore a backup made by ``backup``: python manage.py restore FILE [--flush]

Into an empty database only (after ``migrate``; with --flush the current data is
deleted first). With DJANGO_BACKUP_HMAC_KEY set, a file whose HMAC is missing or
does not match is refused before anything is touched. Then the file's digests are
checked (the manifest, every row, every publication's row) and, in one
transaction, the rows are loaded with
Django's deserializer (raw saves, so Publication.save() is not called and no
history rows are added), sequences are reset, then every publication is checked —
sha256_of(snapshot) against snapshot_sha256, the SHA-256 of the PDF's bytes
against pdf_sha256, both against the backup's manifest — and the number of rows of
every model against the manifest. Any problem, in the file's digests or in the
data, undoes everything, --flush included.
"""

import gzip
import hmac
import json
import zlib
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from disclosures.models import Publication
from disclosures.pdf import pdf_sha256
from disclosures.snapshot import sha256_of

from .backup import (
    FORMAT,
    FORMAT_VERSION,
    ObjectsDigest,
    applied_migrations,
    included_models,
    manifest_sha256,
    row_sha256,
    signature,
)

GZIP_MAGIC = b"\x1f\x8b"
MAX_LISTED = 5  # models named when the database is not empty


def read_backup(path):
    """The parsed, structurally checked backup file; CommandError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"バックアップファイル {path} がありません。")
    try:
        with open(path, "rb") as file:
            compressed = file.read(2) == GZIP_MAGIC
        opener = gzip.open if compressed else open
        with opener(path, "rb") as file:
            data = json.load(file)
    except (OSError, EOFError, zlib.error, ValueError) as error:
        # Not gzip, cut short, not JSON, not UTF-8.
        raise CommandError(
            f"バックアップファイル {path} を読み込めません（壊れているか、途中で切れています）: {error}"
        ) from error
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CommandError(f"{path} は backup コマンドで作ったバックアップファイルではありません。")
    if data.get("format_version") != FORMAT_VERSION:
        raise CommandError(
            f"{path} の形式（第{data.get('format_version')}版）には対応していません"
            f"（対応しているのは第{FORMAT_VERSION}版）。"
        )
    manifest, objects = data.get("manifest"), data.get("objects")
    problems = []
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        problems.append("objects がありません")
    if not isinstance(manifest, dict):
        problems.append("manifest がありません")
    else:
        counts = manifest.get("counts")
        if not isinstance(counts, dict) or not all(
            isinstance(k, str) and type(v) is int and v >= 0 for k, v in counts.items()
        ):
            problems.append("manifest の counts が不正です")
        elif isinstance(objects, list) and sum(counts.values()) != len(objects):
            problems.append(
                f"manifest の件数（{sum(counts.values())}件）とデータの件数（{len(objects)}件）が違います"
            )
        publications = manifest.get("publications")
        if not isinstance(publications, list) or not all(
            isinstance(p, dict)
            and isinstance(p.get("organization"), str)
            and type(p.get("version")) is int
            and type(p.get("pk")) is int
            and isinstance(p.get("snapshot_sha256"), str)
            and isinstance(p.get("pdf_sha256"), str)
            and isinstance(p.get("row_sha256"), str)
            for p in publications
        ):
            problems.append("manifest の publications が不正です")
        migrations = manifest.get("migrations", {})
        if not isinstance(migrations, dict) or not all(
            isinstance(names, list) for names in migrations.values()
        ):
            problems.append("manifest の migrations が不正です")
    integrity = data.get("integrity")
    if not (
        isinstance(integrity, dict)
        and isinstance(integrity.get("manifest_sha256"), str)
        and isinstance(integrity.get("objects_sha256"), str)
        and (integrity.get("hmac_sha256") is None or isinstance(integrity.get("hmac_sha256"), str))
    ):
        problems.append("integrity（ハッシュと署名）がありません")
    if problems:
        raise CommandError(f"バックアップファイル {path} が不完全です: " + "、".join(problems) + "。")
    return data


def check_signature(data, key):
    """With a key, the file's HMAC must match it: refused before anything is touched.
    Returns a warning when the file is signed but no key is set to check it."""
    recorded = data["integrity"].get("hmac_sha256")
    if not key:
        if recorded:
            return (
                "注意: このバックアップには署名（HMAC）がありますが、DJANGO_BACKUP_HMAC_KEY が"
                "設定されていないため検証していません（ハッシュだけを検証します）。"
            )
        return None
    if not recorded:
        raise CommandError(
            "このバックアップには署名（HMAC）がないため、復元しません（何も変更していません）。"
            "DJANGO_BACKUP_HMAC_KEY を設定した環境で作ったバックアップだけを復元できます。"
        )
    expected = signature(
        key,
        manifest_digest=data["integrity"]["manifest_sha256"],
        objects_digest=data["integrity"]["objects_sha256"],
    )
    if not hmac.compare_digest(expected, recorded):
        raise CommandError(
            "バックアップの署名（HMAC）が一致しないため、復元しません（何も変更していません）: "
            "DJANGO_BACKUP_HMAC_KEY がバックアップ時と違うか、ファイルが書き出し後に変更されています。"
        )
    return None


def file_problems(data):
    """The file's digests recomputed: (problems of the whole file, {publication pk: reasons})."""
    manifest, objects, integrity = data["manifest"], data["objects"], data["integrity"]
    problems = []
    if manifest_sha256(manifest) != integrity["manifest_sha256"]:
        problems.append("マニフェストが書き出し時と違います（manifest_sha256 が一致しません）")
    digest = ObjectsDigest()
    publication_rows = {}
    for row in objects:
        row_digest = row_sha256(row)
        digest.add(row_digest)
        if row.get("model") == "disclosures.publication":
            publication_rows[row.get("pk")] = row_digest
    if digest.hexdigest() != integrity["objects_sha256"]:
        problems.append("データのいずれかの行が書き出し時と違います（objects_sha256 が一致しません）")
    row_reasons = {}
    for pk in sorted(set(publication_rows) - {record["pk"] for record in manifest["publications"]}, key=str):
        problems.append(f"マニフェストにない公開版の行があります（id={pk}）")
    for record in manifest["publications"]:
        found = publication_rows.get(record["pk"])
        if found is None:
            problems.append(
                f"{version_label(record['organization'], record['version'])}: "
                f"公開版の行（id={record['pk']}）がファイルにありません"
            )
        elif found != record["row_sha256"]:
            row_reasons[record["pk"]] = [
                "公開版の行（公開日時・最終更新日・変更内容・公開者など）がバックアップ時の記録"
                "（row_sha256）と違います"
            ]
    return problems, row_reasons


def version_label(slug, number):
    return f"{slug} 第{number}版"


def verify(manifest, models, using, row_reasons=None):
    """Every problem of the restored data, compared with the manifest (empty: all good);
    `row_reasons` adds, per publication pk, what file_problems() found in its row."""
    row_reasons = dict(row_reasons or {})
    problems = []
    expected_counts = manifest["counts"]
    labels = {model._meta.label_lower for model in models}
    for model in models:
        label = model._meta.label_lower
        expected = expected_counts.get(label, 0)
        actual = model._base_manager.using(using).count()
        if actual != expected:
            problems.append(f"{label}: バックアップでは {expected}件、復元後は {actual}件です")
    for label in sorted(set(expected_counts) - labels):
        if expected_counts[label]:
            problems.append(f"{label}: このプロジェクトにないモデルです（{expected_counts[label]}件）")

    expected_versions = {(p["organization"], p["version"]): p for p in manifest["publications"]}
    publications = (
        Publication._base_manager.using(using)
        .select_related("organization")
        .order_by("organization__slug", "number")
    )
    for publication in publications:
        key = (publication.organization.slug, publication.number)
        reasons = []
        if sha256_of(publication.snapshot) != publication.snapshot_sha256:
            reasons.append("スナップショットが snapshot_sha256 と一致しません")
        if pdf_sha256(bytes(publication.pdf)) != publication.pdf_sha256:
            reasons.append("PDF が pdf_sha256 と一致しません")
        recorded = expected_versions.pop(key, None)
        if recorded is None:
            reasons.append("マニフェストにない版です")
        else:
            if recorded["snapshot_sha256"] != publication.snapshot_sha256:
                reasons.append("snapshot_sha256 がマニフェストと違います")
            if recorded["pdf_sha256"] != publication.pdf_sha256:
                reasons.append("pdf_sha256 がマニフェストと違います")
        reasons.extend(row_reasons.pop(publication.pk, []))
        if reasons:
            problems.append(f"{version_label(*key)}: " + "、".join(reasons))
    for slug, number in expected_versions:
        problems.append(f"{version_label(slug, number)}: マニフェストにあるのに復元されていません")
    return problems


def _clear_content_type_cache():
    if apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()


class Command(BaseCommand):
    help = (
        "backup で作ったファイルを空のデータベースに復元し、すべての公開版のSHA-256を検証します。"
        "問題があれば何も変更しません。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="backup で作ったファイル")
        parser.add_argument(
            "--flush",
            action="store_true",
            help="現在のデータをすべて削除してから復元します（失敗した場合は削除も取り消されます）。",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="データベースの別名（既定: default）"
        )

    def handle(self, *args, file, flush, database, verbosity, **options):
        data = read_backup(file)
        manifest = data["manifest"]
        warning = check_signature(data, settings.BACKUP_HMAC_KEY)
        if warning:
            self.stderr.write(warning)
        whole_file_problems, row_reasons = file_problems(data)
        self._check_migrations(manifest, database)
        models = included_models(database)
        try:
            with transaction.atomic(using=database):
                self._make_room(models, flush, database)
                try:
                    loaded = self._load(data["objects"], models, database)
                except CommandError as error:
                    if not whole_file_problems:
                        raise
                    raise CommandError(
                        f"{error}\n" + "\n".join(f"  - {problem}" for problem in whole_file_problems)
                    ) from error
                problems = whole_file_problems + verify(manifest, models, database, row_reasons)
                if problems:
                    raise CommandError(
                        "復元したデータの検証に失敗したため、すべて取り消しました"
                        "（データベースは復元前のままです）:\n"
                        + "\n".join(f"  - {problem}" for problem in problems)
                    )
        finally:
            # Content types made inside a rolled-back flush must not stay cached.
            _clear_content_type_cache()
        if verbosity >= 1:
            self._report(file, loaded, manifest, verbosity)

    def _check_migrations(self, manifest, using):
        recorded = manifest.get("migrations", {})
        applied = applied_migrations(using)
        missing = [
            f"{app}.{name}"
            for app, names in sorted(recorded.items())
            for name in names
            if name not in applied.get(app, ())
        ]
        if missing:
            raise CommandError(
                "バックアップ時に適用済みだったマイグレーションが、このデータベースには適用されていません: "
                + ", ".join(missing)
                + "。python manage.py migrate を実行してから復元してください"
                "（コードがバックアップ時より古い場合は、同じ版のコードで復元してください）。"
            )
        newer = [
            f"{app}.{name}"
            for app, names in sorted(applied.items())
            for name in names
            if name not in recorded.get(app, ())
        ]
        if newer and recorded:
            self.stderr.write(
                "注意: バックアップの後に追加されたマイグレーションがあります（データ移行は"
                "復元したデータには適用されません）: " + ", ".join(newer)
            )

    def _make_room(self, models, flush, using):
        nonempty = [(model, count) for model in models if (count := model._base_manager.using(using).count())]
        if not nonempty:
            return
        if not flush:
            listed = "、".join(
                f"{model._meta.verbose_name}（{model._meta.label_lower}）{count}件"
                for model, count in nonempty[:MAX_LISTED]
            )
            if len(nonempty) > MAX_LISTED:
                listed += f" ほか{len(nonempty) - MAX_LISTED}種類"
            raise CommandError(
                f"データベースが空ではないため、復元しません: {listed}。"
                "復元は空のデータベース（migrate 直後）にだけ行えます。"
                "現在のデータをすべて削除してから復元する場合は --flush を指定してください。"
            )
        connection = connections[using]
        if connection.vendor == "postgresql":
            # PostgreSQL refuses TRUNCATE while deferred foreign-key checks of this
            # transaction are pending (a caller's open transaction): run them now.
            connection.check_constraints()
        call_command("flush", interactive=False, database=using, verbosity=0)
        _clear_content_type_cache()

    def _load(self, objects, models, using):
        connection = connections[using]
        allowed = {model._meta.label_lower: model for model in models}
        loaded = Counter()
        loaded_models = set()
        with_deferred_fields = []
        try:
            with connection.constraint_checks_disabled():
                for deserialized in serializers.deserialize(
                    "python", objects, using=using, handle_forward_references=True
                ):
                    model = type(deserialized.object)
                    label = model._meta.label_lower
                    if label not in allowed:
                        raise CommandError(f"バックアップに含めないはずのモデル {label} のデータがあります。")
                    deserialized.save(using=using)
                    loaded[label] += 1
                    loaded_models.add(model)
                    if deserialized.deferred_fields:
                        with_deferred_fields.append(deserialized)
                for deserialized in with_deferred_fields:
                    deserialized.save_deferred_fields(using=using)
            connection.check_constraints(table_names=[model._meta.db_table for model in loaded_models])
        except CommandError:
            raise
        except Exception as error:  # DeserializationError, IntegrityError, DoesNotExist, …
            raise CommandError(
                "バックアップのデータを読み込めなかったため、すべて取り消しました"
                f"（データベースは復元前のままです）: {type(error).__name__}: {error}"
            ) from error
        if loaded_models:
            statements = connection.ops.sequence_reset_sql(no_style(), list(loaded_models))
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        return loaded

    def _report(self, file, loaded, manifest, verbosity):
        publications = len(manifest["publications"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{file} から {sum(loaded.values())}件を復元しました。"
                f"公開版 {publications}版のスナップショットとPDF、全行のSHA-256を検証しました（すべて一致"
                + ("、署名も一致" if settings.BACKUP_HMAC_KEY else "、署名なし")
                + "）。"
            )
        )
        for label, count in sorted(loaded.items()):
            if count or verbosity >= 2:
                self.stdout.write(f"  {label}: {count}")
