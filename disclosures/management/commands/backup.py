"""Export everything to one file: python manage.py backup FILE

The file is gzip-compressed JSON:

    {"format": "disclosure-portal-backup", "format_version": 2,
     "manifest": {"created_at", "django_version", "database_vendor", "migrations",
                  "counts": {"app_label.model": n, ...},
                  "publications": [{"organization", "version", "pk", "snapshot_sha256",
                                    "pdf_sha256", "row_sha256"}, ...]},
     "objects": [ <Django's "python" serialization of every row> ],
     "integrity": {"manifest_sha256", "objects_sha256", "hmac_sha256"}}

Hashes are SHA-256 of canonical JSON (digests.sha256_of: sorted keys, no
spaces) of the rows as the file holds them. ``row_sha256`` covers every field of a
publication's row (published_at, 最終更新日, change_note, number, organisation,
published_by, snapshot, PDF, hashes…); ``objects_sha256`` every row of the file, in
order; ``manifest_sha256`` the manifest. With DJANGO_BACKUP_HMAC_KEY set,
``hmac_sha256`` is an HMAC-SHA256 of the format and those two digests under that key
(null otherwise): only then is an edit that recomputes the digests detected.

Every model of every installed app is included (found at run time, so models added
later are included too) except content types, permissions and sessions: the first
two are recreated by ``migrate``/``flush`` with ids of their own, which is why rows
refer to them, and to every model that has a natural key, by natural key. Primary
keys are kept as they are: history rows, admin log entries and cached pages refer
to objects by id. Binary fields (the PDFs) are base64; date-times keep their
microseconds (Django's JSON encoder would cut them to milliseconds).

The rows are read in one transaction (REPEATABLE READ on PostgreSQL), so the file
is consistent while the portal keeps running. It is written to a temporary file
in the same directory (mode 0600: it holds password hashes and OTP secrets) and
renamed into place; an existing file is kept unless --force is given.
``restore`` reads it back.
"""

import datetime
import gzip
import hashlib
import hmac
import itertools
import json
import os
import tempfile
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from disclosures.digests import sha256_of

FORMAT = "disclosure-portal-backup"
FORMAT_VERSION = 2

# Recreated by migrate/flush (referred to by natural key) or transient.
EXCLUDED_MODELS = frozenset({"contenttypes.contenttype", "auth.permission", "sessions.session"})

BATCH_SIZE = 200


class BackupJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but date-times and times keep their microseconds."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


def included_models(using=DEFAULT_DB_ALIAS):
    """Every concrete, managed model of every installed app that a backup holds,
    in an order where natural-key dependencies come first."""
    app_list = []
    for app_config in apps.get_app_configs():
        models = [
            model
            for model in app_config.get_models()  # without auto-created m2m tables
            if model._meta.label_lower not in EXCLUDED_MODELS
            and not model._meta.proxy
            and model._meta.managed
            and router.allow_migrate_model(using, model)
        ]
        if models:
            app_list.append((app_config, models))
    return serializers.sort_dependencies(app_list, allow_cycles=True)


def applied_migrations(using=DEFAULT_DB_ALIAS):
    """{app_label: [migration names]} applied to the database."""
    applied = {}
    for app_label, name in sorted(MigrationRecorder(connections[using]).applied_migrations()):
        applied.setdefault(app_label, []).append(name)
    return applied


def as_in_file(row):
    """A serialized row as the file holds it once read back (plain JSON values)."""
    return json.loads(json.dumps(row, cls=BackupJSONEncoder, ensure_ascii=False))


def row_sha256(row):
    """SHA-256 of a row as read from the file: every field, in canonical JSON."""
    return sha256_of(row)


def manifest_sha256(manifest):
    return sha256_of(manifest)


class ObjectsDigest:
    """SHA-256 over the digests of every row, in the file's order."""

    def __init__(self):
        self._sha256 = hashlib.sha256()

    def add(self, row_digest):
        self._sha256.update(row_digest.encode("ascii") + b"\n")

    def hexdigest(self):
        return self._sha256.hexdigest()


def signature(key, *, manifest_digest, objects_digest):
    """HMAC-SHA256 under `key` of what the integrity block vouches for."""
    message = json.dumps(
        [FORMAT, FORMAT_VERSION, manifest_digest, objects_digest], separators=(",", ":")
    ).encode("ascii")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def publication_records(using=DEFAULT_DB_ALIAS):
    from disclosures.models import Publication

    publications = (
        Publication._base_manager.using(using)
        .select_related("organization")
        .order_by("organization__slug", "number")
    )
    records = []
    for publication in publications.iterator(chunk_size=20):
        [row] = serializers.serialize("python", [publication], use_natural_foreign_keys=True)
        records.append(
            {
                "organization": publication.organization.slug,
                "version": publication.number,
                "pk": publication.pk,
                "snapshot_sha256": publication.snapshot_sha256,
                "pdf_sha256": publication.pdf_sha256,
                "row_sha256": row_sha256(as_in_file(row)),
            }
        )
    return records


def _serialized_rows(model, using):
    queryset = model._base_manager.using(using).order_by("pk")
    rows = queryset.iterator(chunk_size=BATCH_SIZE)
    while batch := list(itertools.islice(rows, BATCH_SIZE)):
        yield from serializers.serialize("python", batch, use_natural_foreign_keys=True)


def write_backup(stream, using=DEFAULT_DB_ALIAS):
    """Write the backup (uncompressed JSON, as UTF-8 bytes) to ``stream``; return the manifest."""
    connection = connections[using]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            # One snapshot for every table: rows added meanwhile are all in or all out.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        models = included_models(using)
        counts = {model._meta.label_lower: model._base_manager.using(using).count() for model in models}
        manifest = {
            "created_at": timezone.now().isoformat(),
            "django_version": django.get_version(),
            "database_vendor": connection.vendor,
            "migrations": applied_migrations(using),
            "object_count": sum(counts.values()),
            "counts": counts,
            "publications": publication_records(using),
        }

        def write(text):
            stream.write(text.encode("utf-8"))

        def dumps(value):
            return json.dumps(value, cls=BackupJSONEncoder, ensure_ascii=False)

        write('{"format": %s, "format_version": %d,\n' % (dumps(FORMAT), FORMAT_VERSION))
        write('"manifest": %s,\n"objects": [' % dumps(manifest))
        objects_digest = ObjectsDigest()
        written = 0
        for model in models:
            label = model._meta.label_lower
            in_model = 0
            for row in _serialized_rows(model, using):
                text = dumps(row)
                objects_digest.add(row_sha256(json.loads(text)))
                write(("\n" if written == 0 else ",\n") + text)
                written += 1
                in_model += 1
            if in_model != counts[label]:
                # Only possible if the database gave no consistent snapshot.
                raise CommandError(
                    f"{label} の件数が読み出し中に変わりました（{counts[label]} → {in_model}）。"
                    "もう一度実行してください。"
                )
        integrity = {
            "manifest_sha256": manifest_sha256(as_in_file(manifest)),
            "objects_sha256": objects_digest.hexdigest(),
        }
        key = settings.BACKUP_HMAC_KEY
        integrity["hmac_sha256"] = (
            signature(
                key,
                manifest_digest=integrity["manifest_sha256"],
                objects_digest=integrity["objects_sha256"],
            )
            if key
            else None
        )
        write('\n],\n"integrity": %s}\n' % dumps(integrity))
    return manifest


class Command(BaseCommand):
    help = (
        "全データ（公開版とそのPDFを含む）を1つのファイル（gzip圧縮したJSON）に書き出します。"
        "restore で復元できます。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="書き出すファイル（例: backup-2025-01-31.json.gz）")
        parser.add_argument("--force", action="store_true", help="ファイルが既にある場合に上書きします。")
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="データベースの別名（既定: default）"
        )

    def handle(self, *args, file, force, database, **options):
        path = Path(file)
        if path.is_dir():
            raise CommandError(f"{path} はディレクトリです。ファイル名を指定してください。")
        if path.exists() and not force:
            raise CommandError(f"{path} は既にあります。上書きする場合は --force を指定してください。")
        directory = path.absolute().parent
        if not directory.is_dir():
            raise CommandError(f"ディレクトリ {directory} がありません。")
        try:
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as error:
            raise CommandError(f"{directory} に書き込めません: {error}") from error
        try:
            with os.fdopen(fd, "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw) as compressed:
                    manifest = write_backup(compressed, database)
                raw.flush()
                os.fsync(raw.fileno())
            self._move_into_place(temporary, path, force)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._fsync_directory(directory)
        self._report(path, manifest, options["verbosity"])

    def _move_into_place(self, temporary, path, force):
        if force:
            os.replace(temporary, path)
            return
        try:
            # A hard link fails if the name was taken meanwhile: nothing is overwritten.
            os.link(temporary, path)
        except FileExistsError:
            raise CommandError(
                f"{path} は既にあります。上書きする場合は --force を指定してください。"
            ) from None
        except OSError:
            # A file system without hard links.
            if path.exists():
                raise CommandError(
                    f"{path} は既にあります。上書きする場合は --force を指定してください。"
                ) from None
            os.replace(temporary, path)
        else:
            os.unlink(temporary)

    @staticmethod
    def _fsync_directory(directory):
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def _report(self, path, manifest, verbosity):
        if verbosity < 1:
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"バックアップを書き出しました: {path}（{manifest['object_count']}件、"
                f"公開版 {len(manifest['publications'])}版、"
                + ("HMAC で署名" if settings.BACKUP_HMAC_KEY else "署名なし: DJANGO_BACKUP_HMAC_KEY 未設定")
                + "）"
            )
        )
        if verbosity >= 2:
            for label, count in manifest["counts"].items():
                self.stdout.write(f"  {label}: {count}")
