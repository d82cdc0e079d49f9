"""PDF rendering for auditors' PDFs (Japanese disclosure documents, A4) with WeasyPrint.

    pdf = render_pdf(html, base_url="/static/", title=..., author=..., subject=...,
                     created=timezone.now())

Guarantees, each enforced by raising :class:`PdfRenderError` instead of returning bytes:

- Rendering never touches the network or arbitrary files: the URL fetcher serves only
  the project's static files (through ``django.contrib.staticfiles`` finders, then
  ``STATIC_ROOT`` for collected/hashed names) and ``data:`` URLs, and refuses anything
  else.
- No missing glyph is produced silently: WeasyPrint's ``.notdef glyph rendered`` and
  ``Font-face … cannot be loaded`` warnings, and any WeasyPrint error (unreadable image,
  stylesheet…), abort the rendering.
- Every glyph comes from a font declared with ``@font-face`` (static/css/pdf-fonts.css):
  a character that only a font installed on the machine has (an emoji drawn from
  DejaVu Sans, say) aborts too, so a PDF looks the same on every machine.

URLs: a URL path such as ``/static/css/pdf.css`` is a static file, whatever the base URL;
``base_url`` may be a URL path (``"/static/"``, ``"/static/disclosures/"``), a ``file://``
URL or a filesystem path of a static directory. Paths are mapped to ``file://`` URLs
(``/static/css/x.css`` -> ``file:///static/css/x.css``) so that relative references inside
stylesheets (``url("../fonts/x.ttf")``) resolve as usual; the fetcher then reads a
``file://`` URL whose path starts with STATIC_URL's path as that static file, and any
other ``file://`` URL only if it lies in a static directory.

WeasyPrint is imported inside the functions: ``import weasyprint`` costs ~0.6 s, which
Django start-up and the management commands should not pay.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
import mimetypes
import os
import posixpath
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "PdfRenderError",
    "ResourceRefused",
    "pdf_sha256",
    "render_pdf",
    "static_url_fetcher",
]

PDF_VARIANT = "pdf/a-3b"

_NOTDEF_PREFIX = ".notdef glyph rendered"
_FONT_FACE_FAILED = "Font-face %r cannot be loaded"


class PdfRenderError(Exception):
    """The PDF could not be rendered faithfully; no PDF is returned.

    ``message`` is the Japanese message for the person asking for the PDF,
    ``reasons`` one Japanese line per problem, ``details`` the raw WeasyPrint
    log lines and refused URLs, for the developer.
    """

    def __init__(self, reasons: list[str], details: list[str] | None = None):
        self.reasons = list(reasons)
        self.details = list(details or [])
        self.message = "PDFを作成できませんでした。" + "".join(f"\n・{reason}" for reason in self.reasons)
        text = self.message
        if self.details:
            text += "\n--\n" + "\n".join(self.details)
        super().__init__(text)


class ResourceRefused(ValueError):
    """The PDF fetcher refused a URL (not a static file, or not found among them)."""

    def __init__(self, url: str, reason: str, *, not_found: bool = False):
        self.url = url
        self.reason = reason
        self.not_found = not_found  # a static URL, but no such file
        super().__init__(f"{reason}: {url}")


def pdf_sha256(data: bytes) -> str:
    """Hex SHA-256 of a rendered PDF, as recorded next to the file."""
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- URLs


def _static_url_path() -> str:
    """STATIC_URL's path, with one leading and one trailing slash ("/static/")."""
    from django.conf import settings

    path = urlsplit(settings.STATIC_URL or "/static/").path or "/static/"
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def _collapse_slashes(path: str) -> str:
    # "//static/x" is a network-path reference (host "static"), the pitfall of joining
    # "/" with a STATIC_URL that already starts with "/": keep a single leading slash.
    return re.sub(r"^/{2,}", "/", path)


def normalize_base_url(base_url: str | os.PathLike | None) -> str:
    """The ``file://`` base URL WeasyPrint gets for ``base_url``.

    ``None``/``""`` -> STATIC_URL; ``"/static/"`` or ``"//static/"`` ->
    ``"file:///static/"``; a ``file://`` URL is kept; a filesystem path becomes its
    ``file://`` URL. Anything else (http…) is kept and will be refused by the fetcher.
    """
    if base_url is None or base_url == "":
        base_url = _static_url_path()
    base_url = os.fspath(base_url)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9.+-]*:", base_url):
        scheme, netloc, path, _query, _fragment = urlsplit(base_url)
        if scheme.lower() == "file" and netloc in ("", "localhost"):
            return "file://" + _collapse_slashes(path or "/")
        return base_url
    if not base_url.startswith("/"):
        base_url = "/" + base_url  # "static/" as in settings.STATIC_URL
    return "file://" + quote(_collapse_slashes(base_url), safe="/:@!$&'()*+,;=~%")


def _static_roots() -> list[tuple[str, str]]:
    """(prefix, real directory) of every place the static files come from."""
    from django.conf import settings
    from django.contrib.staticfiles import finders

    roots = []
    for finder in finders.get_finders():
        for prefix, root in getattr(finder, "locations", ()):  # FileSystemFinder
            roots.append((prefix, root))
        for storage in getattr(finder, "storages", {}).values():  # AppDirectoriesFinder
            location = getattr(storage, "location", None)
            if location:
                roots.append((getattr(storage, "prefix", None) or "", location))
    if settings.STATIC_ROOT:
        roots.append(("", os.fspath(settings.STATIC_ROOT)))
    return [(prefix, os.path.realpath(root)) for prefix, root in roots]


def _clean_relative(path: str) -> str | None:
    """A static file name ("css/x.css") or None if it tries to leave the static tree."""
    if "\x00" in path or "\\" in path:
        return None
    normalized = posixpath.normpath(path)
    if normalized in (".", "") or normalized.startswith(("/", "../")) or normalized == "..":
        return None
    return normalized


def find_static_file(relative_path: str) -> str | None:
    """Absolute path of a static file: the staticfiles finders, then STATIC_ROOT."""
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.exceptions import SuspiciousFileOperation
    from django.utils._os import safe_join

    relative = _clean_relative(relative_path)
    if relative is None:
        return None
    try:
        found = finders.find(relative)
    except SuspiciousFileOperation:
        return None
    if not found and settings.STATIC_ROOT:
        # Collected files, e.g. the hashed names that ManifestStaticFilesStorage gives.
        try:
            candidate = safe_join(os.fspath(settings.STATIC_ROOT), relative)
        except SuspiciousFileOperation:
            return None
        found = candidate if os.path.isfile(candidate) else None
    if not found:
        return None
    # A symlink in a static directory must not lead out of the static directories.
    real = os.path.realpath(found)
    if not any(real.startswith(root + os.sep) for _prefix, root in _static_roots()):
        return None
    return os.fspath(found)


def resolve_static_url(url: str) -> str:
    """The file that a ``file://`` URL designates, if it is a static file.

    Raises :class:`ResourceRefused` otherwise.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        raise ResourceRefused(url, "only static files and data: URLs may be used in a PDF")
    if parts.netloc not in ("", "localhost"):
        raise ResourceRefused(url, f"file URL with host {parts.netloc!r} (a '//static' double slash?)")
    path = unquote(parts.path)
    static_prefix = _static_url_path()

    # 1. A URL path on the site: /static/css/x.css
    if path.startswith(static_prefix):
        found = find_static_file(path[len(static_prefix) :])
        if found:
            return found
        raise ResourceRefused(url, "no such static file", not_found=True)

    # 2. A real file in one of the static directories.
    real = os.path.realpath(path)
    for prefix, root in _static_roots():
        if real == root or not real.startswith(root + os.sep):
            continue
        relative = os.path.relpath(real, root).replace(os.sep, "/")
        if prefix:
            relative = f"{prefix}/{relative}"
        found = find_static_file(relative)
        # Serve it only if the finders (or STATIC_ROOT) give this very file.
        if found and os.path.realpath(found) == real:
            return found
    raise ResourceRefused(url, "file outside the static directories")


def _content_type(path: str) -> str:
    if path.endswith(".css"):
        # WeasyPrint ignores a <link rel=stylesheet> that is not served as text/css.
        return "text/css; charset=utf-8"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesURLFetcher(URLFetcher):
        """Serves the project's static files and data: URLs; refuses everything else.

        Built with ``fail_on_errors=True``: a refused URL stops the rendering
        (WeasyPrint raises FatalURLFetchingError). Refusals are also kept in
        ``self.refused`` (:class:`ResourceRefused`).
        """

        def __init__(self, **kwargs):
            kwargs.setdefault("fail_on_errors", True)
            kwargs.setdefault("allow_redirects", False)
            super().__init__(**kwargs)
            self.refused: list[ResourceRefused] = []
            self.served: list[tuple[str, str]] = []

        def fetch(self, url, headers=None):
            try:
                scheme = urlsplit(url).scheme.lower()
                if scheme == "data":
                    # Decoded in memory by urllib's DataHandler: no I/O.
                    return super().fetch(url, headers)
                # Query and fragment (fonts' "?#iefix") are no part of a file name.
                clean_url = url.split("#", 1)[0].split("?", 1)[0]
                path = resolve_static_url(clean_url)
            except ResourceRefused as refused:
                self.refused.append(refused)
                raise
            except ValueError as error:  # malformed URL
                refused = ResourceRefused(url, str(error))
                self.refused.append(refused)
                raise refused from error
            with open(path, "rb") as file:
                body = file.read()
            self.served.append((url, path))
            return URLFetcherResponse(clean_url, body, headers={"Content-Type": _content_type(path)})

    return StaticFilesURLFetcher


def static_url_fetcher(**kwargs):
    """A new WeasyPrint URL fetcher (a ``weasyprint.urls.URLFetcher``) for static files only."""
    return _fetcher_class()(**kwargs)


@functools.cache
def _font_config_class():
    from weasyprint.text.fonts import FontConfiguration

    class RecordingFontConfiguration(FontConfiguration):
        """Remembers the families declared with @font-face."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.declared_families: set[str] = set()

        def add_font_face(self, rule_descriptors, *args, **kwargs):
            family = rule_descriptors.get("font_family")
            if family:
                self.declared_families.add(family)
            return super().add_font_face(rule_descriptors, *args, **kwargs)

    return RecordingFontConfiguration


# ------------------------------------------------------------------------ logging


@dataclass
class _Problems:
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def add(self, reason: str, detail: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)
        self.details.append(detail)


class _CaptureHandler(logging.Handler):
    """Collects WeasyPrint's warnings and errors emitted by one thread."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.thread == self.thread:
            self.records.append(record)


def _char_label(char: str) -> str:
    return f"「{char}」(U+{ord(char):04X})" if len(char) == 1 else f"「{char}」"


def _examine(records: list[logging.LogRecord], problems: _Problems) -> None:
    for record in records:
        text = record.getMessage()
        if isinstance(record.msg, str) and record.msg.startswith(_NOTDEF_PREFIX):
            char = record.args[0] if record.args else "?"
            problems.add(f"同梱フォントにない文字があります: {_char_label(str(char))}", text)
        elif record.msg == _FONT_FACE_FAILED:
            family = record.args[0] if record.args else "?"
            problems.add(f"フォント「{family}」を読み込めませんでした", text)
        elif record.levelno >= logging.ERROR:
            problems.add(f"WeasyPrint のエラー: {text}", text)


def _check_fonts(document, declared_families: set[str], problems: _Problems) -> None:
    """Every font drawn must be one declared with @font-face (none from the machine)."""
    for font in getattr(document, "fonts", {}).values():
        family = getattr(font, "family", None)
        if family is None or family in declared_families:
            continue
        chars = "".join(sorted(set("".join(getattr(font, "to_unicode", {}).values()))))
        shown = "、".join(_char_label(c) for c in chars[:10]) or "(不明)"
        problems.add(
            f"同梱フォント以外のフォント「{family}」で描かれる文字があります: {shown}",
            f"font not declared with @font-face: {family!r} for {chars!r}",
        )


# ------------------------------------------------------------------------ render


def _w3c_date(value: datetime.datetime) -> str:
    from django.utils import timezone

    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def _split_keywords(keywords: str) -> list[str]:
    return [word.strip() for word in re.split(r"[,，、]", keywords or "") if word.strip()]


def render_pdf(
    html: str,
    *,
    base_url: str,
    title: str,
    author: str,
    subject: str,
    created: datetime.datetime,
    keywords: str = "",
    lang: str = "ja",
) -> bytes:
    """Render ``html`` to PDF/A-3b bytes, with fonts embedded and subset.

    ``created`` (a naive value is taken in the current time zone) is both the creation
    and the modification date, so the same input gives the same metadata. ``lang``
    becomes the PDF's /Lang; the text is shaped with ``<html lang>``, which should say
    the same.

    Raises :class:`PdfRenderError` if a resource was refused, a glyph is missing, a
    font could not be loaded or WeasyPrint reported an error.
    """
    import weasyprint
    from weasyprint.logger import LOGGER
    from weasyprint.urls import FatalURLFetchingError

    fetcher = static_url_fetcher()
    font_config = _font_config_class()()
    problems = _Problems()

    # The checks need WeasyPrint's warnings, even if logging was configured to hide them.
    if LOGGER.disabled:  # dictConfig's disable_existing_loggers
        LOGGER.disabled = False
    if not LOGGER.isEnabledFor(logging.WARNING):
        LOGGER.setLevel(logging.WARNING)
    handler = _CaptureHandler()
    LOGGER.addHandler(handler)
    try:
        try:
            document = weasyprint.HTML(
                string=html, base_url=normalize_base_url(base_url), url_fetcher=fetcher
            ).render(font_config=font_config)
            metadata = document.metadata
            metadata.title = title
            metadata.authors = [author] if author else []
            metadata.description = subject
            metadata.keywords = _split_keywords(keywords)
            metadata.created = metadata.modified = _w3c_date(created)
            metadata.lang = lang
            # pdf_tags: a structure tree (headings, lists, tables with TH) for screen readers.
            pdf = document.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True)
        except FatalURLFetchingError as error:
            cause = error.__cause__
            if not isinstance(cause, ResourceRefused):
                raise PdfRenderError([f"リソースを読み込めませんでした: {error}"], [repr(cause)]) from cause
            pdf = None
    finally:
        LOGGER.removeHandler(handler)

    for refused in fetcher.refused:
        if refused.not_found:
            reason = f"静的ファイルが見つかりません: {refused.url}"
        else:
            reason = f"静的ファイル以外のリソースは使えません: {refused.url}"
        problems.add(reason, f"refused {refused.url}: {refused.reason}")
    _examine(handler.records, problems)
    if pdf is not None:
        _check_fonts(document, font_config.declared_families, problems)
    if problems.reasons or pdf is None:
        raise PdfRenderError(problems.reasons or ["原因不明のエラーです"], problems.details)
    return pdf


def publication_html(
    snapshot, *, number, published_at, sheet_updated_on, checklist_updated_on, draft=False
):
    """The HTML the auditors' PDF of a version is rendered from: the page's document
    templates, print CSS, the organisation, version and publication date on every page.
    ``draft``: the staff's preview of an unpublished draft, marked 下書き on every page."""
    from django.template.loader import render_to_string
    from django.utils import timezone

    from .display import document_context
    from .snapshot import japanese_date

    context = document_context(
        snapshot,
        version=number,
        sheet_updated_on=sheet_updated_on,
        checklist_updated_on=checklist_updated_on,
    )
    published_on = japanese_date(timezone.localdate(published_at))
    context.update(published_at=published_at, published_on=published_on, draft=draft)
    return render_to_string("disclosures/pdf.html", context)


def render_publication_pdf(
    snapshot, *, number, published_at, sheet_updated_on, checklist_updated_on, draft=False
):
    """The auditors' PDF of a version (or, with ``draft``, the staff's preview of one)."""
    from django.conf import settings
    from django.utils import timezone

    from .snapshot import japanese_date

    html = publication_html(
        snapshot,
        number=number,
        published_at=published_at,
        sheet_updated_on=sheet_updated_on,
        checklist_updated_on=checklist_updated_on,
        draft=draft,
    )
    published_on = japanese_date(timezone.localdate(published_at))
    organization_name = snapshot["sheet"]["values"]["name"]
    marker = "（下書き）" if draft else ""
    return render_pdf(
        html,
        base_url=settings.STATIC_URL,
        title=f"{snapshot['sheet']['title']} {organization_name} 第{number}版{marker}",
        author=organization_name,
        subject=(
            f"{snapshot['sheet']['title']} と 別添 {snapshot['checklist']['template']['title']}"
            f"（第{number}版、{published_on}{'プレビュー' if draft else '公開'}）"
        ),
        keywords="代行機関, 特定健診, 特定保健指導, 重要事項, ガイドライン遵守チェックリスト",
        created=published_at,
    )


# The fonts the PDF embeds (static/css/pdf-fonts.css). A character none of them
# has cannot be printed: the sheet refuses it when it is typed, not at publish.
EMBEDDED_FONTS = ("fonts/NotoSansJP-Regular.ttf", "fonts/BIZUDPGothic-Regular.ttf")


@functools.cache
def printable_code_points() -> frozenset[int]:
    from django.contrib.staticfiles import finders
    from fontTools.ttLib import TTFont

    points = set()
    for name in EMBEDDED_FONTS:
        points.update(TTFont(finders.find(name), lazy=True).getBestCmap())
    return frozenset(points)


def unprintable_characters(text: str) -> list[str]:
    """Characters of `text` that no embedded font can draw (emoji, say), in order."""
    printable = printable_code_points()
    found = []
    for char in text:
        if char not in "\n\r\t" and ord(char) not in printable and char not in found:
            found.append(char)
    return found


# One glyph of Noto Sans JP serves several code points (〜 U+301C and ～ U+FF5E, 神 U+795E
# and U+FA19, - U+002D and ‑ U+2011…). A PDF font maps each glyph to one text, so once two
# of them occur, pdftotext and copy-paste turn one into the other. So the N-th extra code
# point of every such glyph is drawn from "Portal Sans JP Variant N", a subset of Noto
# holding only those code points (static/fonts/NotoSansJP-VariantN-*.ttf, made by
# scripts/pdf_font_variants.py), placed first in the font stack: each variant is a font of
# its own in the PDF, with its own text for the glyph. (Declaring the full Noto file again
# with a unicode-range does not work: fontconfig takes both faces for one font.)
SHARING_FONTS = {400: "fonts/NotoSansJP-Regular.ttf", 700: "fonts/NotoSansJP-Bold.ttf"}
VARIANT_FAMILY = "Portal Sans JP Variant {}"
VARIANT_FILE = "fonts/NotoSansJP-Variant{}-{}.ttf"  # number, Regular/Bold


@functools.cache
def glyph_sharing_variants() -> tuple[frozenset[int], ...]:
    """The code points each variant family must draw: the second code point of every
    glyph serving several, then the third…. "Portal Sans JP" keeps the one that NFKC
    leaves unchanged (一 U+4E00, not the radical ⼀ U+2F00; 神 U+795E, not U+FA19), else
    the one the glyph is named after, else the lowest."""
    import unicodedata
    from collections import defaultdict

    from django.contrib.staticfiles import finders
    from fontTools.ttLib import TTFont

    levels = defaultdict(set)
    for name in SHARING_FONTS.values():
        by_glyph = defaultdict(list)
        for code_point, glyph in TTFont(finders.find(name), lazy=True).getBestCmap().items():
            by_glyph[glyph].append(code_point)
        for glyph, code_points in by_glyph.items():
            named = re.fullmatch(r"uni([0-9A-F]{4})|u([0-9A-F]{4,6})", glyph)
            first = int(named[1] or named[2], 16) if named else None
            ordered = sorted(
                code_points,
                key=lambda code_point: (
                    unicodedata.normalize("NFKC", chr(code_point)) != chr(code_point),
                    code_point != first,
                    code_point,
                ),
            )
            for level, code_point in enumerate(ordered[1:]):
                levels[level].add(code_point)
    return tuple(frozenset(levels[level]) for level in sorted(levels))


def unicode_range(code_points) -> str:
    """``U+20, U+2D-2F`` for a CSS unicode-range descriptor."""
    ranges = []
    for code_point in sorted(code_points):
        if ranges and ranges[-1][1] == code_point - 1:
            ranges[-1][1] = code_point
        else:
            ranges.append([code_point, code_point])
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in ranges)


def variant_font_faces() -> str:
    """The @font-face rules of the variant families, as pdf-fonts.css holds them."""
    rules = []
    for number, code_points in enumerate(glyph_sharing_variants(), start=1):
        for weight, style in ((400, "Regular"), (700, "Bold")):
            rules.append(
                "@font-face {\n"
                f'  font-family: "{VARIANT_FAMILY.format(number)}";\n'
                f'  src: url("../{VARIANT_FILE.format(number, style)}") format("truetype");\n'
                f"  font-weight: {weight};\n"
                "  font-style: normal;\n"
                f"  unicode-range: {unicode_range(code_points)};\n"
                "}\n"
            )
    return "\n".join(rules)
