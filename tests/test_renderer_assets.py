"""The renderer owns its assets: the PDF's fonts and CSS are no static files.

They live in disclosures/pdf/assets/ and only the PDF's URL fetcher reads them, so
publishing works on a production install where `collectstatic` never ran (hashed,
manifest-based static files, DEBUG off), and `collectstatic` no longer compresses
20 MB of fonts.
"""

import io
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import override_settings
from pypdf import PdfReader

from disclosures.models import Organization
from disclosures.pdf import ASSETS_DIR
from disclosures.pdf.document import FONT_STYLESHEET, render_publication_pdf

ROOT = Path(__file__).resolve().parent.parent
FONT_SUFFIXES = {".ttf", ".otf", ".woff", ".woff2", ".ttc"}


def production_static_settings(static_root):
    """A fresh production install: DEBUG off, hashed names from a manifest that
    `collectstatic` would write into STATIC_ROOT, which is empty."""
    return override_settings(
        DEBUG=False,
        STATIC_ROOT=str(static_root),
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
    )


@pytest.mark.real_pdf
@pytest.mark.django_db
def test_publishing_works_on_a_fresh_production_install_without_collectstatic(tmp_path):
    static_root = tmp_path / "staticfiles"
    static_root.mkdir()
    with production_static_settings(static_root):
        # Django's setting_changed signal rebuilds staticfiles_storage from these settings.
        from django.contrib.staticfiles.storage import staticfiles_storage

        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            staticfiles_storage.url("css/portal.css")  # the install really lacks collectstatic
        call_command("load_example", verbosity=0, stdout=io.StringIO())  # publishes version 1
        publication = Organization.objects.get(slug="qolead").publications.get(number=1)
        pdf = bytes(publication.pdf)
        assert pdf.startswith(b"%PDF-")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert "事業運営上開示すべき重要事項の概要" in text
        assert "最低限のガイドライン遵守チェックリスト" in text
        # The staff's draft preview renders there too.
        preview = render_publication_pdf(
            publication.snapshot,
            number=2,
            published_at=publication.published_at,
            sheet_updated_on=publication.sheet_updated_on,
            checklist_updated_on=publication.checklist_updated_on,
            draft=True,
        )
        assert preview.startswith(b"%PDF-")
    assert list(static_root.iterdir()) == []  # and nothing was collected on the way


def test_no_font_file_is_a_static_file():
    """No .ttf (or any font) under static/, nor anywhere collectstatic would collect from:
    the public pages use the visitor's system font and collectstatic stays fast."""
    assert [p for p in (ROOT / "static").rglob("*") if p.suffix.lower() in FONT_SUFFIXES] == []
    collected = [path for finder in finders.get_finders() for path, _storage in finder.list([])]
    assert collected, "the finders list the static files"
    assert [path for path in collected if Path(path).suffix.lower() in FONT_SUFFIXES] == []
    assert not any(Path(path).name in {"pdf.css", "pdf-fonts.css"} for path in collected)


def test_the_pdf_assets_are_in_the_app_with_their_licences():
    fonts = {p.name for p in (ASSETS_DIR / "fonts").iterdir()}
    assert {
        "NotoSansJP-Regular.ttf",
        "NotoSansJP-Bold.ttf",
        "BIZUDPGothic-Regular.ttf",
        "BIZUDPGothic-Bold.ttf",
        "OFL-NotoSansJP.txt",
        "OFL-BIZUDPGothic.txt",
    } <= fonts
    assert {f"NotoSansJP-Variant{n}-{s}.ttf" for n in (1, 2, 3) for s in ("Regular", "Bold")} <= fonts
    assert {p.name for p in (ASSETS_DIR / "css").iterdir()} == {"pdf.css", "pdf-fonts.css"}
    for name in ("css/pdf.css", "css/pdf-fonts.css", "fonts/NotoSansJP-Regular.ttf"):
        assert finders.find(name) is None, f"{name} is still a static file"


def test_the_pdf_template_refers_to_its_assets_not_to_static_files():
    template = (ROOT / "templates/disclosures/pdf.html").read_text(encoding="utf-8")
    assert "{% static" not in template and "/static/" not in template
    assert 'href="css/pdf.css"' in template
    # The fonts' stylesheet is the renderer's, parsed once per process (not linked).
    assert (ASSETS_DIR / FONT_STYLESHEET).is_file()
