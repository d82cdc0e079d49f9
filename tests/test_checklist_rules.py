"""Checklist answers and the sheet's ガイドラインの遵守 (注8), computed, never typed."""

import pytest
from django.core.exceptions import ValidationError

from checklist.models import Answer, Checklist, Compliance

from .factories import answer_all, make_template, month

pytestmark = pytest.mark.django_db


def test_planned_answer_needs_its_time(sheet):
    answer = sheet.checklist.answers.first()
    answer.status = Answer.Status.PLANNED
    with pytest.raises(ValidationError) as error:
        answer.full_clean()
    assert "実施時期を記入してください" in error.value.message_dict["planned_time"][0]


def test_planned_time_of_only_spaces_counts_as_missing(sheet):
    answer = sheet.checklist.answers.first()
    answer.status, answer.planned_time_text = Answer.Status.PLANNED, "\u3000 "
    with pytest.raises(ValidationError):
        answer.full_clean()


def test_done_answer_takes_no_time(sheet):
    answer = sheet.checklist.answers.first()
    answer.planned_time = month(2027, 3)
    with pytest.raises(ValidationError):
        answer.full_clean()


def test_all_done_means_complied(sheet):
    assert sheet.guideline_compliance() == Compliance.COMPLIED


def test_one_planned_means_planned_to_comply(sheet):
    answer = sheet.checklist.answers.last()
    answer.status, answer.planned_time = Answer.Status.PLANNED, month(2027, 3)
    answer.save()
    assert sheet.guideline_compliance() == Compliance.PLANNED


def test_unanswered_item_leaves_compliance_undecided(sheet):
    answer = sheet.checklist.answers.first()
    answer.status = ""
    answer.save()
    assert sheet.guideline_compliance() is None
    assert any("どちらかを選んでください" in p for p in sheet.checklist.problems())


def test_new_checklist_has_one_unanswered_answer_per_item(db):
    template = make_template("t", sections=3, items_per_section=4)
    checklist = Checklist.create_for(template)
    assert checklist.answers.count() == 12
    assert set(checklist.answers.values_list("status", flat=True)) == {""}


def test_item_added_later_is_answered_once(db):
    template = make_template("t", sections=1, items_per_section=2)
    checklist = Checklist.create_for(template)
    section = template.sections.get()
    section.items.create(number=3, text="追加項目")
    checklist.add_missing_answers()
    checklist.add_missing_answers()
    assert checklist.answers.count() == 3


def test_problems_list_every_invalid_answer_in_form_order(sheet):
    answer_all(sheet.checklist, Answer.Status.PLANNED)
    problems = sheet.checklist.problems()
    assert len(problems) == 56
    assert problems[0].startswith("組織的安全管理対策 1.")
