"""Verify any copy of a PDF: which agency and version it is, and whether it is current.

The browser computes the file's SHA-256 itself (static/js/verify.js, Web Crypto:
the file never leaves the visitor's machine) and asks ``/verify/<sha256>.json``.
Without JavaScript, ``/verify/?sha256=…`` answers the same on the page. Only
live versions are ever looked up (never a scheduled or cancelled one): a hash is compared with ``pdf_sha256``.
"""

import json
import re

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from .formatting import japanese_date_time
from .models import Publication

SHA256_PATTERN = re.compile(r"^[0-9a-fA-F]{64}$")
NOT_PUBLISHED_HERE = "このポータルが公開したファイルではありません。"
# An answer says whether the version is current, which the next publication changes:
# never answered from a cache (one indexed query is cheap).
NO_CACHE = {"no_cache": True, "max_age": 0}


def version_record(publication):
    slug = publication.organization.slug
    return {
        "version": publication.number,
        "published_at": publication.live_from.isoformat(),
        "url": reverse("disclosures:version", kwargs={"slug": slug, "number": publication.number}),
        "pdf_url": reverse("disclosures:version_pdf", kwargs={"slug": slug, "number": publication.number}),
    }


def verdict(sha256):
    """What the portal knows of a file with this SHA-256 (lowercase hex), as plain data.

    ``lines`` are the Japanese sentences the page shows (the browser script shows
    the same, from the JSON), so the wording lives here only.
    """
    sha256 = sha256.lower()
    publication = (
        Publication.objects.live()
        .filter(pdf_sha256=sha256)
        .select_related("organization")
        .defer("snapshot", "pdf")
        .order_by("organization_id", "number")
        .first()
    )
    if publication is None:
        return {
            "sha256": sha256,
            "found": False,
            "lines": [
                NOT_PUBLISHED_HERE,
                "このポータルが公開したPDFを1バイトでも変更したファイルも、別のファイルと判定されます。",
            ],
        }
    later = list(
        Publication.objects.live()
        .filter(organization_id=publication.organization_id, number__gt=publication.number)
        .order_by("number")
        .values_list("number", "live_from")
    )
    organization = publication.organization
    record = version_record(publication)
    lines = [
        "このポータルが公開したファイルです。",
        f"{publication.title} の 第{publication.number}版（{japanese_date_time(publication.live_from)}公開）です。",
    ]
    answer = {
        "sha256": sha256,
        "found": True,
        "organization": {"name": publication.title, "slug": organization.slug},
        **record,
        "change_note": publication.change_note,
        "is_current": not later,
        "replaced_by": None,
        "current": None,
    }
    if not later:
        lines.append("現在の版です。")
    else:
        (next_number, next_at), (latest_number, latest_at) = later[0], later[-1]
        answer["replaced_by"] = {
            "version": next_number,
            "published_at": next_at.isoformat(),
            "url": reverse("disclosures:version", kwargs={"slug": organization.slug, "number": next_number}),
        }
        answer["current"] = {
            "version": latest_number,
            "published_at": latest_at.isoformat(),
            "url": reverse("disclosures:current", kwargs={"slug": organization.slug}),
        }
        lines.append(
            f"現在の版ではありません。第{next_number}版（{japanese_date_time(next_at)}公開）に置き換えられました。"
        )
        if latest_number != next_number:
            lines.append(f"現在の版は 第{latest_number}版（{japanese_date_time(latest_at)}公開）です。")
    answer["lines"] = lines
    return answer


@require_safe
def verify_json(request, sha256):
    """The verdict as JSON; 404 (with the same JSON) for a file never published here."""
    answer = verdict(sha256)
    response = HttpResponse(
        json.dumps(answer, ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
        status=200 if answer["found"] else 404,
    )
    patch_cache_control(response, **NO_CACHE)
    return response


@require_safe
def verify_page(request):
    """The page: choose or drop a PDF (JavaScript), or paste its SHA-256 (a GET form)."""
    from .signing import signer_certificate_sha256

    typed = request.GET.get("sha256", "").strip()
    context = {
        "typed": typed[:200],
        "answer": None,
        "error": "",
        "certificate_sha256": signer_certificate_sha256(),
        "json_example": reverse("disclosures:verify_json", kwargs={"sha256": "0" * 64}),
    }
    status = 200
    if typed:
        if SHA256_PATTERN.match(typed):
            context["answer"] = verdict(typed)
        else:
            context["error"] = "SHA-256 は 64 桁の16進数（0〜9、a〜f）で入力してください。"
            status = 400
    response = render(request, "disclosures/verify.html", context, status=status)
    patch_cache_control(response, **NO_CACHE)
    return response
