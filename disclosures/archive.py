"""/<slug>/archive.zip: every version's PDF and JSON, and a manifest of their hashes.

Streamed in constant memory: the zip is written (zipfile, data descriptors, no
seeking) into a sink that the response drains after each file, and each version's
PDF and snapshot are read from the database one version at a time. The bytes are
deterministic for a given latest version (entry times are publication times), so
the ETag is derived from the latest version's hashes.
"""

import hashlib
import json
import zipfile

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from .models import Publication
from .pdf import pdf_sha256
from .public_cache import current_max_age
from .views import pdf_filenames, snapshot_document

# Bumped when the archive's layout changes, so clients fetch it again.
ARCHIVE_REVISION = "1"
MANIFEST_NAME = "manifest.json"


class _Drain:
    """A write-only file for zipfile: what is written is kept until drained.

    It has no tell() or seek(), so zipfile writes a streamable archive (sizes and
    CRCs in data descriptors after each file's data)."""

    def __init__(self):
        self._chunks = []

    def write(self, data):
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def drain(self):
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _entry(name, when, compress):
    info = zipfile.ZipInfo(name, date_time=timezone.localtime(when).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def archive_chunks(organization, numbers, latest):
    """The zip file, piece by piece: each version's PDF and JSON, then the manifest."""
    sink = _Drain()
    folder = f"{organization.slug}-archive"
    versions = []
    with zipfile.ZipFile(sink, "w") as archive:
        for number in numbers:
            # `numbers` are the public's versions, chosen when the request came.
            publication = Publication.objects.select_related("organization").get(
                organization=organization, number=number
            )
            publication.latest_number = latest.number
            pdf = bytes(publication.pdf)
            document = snapshot_document(None, publication).encode()
            ascii_pdf_name, _utf8 = pdf_filenames(publication)
            pdf_name = f"{folder}/v{number}/{ascii_pdf_name}"
            json_name = f"{folder}/v{number}/{organization.slug}-v{number}.json"
            archive.writestr(_entry(pdf_name, publication.live_from, compress=False), pdf)
            yield sink.drain()
            archive.writestr(_entry(json_name, publication.live_from, compress=True), document)
            yield sink.drain()
            versions.append(
                {
                    "version": number,
                    "published_at": publication.live_from.isoformat(),
                    "sheet_updated_on": publication.sheet_updated_on.isoformat(),
                    "checklist_updated_on": publication.checklist_updated_on.isoformat(),
                    "change_note": publication.change_note,
                    "snapshot_sha256": publication.snapshot_sha256,
                    "pdf": {"path": pdf_name, "sha256": pdf_sha256(pdf)},
                    "json": {"path": json_name, "sha256": hashlib.sha256(document).hexdigest()},
                }
            )
            del pdf, document, publication
        manifest = {
            "organization": {"name": latest.title, "slug": organization.slug},
            "current_version": latest.number,
            "generated_for": f"第{latest.number}版までのすべての版",
            "note": "pdf.sha256 は公開時に記録した pdf_sha256 と同じです。各PDFはポータルの鍵で署名されています（この機能の導入前に公開された版を除く）。",
            "versions": versions,
        }
        archive.writestr(
            _entry(f"{folder}/{MANIFEST_NAME}", latest.live_from, compress=True),
            json.dumps(manifest, ensure_ascii=False, indent=1).encode(),
        )
        yield sink.drain()
    yield sink.drain()  # the central directory, written on close


@require_safe
def archive_zip(request, slug):
    latest = Publication.objects.for_slug(slug).defer("snapshot", "pdf").newest_first().first()
    if latest is None:
        raise Http404("公開された版が見つかりません。")
    organization = latest.organization
    etag = (
        f'"archive-{ARCHIVE_REVISION}-{organization.pk}-{latest.number}-'
        f'{latest.pdf_sha256[:16]}-{latest.snapshot_sha256[:16]}"'
    )
    last_modified = int(latest.live_from.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None and request.method == "HEAD":
        # The headers only: no version's PDF is read for them.
        response = HttpResponse(content_type="application/zip")
    elif response is None:
        # Up to the version the ETag names, even if another is published meanwhile;
        # the public's versions only (never a scheduled or cancelled one).
        numbers = list(
            Publication.objects.live()
            .filter(organization=organization, number__lte=latest.number)
            .order_by("number")
            .values_list("number", flat=True)
        )
        response = StreamingHttpResponse(
            archive_chunks(organization, numbers, latest), content_type="application/zip"
        )
    published_on = timezone.localdate(latest.live_from)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{organization.slug}-archive-v{latest.number}-{published_on:%Y-%m-%d}.zip"'
    )
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, public=True, max_age=current_max_age())
    return response
