"""Public pages: only published versions, always rendered from their snapshots."""

import json

from django.contrib.syndication.views import Feed
from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from .diff import diff_snapshots
from .display import document_context
from .models import Publication

# Bumped when the templates change, so cached pages of old versions are rebuilt.
RENDERING_REVISION = "1"


def latest_number_subquery():
    return Subquery(
        Publication.objects.filter(organization=OuterRef("organization"))
        .order_by("-number")
        .values("number")[:1]
    )


def publications_of(slug):
    return Publication.objects.filter(organization__slug=slug).select_related("organization")


def get_publication(slug, number=None):
    """One query: the version (the current one without a number) and the current number."""
    queryset = publications_of(slug).annotate(latest_number=latest_number_subquery())
    try:
        if number is None:
            return queryset.latest("number")
        return queryset.get(number=number)
    except Publication.DoesNotExist:
        raise Http404("公開された版が見つかりません。") from None


def conditional(request, publication, variant, build, *, content_type="text/html; charset=utf-8"):
    """Answer with ETag/Last-Modified, 304 when the client has it; otherwise the
    response body, built once per version and kept in the cache."""
    etag = f'"{publication.snapshot_sha256[:40]}-{variant}-{publication.latest_number}"'
    last_modified = int(publication.published_at.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        key = f"disclosure:{RENDERING_REVISION}:{etag}"
        body = cache.get(key)
        if body is None:
            body = build()
            cache.set(key, body, None)
        response = HttpResponse(body, content_type=content_type)
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(last_modified)
    # A version never changes; which version is current does: revalidate.
    patch_cache_control(response, public=True, max_age=60)
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
    )
    return context


@require_safe
def index(request):
    latest = Publication.objects.filter(
        number=latest_number_subquery()
    ).select_related("organization").defer("snapshot").order_by("title")
    publications = list(latest)
    if len(publications) == 1:
        return redirect("disclosures:current", slug=publications[0].organization.slug)
    return render(request, "disclosures/index.html", {"publications": publications})


@require_safe
def current(request, slug):
    publication = get_publication(slug)
    return conditional(
        request,
        publication,
        "page",
        lambda: render_to_string("disclosures/publication_detail.html", version_context(publication), request),
    )


@require_safe
def version_detail(request, slug, number):
    publication = get_publication(slug, number)
    return conditional(
        request,
        publication,
        "version",
        lambda: render_to_string("disclosures/publication_detail.html", version_context(publication), request),
    )


@require_safe
def version_list(request, slug):
    publications = list(publications_of(slug).defer("snapshot").order_by("-number"))
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
        previous = publications_of(slug).filter(number=number - 1).first()
        context = version_context(publication)
        context.update(previous=previous, changes=diff_snapshots(previous.snapshot, publication.snapshot) if previous else None)
        return render_to_string("disclosures/diff.html", context, request)

    return conditional(request, publication, "diff", build)


def snapshot_document(request, publication):
    """The snapshot as served: the stored snapshot plus its publication record."""
    document = dict(publication.snapshot)
    slug = publication.organization.slug
    document["publication"] = {
        "version": publication.number,
        "published_at": publication.published_at.isoformat(),
        "sheet_updated_on": publication.sheet_updated_on.isoformat(),
        "checklist_updated_on": publication.checklist_updated_on.isoformat(),
        "change_note": publication.change_note,
        "snapshot_sha256": publication.snapshot_sha256,
        "is_current": publication.number == publication.latest_number,
        "url": request.build_absolute_uri(
            reverse("disclosures:version", kwargs={"slug": slug, "number": publication.number})
        ),
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


def json_response(request, publication):
    return conditional(
        request,
        publication,
        "json",
        lambda: snapshot_document(request, publication),
        content_type="application/json; charset=utf-8",
    )


@require_safe
def version_json(request, slug, number):
    return json_response(request, get_publication(slug, number))


@require_safe
def current_json(request, slug):
    return json_response(request, get_publication(slug))


class VersionFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, slug):
        publications = list(publications_of(slug).defer("snapshot").order_by("-number")[:50])
        if not publications:
            raise Http404("公開された版が見つかりません。")
        return publications

    def title(self, publications):
        return f"{publications[0].title} 重要事項の開示 更新情報"

    def subtitle(self, publications):
        return "事業運営上開示すべき重要事項の概要[代行機関] と 最低限のガイドライン遵守チェックリスト の公開版"

    def link(self, publications):
        return reverse("disclosures:current", kwargs={"slug": publications[0].organization.slug})

    def items(self, publications):
        return publications

    def item_title(self, publication):
        return f"第{publication.number}版を公開しました"

    def item_description(self, publication):
        return publication.change_note

    def item_link(self, publication):
        return reverse(
            "disclosures:version",
            kwargs={"slug": publication.organization.slug, "number": publication.number},
        )

    def item_pubdate(self, publication):
        return publication.published_at

    def item_updateddate(self, publication):
        return publication.published_at
