"""The rule every typed text obeys, in both apps: it must print in the auditors' PDF.

Used as a model field validator by the sheet, the organisation's name, the
checklist answers and the checklist templates (guideline editions typed by a
superuser), so that the admin, loaders and publish() refuse the same characters
with the same Japanese message. What prints is what the PDF's embedded fonts cover
(``disclosures.pdf.fonts``, which imports nothing of the project: no import cycle).
"""

import unicodedata

from django.core.exceptions import ValidationError

from disclosures.pdf.fonts import unprintable_characters


def validate_no_control_characters(value):
    """No control or invisible format characters (they break XML feeds and PDFs)."""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") and c not in "\n\r\t" for c in value):
        raise ValidationError("制御文字など表示できない文字が含まれています。", code="control_character")


def validate_printable(value):
    """Text must be printable in the auditors' PDF: no control characters, and
    only characters the embedded fonts have (髙 and 𠮷 are, emoji are not)."""
    validate_no_control_characters(value)
    unprintable = unprintable_characters(value)
    if unprintable:
        raise ValidationError(
            "PDFに印字できない文字が含まれています（絵文字など）: %(chars)s",
            code="unprintable",
            params={"chars": " ".join(f"{c}(U+{ord(c):04X})" for c in unprintable[:10])},
        )
