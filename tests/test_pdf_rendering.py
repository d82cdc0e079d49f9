"""disclosures.pdf.harness: auditors' PDFs with the shipped Japanese fonts, PDF/A-3b, no network.

The rendering tests read the PDF back with pypdf (and pdffonts where poppler-utils is
installed), so they prove what a reader of the file gets, not what WeasyPrint was asked.
"""

import datetime
import functools
import io
import logging
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from disclosures.pdf import ASSETS_DIR
from disclosures.pdf.harness import (
    PdfRenderError,
    ResourceRefused,
    asset_url_fetcher,
    pdf_sha256,
    render_pdf,
)

ROOT = Path(__file__).resolve().parent.parent
FONTS = ASSETS_DIR / "fonts"

LABELS = ["事業運営上開示すべき重要事項の概要", "代行機関の名称", "最低限のガイドライン遵守状況"]
RARE = ["髙", "﨑", "𠮷", "德", "神", "≒", "①", "𠀋", "𡈽", "俱", "剝", "Ⅱ", "㈱", "〜"]
CREATED = datetime.datetime(2025, 4, 1, 10, 30, 15, tzinfo=ZoneInfo("Asia/Tokyo"))
META = {
    "title": "事業運営上開示すべき重要事項の概要（テスト機関）",
    "author": "株式会社髙﨑テスト",
    "subject": "代行機関の開示資料",
    "keywords": "開示, 代行機関",
    "created": CREATED,
}

# The font stack that covers every character above (≒ comes from the fallback).
SHIPPED_FONTS = {
    "Portal Sans JP 400": FONTS / "NotoSansJP-Regular.ttf",
    "Portal Sans JP 700": FONTS / "NotoSansJP-Bold.ttf",
    "Portal Fallback JP 400": FONTS / "BIZUDPGothic-Regular.ttf",
    "Portal Fallback JP 700": FONTS / "BIZUDPGothic-Bold.ttf",
}


@functools.cache
def cmap(name):
    """Code points of a shipped font (read once: the cmaps of CJK fonts are large)."""
    return frozenset(TTFont(SHIPPED_FONTS[name], lazy=True).getBestCmap())


def document(body, head=""):
    return f"""<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>テスト</title>
<link rel="stylesheet" href="css/pdf-fonts.css">
<style>
  @page {{ size: A4; margin: 20mm 15mm; }}
  body {{ font-family: "Portal Sans JP", "Portal Fallback JP"; font-size: 10.5pt; }}
  table {{ border-collapse: collapse; width: 100%; }}
  th, td {{ border: 0.5pt solid #333; padding: 2mm; vertical-align: top; }}
  th {{ font-weight: 700; background: #eee; }}
</style>
{head}
</head>
<body>
{body}
</body>
</html>"""


def sample_document():
    return document(
        f"""
<h1>{LABELS[0]}</h1>
<table>
  <tr><th>{LABELS[1]}</th><td>株式会社髙橋﨑データ ㈱𠮷野家德神 Ⅱ</td></tr>
  <tr><th>{LABELS[2]}</th><td>① 実施済 〜 2025年度 売上高≒1億円 𠀋𡈽俱剝</td></tr>
</table>
<p><strong>太字の≒と髙﨑</strong></p>
"""
    )


def table_document(rows=60):
    """About four A4 pages of a Japanese table, the shape of the checklist PDF."""
    body_rows = "\n".join(
        f"<tr><td>{n}</td><td>区分{n % 7 + 1}</td>"
        f"<td>医療情報システムの安全管理に関するガイドラインの項目{n}：アクセス権限を見直し、"
        f"髙﨑𠮷德神の記録を残す（≒①Ⅱ㈱〜）</td><td>{'実施済' if n % 3 else '実施予定'}</td></tr>"
        for n in range(1, rows + 1)
    )
    return document(
        f"""
<h1>最低限のガイドライン遵守チェックリスト</h1>
<table>
<colgroup><col style="width: 12mm"><col style="width: 18mm"><col><col style="width: 22mm"></colgroup>
<thead><tr><th>番号</th><th>区分</th><th>項目</th><th>状況</th></tr></thead>
<tbody>
{body_rows}
</tbody>
</table>
"""
    )


def render(html, **overrides):
    return render_pdf(html, **{"assets_dir": ASSETS_DIR, **META, **overrides})


@pytest.fixture(scope="module")
def sample_pdf():
    return render(sample_document())


@pytest.fixture(scope="module")
def reader(sample_pdf):
    return PdfReader(io.BytesIO(sample_pdf))


def font_dicts(pdf_reader):
    """Every font dictionary used by the pages (descendant CID fonts included)."""
    fonts = []
    for page in pdf_reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.append(font)
            fonts.extend(d.get_object() for d in font.get("/DescendantFonts", []))
    return fonts


# --------------------------------------------------------------- shipped fonts


def test_shipped_fonts_have_their_licences_beside_them():
    for name in ("OFL-NotoSansJP.txt", "OFL-BIZUDPGothic.txt"):
        text = (FONTS / name).read_text(encoding="utf-8")
        assert "SIL OPEN FONT LICENSE Version 1.1" in text
    assert "Adobe" in (FONTS / "OFL-NotoSansJP.txt").read_text(encoding="utf-8")
    assert "BIZ UDGothic Project Authors" in (FONTS / "OFL-BIZUDPGothic.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("char", RARE + ["—"])
def test_font_stack_covers_rare_character_in_both_weights(char):
    for weight in ("400", "700"):
        stack = [name for name in SHIPPED_FONTS if name.endswith(weight)]
        assert any(ord(char) in cmap(name) for name in stack), (char, weight)


def test_noto_lacks_nearly_equal_sign_which_the_fallback_font_has():
    """Why "Portal Fallback JP" is in the stack at all."""
    assert 0x2252 not in cmap("Portal Sans JP 400")
    assert 0x2252 in cmap("Portal Fallback JP 400")


def test_pdf_fonts_css_declares_both_families_with_relative_urls():
    css = (ASSETS_DIR / "css" / "pdf-fonts.css").read_text(encoding="utf-8")
    # The "Portal Sans JP Variant N" rules (tests/test_pdf_layout.py) aside.
    css = css.split("/* Generated by scripts/pdf_font_variants.py")[0]
    urls = re.findall(r'url\("([^"]+)"\)', css)
    assert sorted(urls) == sorted(f"../fonts/{path.name}" for path in SHIPPED_FONTS.values())
    faces = re.findall(r"@font-face\s*\{([^}]*)\}", css)
    families = [re.search(r'font-family:\s*"([^"]+)"', face)[1] for face in faces]
    weights = [re.search(r"font-weight:\s*(\d+)", face)[1] for face in faces]
    assert sorted(zip(families, weights, strict=True)) == [
        ("Portal Fallback JP", "400"),
        ("Portal Fallback JP", "700"),
        ("Portal Sans JP", "400"),
        ("Portal Sans JP", "700"),
    ]


# ------------------------------------------------------------------ the PDF


def test_fonts_are_embedded_and_subset(reader):
    fonts = font_dicts(reader)
    base_fonts = {str(font["/BaseFont"]) for font in fonts if font.get("/Subtype") == "/Type0"}
    assert base_fonts, "no font in the PDF"
    for name in base_fonts:
        assert re.fullmatch(r"/[A-Z]{6}\+Portal-(Sans|Fallback)-JP(-Bold)?", name), name
    # Regular, bold, and the fallback for ≒ (in regular and bold).
    assert {re.sub(r"^/[A-Z]{6}\+", "", name) for name in base_fonts} == {
        "Portal-Sans-JP",
        "Portal-Sans-JP-Bold",
        "Portal-Fallback-JP",
        "Portal-Fallback-JP-Bold",
    }
    descriptors = [font["/FontDescriptor"].get_object() for font in fonts if "/FontDescriptor" in font]
    assert descriptors and all("/FontFile2" in d for d in descriptors)


def test_subset_fonts_keep_the_pdf_small(sample_pdf):
    # The four TTF files weigh 20 MB; subset, a one-page PDF stays far below 100 KB.
    assert len(sample_pdf) < 100_000


def test_extracted_text_contains_labels_and_every_rare_character(reader):
    text = "".join(page.extract_text() for page in reader.pages)
    for label in LABELS:
        assert label in text
    for char in RARE:
        assert char in text, f"{char} (U+{ord(char):04X}) missing from the extracted text"
    assert "髙橋﨑" in text and "𠮷野家" in text


def test_metadata_title_author_subject_keywords(reader):
    info = reader.metadata
    assert info.title == META["title"]
    assert info.author == META["author"]
    assert info.subject == META["subject"]
    assert info["/Keywords"] == "開示, 代行機関"
    assert info["/Producer"].startswith("WeasyPrint")


def test_creation_and_modification_dates_are_created(reader):
    assert reader.metadata["/CreationDate"] == "D:20250401103015+09'00"
    assert reader.metadata.creation_date == CREATED
    assert reader.metadata.modification_date == CREATED


def test_naive_created_is_taken_in_the_current_time_zone():
    pdf = render(sample_document(), created=datetime.datetime(2025, 4, 1, 10, 30, 15))
    assert PdfReader(io.BytesIO(pdf)).metadata.creation_date == CREATED  # TIME_ZONE=Asia/Tokyo


def test_xmp_declares_pdf_a_3b_and_repeats_the_metadata(reader):
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    assert META["title"] in xmp and META["author"] in xmp
    assert "<xmp:CreateDate>2025-04-01T10:30:15+09:00</xmp:CreateDate>" in xmp
    # PDF/A also asks for an output intent and a file identifier.
    assert "/OutputIntents" in reader.trailer["/Root"]
    assert "/ID" in reader.trailer
    assert reader.pdf_header == "%PDF-1.7"


def test_document_language_is_ja(reader):
    assert reader.trailer["/Root"]["/Lang"] == "ja"


def test_page_is_a4(reader):
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_pdffonts_shows_every_font_embedded_and_subset(sample_pdf, tmp_path):
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (Debian poppler-utils) is not on PATH")
    path = tmp_path / "sample.pdf"
    path.write_bytes(sample_pdf)
    output = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    lines = output.splitlines()[2:]  # after the header and the dashes
    assert len(lines) == 4, output
    for line in lines:
        assert re.search(r"Identity-H\s+yes\s+yes\s+yes", line), line  # emb sub uni


def test_multi_page_table_renders_with_shipped_fonts_only():
    pdf = render(table_document())
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 4
    text = reader.pages[-1].extract_text()
    assert "番号" in text  # the table header repeats on every page
    assert "≒" in text and "𠮷" in text


def test_pdf_sha256_is_the_hex_digest():
    assert pdf_sha256(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert len(pdf_sha256(b"%PDF-1.7")) == 64


# ------------------------------------------------------------- assets


def test_stylesheet_and_its_relative_font_urls_resolve_in_a_copy_of_the_assets(tmp_path):
    """The harness is generic: any directory of assets, its relative URLs resolving inside."""
    copy = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, copy)
    pdf = render(document("<p>髙﨑≒</p>"), assets_dir=copy)
    names = {str(f.get("/BaseFont")) for f in font_dicts(PdfReader(io.BytesIO(pdf)))}
    assert any("Portal-Sans-JP" in name for name in names), names
    assert any("Portal-Fallback-JP" in name for name in names), names


# --------------------------------------------------------- refused resources


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly (and record) on any attempt to resolve or connect."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access during PDF rendering: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.parametrize(
    "body",
    [
        '<img src="http://example.com/x.png">',
        '<img src="https://example.com/x.png">',
        '<link rel="stylesheet" href="https://example.com/x.css">',
        '<p style="background: url(http://example.com/bg.png)">背景</p>',
    ],
)
def test_remote_resources_are_refused_without_touching_the_network(body, no_network):
    with pytest.raises(PdfRenderError) as raised:
        render(document(body))
    assert "example.com" in raised.value.message
    assert no_network == []


def test_remote_font_face_is_refused(no_network):
    head = (
        '<style>@font-face { font-family: "Remote"; src: url("https://example.com/f.ttf"); }'
        'p { font-family: "Remote", "Portal Sans JP"; }</style>'
    )
    with pytest.raises(PdfRenderError):
        render(document("<p>本文</p>", head=head))
    assert no_network == []


def test_stylesheet_outside_the_assets_is_refused(tmp_path):
    outside = tmp_path / "evil.css"
    outside.write_text("body { color: red; }", encoding="utf-8")
    for href in (
        outside.as_uri(),
        "/etc/passwd",
        "file:///etc/passwd",
        "../../../../pyproject.toml",
        "/static/css/portal.css",
        (ROOT / "static" / "css" / "portal.css").as_uri(),  # a public static file: not the PDF's
    ):
        html = document("<p>本文</p>", head=f'<link rel="stylesheet" href="{href}">')
        with pytest.raises(PdfRenderError) as raised:
            render(html)
        assert "PDF用のファイル以外のリソースは使えません" in raised.value.message


def test_missing_asset_is_refused():
    html = document('<img src="img/no-such-file.png">')
    with pytest.raises(PdfRenderError) as raised:
        render(html)
    assert (
        f"PDF用のファイルが見つかりません: {ASSETS_DIR.as_uri()}/img/no-such-file.png" in raised.value.message
    )


def test_data_url_image_is_allowed():
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    )
    pdf = render(document(f'<p>画像 <img src="{png}" alt="1画素の画像" width="10" height="10"></p>'))
    assert pdf.startswith(b"%PDF-")


# ------------------------------------------------------------ the fetcher


def test_fetcher_is_a_weasyprint_url_fetcher():
    from weasyprint.urls import URLFetcher

    assert isinstance(asset_url_fetcher(ASSETS_DIR), URLFetcher)


@pytest.mark.parametrize(
    "url",
    [
        (ASSETS_DIR / "css" / "pdf-fonts.css").as_uri(),
        "file://localhost" + (ASSETS_DIR / "css" / "pdf-fonts.css").as_posix(),
        f"{ASSETS_DIR.as_uri()}/fonts/../css/pdf-fonts.css",  # ".." that stays inside
    ],
)
def test_fetcher_serves_the_stylesheet_as_text_css(url):
    response = asset_url_fetcher(ASSETS_DIR).fetch(url)
    assert response.content_type == "text/css"
    assert b"Portal Sans JP" in response.read()
    assert response.url == url  # relative url(...) inside resolves against it


def test_fetcher_serves_a_font_of_the_assets():
    response = asset_url_fetcher(ASSETS_DIR).fetch((FONTS / "NotoSansJP-Regular.ttf").as_uri() + "?v=1#x")
    assert response.read() == (FONTS / "NotoSansJP-Regular.ttf").read_bytes()


def test_fetcher_serves_data_urls():
    response = asset_url_fetcher(ASSETS_DIR).fetch("data:text/plain;charset=utf-8,%E9%AB%99")
    assert response.read().decode("utf-8") == "髙"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.png",
        "https://example.com/static/css/pdf-fonts.css",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "file:///static/css/pdf-fonts.css",  # a static URL: the renderer has none
        f"file://{ROOT}/static/css/portal.css",  # a public static file
        f"{ASSETS_DIR.as_uri()}/../../../pyproject.toml",
        f"{ASSETS_DIR.as_uri()}/css/%2e%2e/%2e%2e/harness.py",
        f"{ASSETS_DIR.as_uri()}/css/no-such.css",
        f"{ASSETS_DIR.as_uri()}/css",  # a directory
        "file://static/css/pdf-fonts.css",  # host "static"
        f"file://{ROOT}/pyproject.toml",
        f"{ASSETS_DIR.as_uri()}/css/%00pdf.css",
    ],
)
def test_fetcher_refuses_anything_but_the_assets(url, no_network):
    fetcher = asset_url_fetcher(ASSETS_DIR)
    with pytest.raises(ResourceRefused):
        fetcher.fetch(url)
    assert [refused.url for refused in fetcher.refused] == [url]
    assert no_network == []


def test_fetcher_refuses_a_symlink_in_the_assets_that_leads_outside(tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "leak.txt").symlink_to(ROOT / "pyproject.toml")
    (assets / "fine.txt").write_text("ok", encoding="utf-8")
    fetcher = asset_url_fetcher(assets)
    assert fetcher.fetch((assets / "fine.txt").as_uri()).read() == b"ok"
    with pytest.raises(ResourceRefused):
        fetcher.fetch((assets / "leak.txt").as_uri())


# ---------------------------------------------- missing glyphs never pass silently


def test_character_in_no_shipped_font_raises_because_of_notdef():
    char = "\U0010fffd"  # plane-16 private use: in no font at all
    for name in SHIPPED_FONTS:
        assert ord(char) not in cmap(name)
    with pytest.raises(PdfRenderError) as raised:
        render(document(f"<p>髙橋{char}</p>"))
    assert "同梱フォントにない文字があります" in raised.value.message
    assert "U+10FFFD" in raised.value.message
    assert any(".notdef" in line for line in raised.value.details)


def test_character_only_a_machine_font_has_raises():
    """😀 is in no shipped font; DejaVu Sans (installed here) would draw it silently."""
    with pytest.raises(PdfRenderError) as raised:
        render(document("<p>笑顔😀</p>"))
    assert "U+1F600" in raised.value.message


def test_text_without_the_shipped_fonts_raises():
    html = document("<p>本文</p>").replace('<link rel="stylesheet" href="css/pdf-fonts.css">', "")
    with pytest.raises(PdfRenderError, match="同梱フォント"):
        render(html)


def test_font_face_that_cannot_be_loaded_raises():
    head = (
        '<style>@font-face { font-family: "Broken"; src: url("css/pdf-fonts.css"); }'
        'p { font-family: "Broken", "Portal Sans JP"; }</style>'
    )
    with pytest.raises(PdfRenderError, match="フォント「Broken」を読み込めませんでした"):
        render(document("<p>本文</p>", head=head))


def test_missing_glyph_raises_even_if_weasyprint_warnings_are_silenced():
    logger = logging.getLogger("weasyprint")
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.ERROR)
    logger.disabled = True
    try:
        with pytest.raises(PdfRenderError, match="U\\+10FFFD"):
            render(document("<p>\U0010fffd</p>"))
    finally:
        logger.setLevel(level)
        logger.disabled = disabled


def test_error_carries_a_japanese_message():
    with pytest.raises(PdfRenderError) as raised:
        render(document('<img src="http://example.com/x.png">'))
    error = raised.value
    assert error.message.startswith("PDFを作成できませんでした。")
    assert error.message in str(error)


# ------------------------------------------------------------------ start-up


def test_importing_the_package_does_not_import_weasyprint():
    code = "import sys, disclosures.pdf.harness, disclosures.pdf.fonts; sys.exit('weasyprint' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
