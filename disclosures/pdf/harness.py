"""A hardened WeasyPrint harness: HTML + one directory of assets -> PDF/A-3b bytes, or an error.

    pdf = render_pdf(html, assets_dir=ASSETS_DIR, title=..., author=..., subject=...,
                     created=timezone.now())

Generic: it knows nothing of disclosures (the publication's document is ``document.py``).
Guarantees, each enforced by raising :class:`PdfRenderError` instead of returning bytes:

- Rendering never touches the network or any file outside ``assets_dir``: the URL
  fetcher serves the regular files under that directory (symlinks leading out of it
  refused) and ``data:`` URLs, and refuses anything else. Nothing comes from Django's
  static files, so rendering needs neither ``collectstatic`` nor a static manifest.
- No missing glyph is produced silently: WeasyPrint's ``.notdef glyph rendered`` and
  ``Font-face … cannot be loaded`` warnings, and any WeasyPrint error (unreadable image,
  stylesheet…), abort the rendering.
- Every glyph comes from a font declared with ``@font-face`` (assets' css/pdf-fonts.css):
  a character that only a font installed on the machine has (an emoji drawn from
  DejaVu Sans, say) aborts too, so a PDF looks the same on every machine.

URLs: the document's base URL is ``assets_dir``'s ``file://`` URL, so the HTML refers to
``css/pdf.css`` and stylesheets to ``../fonts/x.ttf`` as usual.

Fonts kept for the process: the ``stylesheets`` given to :func:`render_pdf` (the
``@font-face`` rules, ``css/pdf-fonts.css``) are parsed once per process, with one
WeasyPrint ``FontConfiguration`` that every later render with the same stylesheets
reuses: the faces are not loaded again (nor written again to a temporary folder), and
Pango keeps the fonts it opened. The renders that share it take turns (a lock): Pango's
font map is not for two threads at once.

Python's cyclic garbage collector is paused while a render runs and collects once at
the end: a render makes tens of thousands of objects that point to each other (boxes and
their parents), and the collector otherwise ran its full pass over all the process's
objects (~150,000 here) about twice per render (~10 % of a warm render's CPU).

WeasyPrint is imported inside the functions: ``import weasyprint`` costs ~0.6 s, which
Django start-up and the management commands should not pay.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import hashlib
import logging
import mimetypes
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = [
    "PdfRenderError",
    "ResourceRefused",
    "pdf_sha256",
    "asset_url_fetcher",
    "render_pdf",
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
    """The PDF fetcher refused a URL (not an asset, or no such asset)."""

    def __init__(self, url: str, reason: str, *, not_found: bool = False):
        self.url = url
        self.reason = reason
        self.not_found = not_found  # in the assets directory, but no such file
        super().__init__(f"{reason}: {url}")


def pdf_sha256(data: bytes) -> str:
    """Hex SHA-256 of a rendered PDF, as recorded next to the file."""
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- URLs


def base_url_of(assets_dir: str | os.PathLike) -> str:
    """The ``file://`` URL of ``assets_dir`` (with its trailing slash): the document's base URL."""
    return Path(os.path.realpath(assets_dir)).as_uri().rstrip("/") + "/"


def resolve_asset_url(url: str, assets_dir: str | os.PathLike) -> str:
    """The file under ``assets_dir`` that a ``file://`` URL designates.

    Raises :class:`ResourceRefused` for any other URL, a file outside the directory
    (``..``, a symlink leading out) or a missing file.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        raise ResourceRefused(url, "only the PDF's assets and data: URLs may be used in a PDF")
    if parts.netloc not in ("", "localhost"):
        raise ResourceRefused(url, f"file URL with host {parts.netloc!r}")
    path = unquote(parts.path)
    if "\x00" in path:
        raise ResourceRefused(url, "NUL in a file URL")
    root = os.path.realpath(assets_dir)
    real = os.path.realpath(path)
    if not real.startswith(root + os.sep):
        raise ResourceRefused(url, "file outside the PDF's assets directory")
    if not os.path.isfile(real):
        raise ResourceRefused(url, "no such asset", not_found=True)
    return real


def _content_type(path: str) -> str:
    if path.endswith(".css"):
        # WeasyPrint ignores a <link rel=stylesheet> that is not served as text/css.
        return "text/css; charset=utf-8"
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetURLFetcher(URLFetcher):
        """Serves the files under one directory and data: URLs; refuses everything else.

        Built with ``fail_on_errors=True``: a refused URL stops the rendering
        (WeasyPrint raises FatalURLFetchingError). Refusals are also kept in
        ``self.refused`` (:class:`ResourceRefused`).
        """

        def __init__(self, assets_dir, **kwargs):
            kwargs.setdefault("fail_on_errors", True)
            kwargs.setdefault("allow_redirects", False)
            super().__init__(**kwargs)
            self.assets_dir = os.fspath(assets_dir)
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
                path = resolve_asset_url(clean_url, self.assets_dir)
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

    return AssetURLFetcher


def asset_url_fetcher(assets_dir, **kwargs):
    """A new WeasyPrint URL fetcher (a ``weasyprint.urls.URLFetcher``) for the files under
    ``assets_dir`` only."""
    return _fetcher_class()(assets_dir, **kwargs)


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


class _SharedFonts:
    """One FontConfiguration and the stylesheets parsed with it, kept for the process."""

    def __init__(self, font_config, stylesheets):
        self.font_config = font_config
        self.stylesheets = stylesheets
        self.lock = threading.Lock()


_shared_fonts: dict[tuple, _SharedFonts] = {}
_shared_fonts_lock = threading.Lock()


def _shared_fonts_key(assets_dir, stylesheets) -> tuple:
    """The assets directory and each stylesheet with its modification time: an edited
    stylesheet is parsed again, with a new font configuration."""
    root = os.path.realpath(assets_dir)

    def modified(name):
        try:
            return os.stat(os.path.join(root, name)).st_mtime_ns
        except OSError:  # missing: the fetcher refuses it, and the render says so
            return None

    return (root, tuple((name, modified(name)) for name in stylesheets))


def _shared_fonts_for(key, fetcher, handler) -> _SharedFonts:
    """The process's font configuration and parsed stylesheets for ``key``, made (and the
    stylesheets parsed, their @font-face faces loaded) the first time only. Kept only if
    the parsing went without a warning (a face that cannot be loaded is reported by
    every render, not by the first one only)."""
    with _shared_fonts_lock:
        shared = _shared_fonts.get(key)
        if shared is None:
            import weasyprint

            root, stylesheets = key
            warnings_before = len(handler.records)
            font_config = _font_config_class()()
            parsed = [
                weasyprint.CSS(url=Path(root, name).as_uri(), url_fetcher=fetcher, font_config=font_config)
                for name, _mtime in stylesheets
            ]
            shared = _SharedFonts(font_config, parsed)
            if len(handler.records) == warnings_before and not fetcher.refused:
                _shared_fonts[key] = shared
        return shared


_gc_pauses = 0  # renders running now, in any thread
_gc_was_enabled = True
_gc_pauses_lock = threading.Lock()


_frozen_in = None  # the process (pid) whose long-lived objects are frozen


def _freeze_long_lived():
    global _frozen_in
    if _frozen_in != os.getpid():
        _frozen_in = os.getpid()
        gc.freeze()


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection inside; when the last render running leaves, the
    collector is on again (if it was before the first) and makes one full pass.

    After the first render's pass, what is left in the process is what lives as long as
    the process (Django, WeasyPrint and their modules, the shared fonts): it is frozen
    (``gc.freeze``), so that the collector's passes, this one after each render and
    its own, no longer go over it. Measured: the pass after a render 0.013–0.020 s
    instead of 0.086 s (~113,000 objects frozen), and no object left over from one
    render to the next. Objects are still freed when nothing refers to them."""
    global _gc_pauses, _gc_was_enabled
    with _gc_pauses_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_pauses_lock:
            _gc_pauses -= 1
            restore = _gc_pauses == 0 and _gc_was_enabled
            if restore:
                gc.enable()
        if restore:
            gc.collect()
            _freeze_long_lived()


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


_SPAN_KEYS = {"Type", "S", "K", "Pg", "P"}


def _text_on_its_element(_document, pdf) -> None:
    """A ``write_pdf`` finisher: the text of each box tagged on its element, not on a Span.

    ``pdf_tags=True`` gives every text box (a line's run of one style) a ``Span`` structure
    element of its own, and every HTML ``<span>`` one too: 1,281 of the example's 2,121
    elements, 9 KB of its PDF, saying nothing a screen reader uses. A Span with nothing but
    marked content of its own page (MCIDs) is replaced, in its parent's kids, by those
    MCIDs, and the parent tree maps them to the parent, as PDF allows (ISO 32000 14.7.4).
    The Span's object is left empty and unreferenced (pydyf numbers objects by position).
    Children come after their parents in ``pdf.objects``: going backwards, a ``<span>``
    whose text Spans are gone is then taken away too. (pydyf's dictionaries and arrays are
    ``dict`` and ``list``.)"""
    by_reference = {obj.reference: obj for obj in pdf.objects if isinstance(obj, dict)}
    root = by_reference.get(pdf.catalog.get("StructTreeRoot"))
    if root is None:
        return
    nums = by_reference[root["ParentTree"]]["Nums"]
    # Nums: page index, the array of that page's MCIDs' elements; then annotations' entries.
    page_elements = {key: value for key, value in zip(nums[::2], nums[1::2]) if isinstance(value, list)}
    page_index = {reference: index for index, reference in enumerate(pdf.page_references)}
    for obj in reversed(pdf.objects):
        if not (isinstance(obj, dict) and obj.get("S") == "/Span" and set(obj) == _SPAN_KEYS):
            continue
        mcids, parent = obj["K"], by_reference.get(obj["P"])
        if not mcids or not all(type(kid) is int for kid in mcids):
            continue
        if parent is None or parent.get("Pg") != obj["Pg"] or obj["Pg"] not in page_index:
            continue
        kids, elements = parent["K"], page_elements.get(page_index[obj["Pg"]])
        if obj.reference not in kids or elements is None or max(mcids) >= len(elements):
            continue  # not the tree this was written for: leave it as WeasyPrint made it
        at = kids.index(obj.reference)
        kids[at : at + 1] = mcids
        for mcid in mcids:
            elements[mcid] = parent.reference
        obj.clear()


@functools.cache
def _written_once(cls):
    """``cls`` (a pydyf object class) whose ``data``, the object's bytes, is made once."""

    class WrittenOnce(cls):
        @property
        def data(self):
            try:
                return self._written_data
            except AttributeError:
                self._written_data = value = super().data
                return value

    WrittenOnce.__name__ = WrittenOnce.__qualname__ = f"WrittenOnce{cls.__name__}"
    return WrittenOnce


def _write_each_object_once(pdf) -> None:
    """The last ``write_pdf`` finisher: each object of ``pdf`` serialised (and its stream
    compressed) once. For PDF/A, pydyf's ``PDF.write`` serialises every object a second
    time to hash them into the trailer's /ID: each stream compressed twice at zlib's level
    9 (the fonts' 354 KB twice), every structure element's dictionary made twice. Measured:
    45-70 ms of a 0.73 s render. After the finishers nothing changes the objects, so their
    bytes are kept the first time they are made; objects that ``write`` adds (the object
    stream, the information dictionary) too. The same bytes, the same /ID."""
    for obj in pdf.objects:
        obj.__class__ = _written_once(type(obj))
    pdf.__class__ = _adding_written_once(type(pdf))


@functools.cache
def _adding_written_once(cls):
    """``cls`` (pydyf's PDF) whose objects added from now on are written once too."""

    class AddingWrittenOnce(cls):
        def add_object(self, obj):
            obj.__class__ = _written_once(type(obj))
            super().add_object(obj)

    return AddingWrittenOnce


def _finish(document, pdf) -> None:
    _text_on_its_element(document, pdf)
    _write_each_object_once(pdf)


def render_pdf(
    html: str,
    *,
    assets_dir: str | os.PathLike,
    title: str,
    author: str,
    subject: str,
    created: datetime.datetime,
    keywords: str = "",
    lang: str = "ja",
    stylesheets: tuple[str, ...] = (),
) -> bytes:
    """Render ``html`` to PDF/A-3b bytes, with fonts embedded and subset.

    ``stylesheets``: paths relative to ``assets_dir`` of stylesheets applied to the
    document (after its own, as user stylesheets) and kept parsed for the process with
    its font configuration (see the module's docstring): the ``@font-face`` rules. The
    document should declare no other ``@font-face`` then: they would join the shared
    configuration too.

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

    fetcher = asset_url_fetcher(assets_dir)
    problems = _Problems()

    # The checks need WeasyPrint's warnings, even if logging was configured to hide them.
    if LOGGER.disabled:  # dictConfig's disable_existing_loggers
        LOGGER.disabled = False
    if not LOGGER.isEnabledFor(logging.WARNING):
        LOGGER.setLevel(logging.WARNING)
    handler = _CaptureHandler()
    LOGGER.addHandler(handler)
    shared = None
    try:
        try:
            with _gc_paused():
                if stylesheets:
                    shared = _shared_fonts_for(_shared_fonts_key(assets_dir, stylesheets), fetcher, handler)
                    font_config, user_stylesheets = shared.font_config, shared.stylesheets
                    shared.lock.acquire()
                else:
                    font_config, user_stylesheets = _font_config_class()(), []
                document = weasyprint.HTML(
                    string=html, base_url=base_url_of(assets_dir), url_fetcher=fetcher
                ).render(font_config=font_config, stylesheets=user_stylesheets)
                metadata = document.metadata
                metadata.title = title
                metadata.authors = [author] if author else []
                metadata.description = subject
                metadata.keywords = _split_keywords(keywords)
                metadata.created = metadata.modified = _w3c_date(created)
                metadata.lang = lang
                # pdf_tags: a structure tree (headings, lists, tables with TH) for screen readers.
                pdf = document.write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True, finisher=_finish)
        except FatalURLFetchingError as error:
            cause = error.__cause__
            if not isinstance(cause, ResourceRefused):
                raise PdfRenderError([f"リソースを読み込めませんでした: {error}"], [repr(cause)]) from cause
            pdf = None
    finally:
        if shared is not None:
            shared.lock.release()
        LOGGER.removeHandler(handler)

    for refused in fetcher.refused:
        if refused.not_found:
            reason = f"PDF用のファイルが見つかりません: {refused.url}"
        else:
            reason = f"PDF用のファイル以外のリソースは使えません: {refused.url}"
        problems.add(reason, f"refused {refused.url}: {refused.reason}")
    _examine(handler.records, problems)
    if pdf is not None:
        _check_fonts(document, font_config.declared_families, problems)
    if problems.reasons or pdf is None:
        raise PdfRenderError(problems.reasons or ["原因不明のエラーです"], problems.details)
    return pdf
