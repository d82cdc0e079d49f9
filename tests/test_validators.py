"""The printable-text rule is a validator on the fields (disclosure_portal/validators.py),
built on what the PDF's embedded fonts cover (disclosures/pdf/fonts.py)."""

import pytest
from django.core.exceptions import ValidationError

from checklist.models import Answer
from disclosure_portal.validators import validate_printable
from disclosures.pdf.fonts import unprintable_characters


def test_the_printable_rule_is_the_embedded_fonts_coverage():
    assert unprintable_characters("髙﨑𠮷≒〜～😀\U0010fffd") == ["😀", "\U0010fffd"]
    validate_printable("株式会社髙﨑 𠮷野家 ≒ ①")
    with pytest.raises(ValidationError) as raised:
        validate_printable("予定😀")
    assert raised.value.code == "unprintable"
    assert "😀(U+1F600)" in raised.value.messages[0]


def test_planned_time_refuses_unprintable_text_by_its_field_validator():
    """実施時期 has the rule as a field validator, so every full_clean() (admin form,
    loaders, publish()) refuses it alike, without a loop of its own."""
    assert validate_printable in Answer._meta.get_field("planned_time_text").validators
    answer = Answer(status=Answer.Status.PLANNED, planned_time_text="2027年3月😀")
    with pytest.raises(ValidationError) as raised:
        answer.clean_fields(exclude=["checklist", "item"])
    assert list(raised.value.message_dict) == ["planned_time_text"]
    assert "PDFに印字できない文字" in raised.value.message_dict["planned_time_text"][0]
    answer = Answer(status=Answer.Status.PLANNED, planned_time_text="2027年3月\u202e")
    with pytest.raises(ValidationError, match="制御文字"):
        answer.clean_fields(exclude=["checklist", "item"])
