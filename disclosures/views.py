"""Public pages: only published versions, always rendered from their snapshots."""

import json
import logging
from urllib.parse import quote

from csp.constants import NONE
from csp.decorators import csp
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.utils.text import compress_string
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from . import spreadsheet
from .current_version import current_publication
from .diff import diff_snapshots
from .directory import directory_page
from .directory_facts import checklist_summary
from .display import document_context
from .formatting import japanese_date
from .models import Publication, PublicationAltered
from .public_cache import accepts_gzip, current_max_age

logger = logging.getLogger(__name__)

# Bumped when the templates change, so cached pages of old versions are rebuilt.
RENDERING_REVISION = "3"


def get_publication(slug, number=None):
    """The version (the current one without a number), knowing the number and
    publication time of the current version: one query at most."""
    if number is None:
        publication = current_publication(slug)
    else:
        # The snapshot (~50 KB of JSON) and the PDF are read only to build a body
        # the cache does not hold yet.
        versions = Publication.objects.for_slug(slug).defer("pdf", "snapshot")
        publication = versions.with_current().filter(number=number).first()
    if publication is None:
        raise Http404("公開された版が見つかりません。")
    return publication


def stored_body_response(key, build, content_type, *, gzipped, timeout):
    """A 200 with the body kept in the cache under `key`, built by `build()` the first
    time; for a client that accepts gzip, the body compressed once and kept too."""
    body = cache.get(f"{key}:gzip") if gzipped else None
    if body is None:
        body = cache.get(key)
        if body is None:
            body = build()
            cache.set(key, body, timeout)
        if gzipped:
            body = compress_string(body.encode() if isinstance(body, str) else body)
            cache.set(f"{key}:gzip", body, timeout)
    response = HttpResponse(body, content_type=content_type)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return response


def conditional(
    request,
    publication,
    variant,
    build,
    *,
    content_type="text/html; charset=utf-8",
    immutable=False,
    compressible=True,
):
    """Answer with ETag/Last-Modified, 304 when the client has it; otherwise the
    response body, built once per version and kept in the cache.

    A `compressible` body goes gzipped to clients that accept it, compressed once
    per version and cached too (gzip costs more CPU than serving a cached page);
    the gzipped body is another representation, with its own ETag.

    A body that says whether its version is current (pages, JSON) changes when a
    newer version is published, so its validators follow the current version
    too; an `immutable` body (the PDF of a numbered version) never changes.
    """
    identity = "-".join(
        [
            str(publication.organization_id),
            str(publication.number),
            publication.snapshot_sha256[:16],
            publication.pdf_sha256[:16],
            str(int(publication.published_at.timestamp())),
        ]
    )
    gzipped = compressible and accepts_gzip(request)
    # Dates as the public knows them: a version's go-live time (its publication
    # time unless it was scheduled).
    if immutable:
        tag = f"{identity}-{variant}"
        modified_at = publication.live_from
    else:
        tag = f"{identity}-{variant}-{publication.latest_number}"
        modified_at = max(publication.live_from, publication.latest_live_from)
    etag = f'"{tag}-gzip"' if gzipped else f'"{tag}"'
    last_modified = int(modified_at.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        key = f"disclosure:{RENDERING_REVISION}:{tag}"

        def verified_build():
            # Bodies are built from the stored bytes only if they are still those
            # published: an altered version is an error, never served.
            publication.verify_artefacts()
            return build()

        try:
            response = stored_body_response(key, verified_build, content_type, gzipped=gzipped, timeout=None)
        except PublicationAltered as error:
            return altered_publication_response(request, error)
    if compressible:
        patch_vary_headers(response, ("Accept-Encoding",))
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(last_modified)
    if immutable:
        patch_cache_control(response, public=True, max_age=31536000, immutable=True)
    else:
        # Which version is current changes with the next publication, or at a
        # scheduled version's go-live time: revalidate, at the latest then.
        patch_cache_control(response, public=True, max_age=current_max_age())
    return response


def altered_publication_response(request, error):
    altered = error.publication
    logger.error(
        "Refusing to serve %s version %s: its stored bytes no longer match their hashes (%s)",
        altered.organization.slug,
        altered.number,
        "; ".join(error.reasons),
    )
    response = render(request, "500.html", status=500)
    patch_cache_control(response, no_store=True)
    return response


def version_context(publication):
    context = document_context(
        publication.snapshot,
        version=publication.number,
        sheet_updated_on=publication.sheet_updated_on,
        checklist_updated_on=publication.checklist_updated_on,
    )
    context.update(
        publication=publication,
        organization=publication.organization,
        is_current=publication.number == publication.latest_number,
        latest_number=publication.latest_number,
        checklist_summary=checklist_summary(publication.snapshot).text,
    )
    return context


# Public pages are gzipped (HTML and JSON of ~50-70 KB shrink to a tenth, which a
# phone's first visit needs): the pages of a version by conditional(), which
# caches the compressed body, the others by gzip_page. BREACH needs a secret in a
# compressed response next to text an attacker chooses; these bodies carry none:
# they are the same for everyone (no CSRF token, no session data), and those of a
# version are built once and cached. The admin, which has CSRF tokens, is never
# compressed (no GZipMiddleware). The PDF is compressed already.
@gzip_page
@require_safe
def index(request):
    """The directory: every organisation's current version, filtered by GET parameters."""
    context = directory_page(request.GET)
    page = context["page"]
    if not request.GET and page.paginator.count == 1:
        # A portal of one organisation: its page is the portal's front page.
        return redirect("disclosures:current", slug=page.object_list[0].organization.slug)
    return render(request, "disclosures/index.html", context)


@require_safe
def version_page(request, slug, number=None):
    """The current version (no number) or version `number`: the same page."""
    publication = get_publication(slug, number)
    return conditional(
        request,
        publication,
        "page",
        lambda: render_to_string(
            "disclosures/publication_detail.html", version_context(publication), request
        ),
    )


@gzip_page
@require_safe
def version_list(request, slug):
    publications = list(Publication.objects.for_slug(slug).defer("pdf", "snapshot").newest_first())
    if not publications:
        raise Http404("公開された版が見つかりません。")
    return render(
        request,
        "disclosures/version_list.html",
        {"organization": publications[0].organization, "publications": publications},
    )


@require_safe
def version_diff(request, slug, number):
    publication = get_publication(slug, number)

    def build():
        # The version the public saw before: a cancelled schedule's number is skipped.
        previous = Publication.objects.for_slug(slug).filter(number__lt=number).newest_first().first()
        if previous is not None:
            previous.verify_artefacts()  # its snapshot is shown too
        changes = diff_snapshots(previous.snapshot, publication.snapshot) if previous else None
        context = version_context(publication)
        context.update(previous=previous, changes=changes)
        return render_to_string("disclosures/diff.html", context, request)

    return conditional(request, publication, "diff", build)


def snapshot_document(request, publication):
    """The snapshot as served: the stored snapshot plus its publication record."""
    document = dict(publication.snapshot)
    slug = publication.organization.slug
    document["publication"] = {
        "version": publication.number,
        # When the public got it: the go-live time of a scheduled version.
        "published_at": publication.live_from.isoformat(),
        "sheet_updated_on": publication.sheet_updated_on.isoformat(),
        "checklist_updated_on": publication.checklist_updated_on.isoformat(),
        "change_note": publication.change_note,
        "snapshot_sha256": publication.snapshot_sha256,
        "pdf_sha256": publication.pdf_sha256,
        "is_current": publication.number == publication.latest_number,
        # Paths, not absolute URLs: the body is cached and served on every host name.
        "url": publication.get_absolute_url(),
        "pdf_url": reverse("disclosures:version_pdf", kwargs={"slug": slug, "number": publication.number}),
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


@require_safe
def snapshot_json(request, slug, number=None):
    publication = get_publication(slug, number)
    return conditional(
        request,
        publication,
        "json",
        lambda: snapshot_document(request, publication),
        content_type="application/json; charset=utf-8",
    )


def pdf_filenames(publication, extension="pdf"):
    """An ASCII fallback and the RFC 6266 UTF-8 name: organisation, version, date."""
    published_on = timezone.localdate(publication.live_from)
    ascii_name = f"{publication.organization.slug}-v{publication.number}-{published_on:%Y-%m-%d}.{extension}"
    utf8_name = (
        f"{publication.title}_重要事項_第{publication.number}版_{japanese_date(published_on)}.{extension}"
    )
    return ascii_name, utf8_name


def attachment(response, publication, extension, *, inline=False):
    """Content-Disposition: saved (attachment) or shown by the browser (inline), with
    the version's file name either way."""
    ascii_name, utf8_name = pdf_filenames(publication, extension)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name)}"
    )
    return response


def pdf_response(request, publication, *, immutable, inline=False):
    def build():
        return bytes(publication.pdf)

    response = conditional(
        request,
        publication,
        "pdf",
        build,
        content_type="application/pdf",
        immutable=immutable,
        compressible=False,  # compressed already
    )
    # The same bytes and validators either way: only the browser's handling differs
    # (shown in its PDF viewer, or saved), and each has its own URL.
    return attachment(response, publication, "pdf", inline=inline)


@require_safe
def pdf(request, slug, number=None):
    # The PDF of a numbered version never changes; the current one does.
    publication = get_publication(slug, number)
    return pdf_response(request, publication, immutable=number is not None)


@require_safe
def xlsx(request, slug, number=None):
    """The version as an Excel workbook laid out like the form (disclosures/spreadsheet.py),
    built from its snapshot once and cached like the PDF: the same bytes every time."""
    publication = get_publication(slug, number)
    response = conditional(
        request,
        publication,
        f"xlsx{spreadsheet.FORMAT_VERSION}",
        lambda: spreadsheet.publication_workbook(publication),
        content_type=spreadsheet.CONTENT_TYPE,
        immutable=number is not None,
        compressible=False,  # a zip already
    )
    return attachment(response, publication, "xlsx")


# Chrome shows a PDF through an internal <embed> with inline styles, which the
# pages' policy (object-src 'none', no inline style) blocks: the PDF to read in the
# browser gets a policy of its own, which still forbids framing it elsewhere.
@csp({"frame-ancestors": [NONE]})
@require_safe
def pdf_inline(request, slug, number=None):
    """The PDF to read in the browser (Content-Disposition: inline), with a file name for saving it."""
    publication = get_publication(slug, number)
    return pdf_response(request, publication, immutable=number is not None, inline=True)
