"""What the PDF's embedded fonts can print, and the glyph-sharing variant fonts.

The source of the printable-text rule (``disclosure_portal.validators.validate_printable``):
a character none of the embedded fonts has cannot be printed, so it is refused when it
is typed. fontTools (a WeasyPrint dependency, declared in pyproject.toml as it is
imported here) reads the fonts' character maps, once per process.
"""

import functools
import re

from . import ASSETS_DIR

# The fonts the PDF embeds (assets/css/pdf-fonts.css), relative to ASSETS_DIR. A character
# none of them has cannot be printed: the sheet refuses it when it is typed, not at publish.
EMBEDDED_FONTS = ("fonts/NotoSansJP-Regular.ttf", "fonts/BIZUDPGothic-Regular.ttf")


@functools.cache
def printable_code_points() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    points = set()
    for name in EMBEDDED_FONTS:
        points.update(TTFont(ASSETS_DIR / name, lazy=True).getBestCmap())
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
# holding only those code points (assets/fonts/NotoSansJP-VariantN-*.ttf, made by
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

    from fontTools.ttLib import TTFont

    levels = defaultdict(set)
    for name in SHARING_FONTS.values():
        by_glyph = defaultdict(list)
        for code_point, glyph in TTFont(ASSETS_DIR / name, lazy=True).getBestCmap().items():
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
