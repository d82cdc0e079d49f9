"""The auditors' PDF, rendered by WeasyPrint from assets the app ships.

- ``assets/``: the PDF's fonts (with their licences), their ``@font-face`` rules and the
  print CSS. They are no static files: the fetcher serves this directory only, so
  rendering needs no ``collectstatic`` and no static-files manifest, and the public
  site never serves the fonts.
- ``harness``: the generic hardened WeasyPrint harness (URL fetcher, font checks,
  warnings as errors); imports nothing of the project.
- ``fonts``: what the embedded fonts cover (the printable-text rule's source) and the
  glyph-sharing variant fonts; imports nothing of the project either.
- ``document``: the publication's document (``publication_html``,
  ``render_publication_pdf``, its draft preview).

This package's ``__init__`` imports nothing of the project, so the models and validators
may import ``fonts`` or ``pdf_sha256`` without pulling in the document (which imports
the snapshot, which imports the models).
"""

from pathlib import Path

from .harness import PdfRenderError, pdf_sha256

ASSETS_DIR = Path(__file__).resolve().parent / "assets"

__all__ = ["ASSETS_DIR", "PdfRenderError", "pdf_sha256"]
