from django.urls import path, register_converter
from django.views.decorators.http import require_safe

from . import views


class VersionNumberConverter:
    """1 to 999 999 999: anything longer is a 404, never a database overflow."""

    regex = "[1-9][0-9]{0,8}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(VersionNumberConverter, "version")

app_name = "disclosures"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.version_page, name="current"),
    path("<slug:slug>/current.json", views.snapshot_json, name="current_json"),
    path("<slug:slug>/pdf/", views.pdf, name="current_pdf"),
    path("<slug:slug>/feed/", require_safe(views.VersionFeed()), name="feed"),
    path("<slug:slug>/versions/", views.version_list, name="versions"),
    path("<slug:slug>/versions/<version:number>/", views.version_page, name="version"),
    path("<slug:slug>/versions/<version:number>.json", views.snapshot_json, name="version_json"),
    path("<slug:slug>/versions/<version:number>/pdf/", views.pdf, name="version_pdf"),
    path("<slug:slug>/versions/<version:number>/diff/", views.version_diff, name="diff"),
]
