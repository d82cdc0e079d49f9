from django.urls import path, register_converter
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe

from . import archive, comparison, verification, views
from .feeds import AllVersionsFeed, VersionFeed


class VersionNumberConverter:
    """1 to 999 999 999: anything longer is a 404, never a database overflow."""

    regex = "[1-9][0-9]{0,8}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


class OrganizationSlugConverter:
    """A slug as Organization.slug allows it (at most 50 characters): a longer
    one is a 404 before it reaches the database or a cache key."""

    regex = "[-a-zA-Z0-9_]{1,50}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class Sha256Converter:
    """64 hexadecimal digits: any other "hash" is a 404 before any query."""

    regex = "[0-9a-fA-F]{64}"

    def to_python(self, value):
        return value.lower()

    def to_url(self, value):
        return value


register_converter(VersionNumberConverter, "version")
register_converter(Sha256Converter, "sha256")
register_converter(OrganizationSlugConverter, "org")

app_name = "disclosures"
urlpatterns = [
    path("", views.index, name="index"),
    # Before the organisations' pages: "verify" and "feed" are no organisation.
    path("verify/", verification.verify_page, name="verify"),
    path("verify/<sha256:sha256>.json", verification.verify_json, name="verify_json"),
    path("feed/", gzip_page(require_safe(AllVersionsFeed())), name="all_feed"),
    # Before the organisations' pages too: "compare" is no organisation.
    path("compare/", comparison.compare_page, name="compare"),
    path("compare/csv/", comparison.compare_csv, name="compare_csv"),
    path("<org:slug>/", views.version_page, name="current"),
    path("<org:slug>/current.json", views.snapshot_json, name="current_json"),
    path("<org:slug>/pdf/", views.pdf, name="current_pdf"),
    path("<org:slug>/pdf/view/", views.pdf_inline, name="current_pdf_inline"),
    path("<org:slug>/xlsx/", views.xlsx, name="current_xlsx"),
    path("<org:slug>/archive.zip", archive.archive_zip, name="archive"),
    path("<org:slug>/feed/", gzip_page(require_safe(VersionFeed())), name="feed"),
    path("<org:slug>/versions/", views.version_list, name="versions"),
    path("<org:slug>/versions/<version:number>/", views.version_page, name="version"),
    path("<org:slug>/versions/<version:number>.json", views.snapshot_json, name="version_json"),
    path("<org:slug>/versions/<version:number>/pdf/", views.pdf, name="version_pdf"),
    path("<org:slug>/versions/<version:number>/xlsx/", views.xlsx, name="version_xlsx"),
    path("<org:slug>/versions/<version:number>/pdf/view/", views.pdf_inline, name="version_pdf_inline"),
    path("<org:slug>/versions/<version:number>/diff/", views.version_diff, name="diff"),
]
