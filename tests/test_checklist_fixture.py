"""The checklist_guideline_v2 fixture holds the official checklist exactly as in the seed.

The seed file is read independently here, so a mistake in the fixture cannot
hide behind the same mistake in the test.
"""

import re
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command

from checklist.models import ChecklistTemplate, Item, Note, Section

pytestmark = pytest.mark.django_db

SEED_FILE = Path(__file__).resolve().parent.parent / "fixtures/seed/disclosure-sheet-and-checklist.txt"
CHECKLIST_START = "別添 医療情報システムの安全管理に関するガイドライン 第2版"

SECTION_TITLES = [
    "組織的安全管理対策",
    "物理的安全管理対策",
    "技術的安全管理対策",
    "人的安全対策(従業者に対する人的安全管理措置)",
    "人的安全対策(事務取扱委託業者の監督及び守秘義務契約)",
    "情報の破棄",
    "情報システムの改造と保守",
    "災害等の非常時の対応",
    "外部と個人情報を含む医療情報を交換する場合の安全管理",
]
ITEM_COUNTS = [5, 7, 9, 3, 4, 4, 9, 6, 9]

# A table row of the seed: "6.<TAB>text ^{注4)}<TAB>■<TAB>□()"
ITEM_ROW = re.compile(r"^(\d+)\.\t(.*)\t■\t□\(\)$")
NOTE_MARKER = re.compile(r"\^\{注(\d+)\)\}")
HTML_TAG = re.compile(r"<[^>]*>")


# --- reading the seed -------------------------------------------------------


def seed_checklist_lines():
    """Non-blank lines of the checklist part of the seed (the sheet part has its own 注)."""
    text = SEED_FILE.read_text(encoding="utf-8")
    checklist = text[text.index(CHECKLIST_START) :]
    return [line for line in checklist.split("\n") if line.strip()]


def seed_item_rows():
    """{(section title, item number): row text} for every item row of the seed."""
    rows = {}
    section = None
    for line in seed_checklist_lines():
        if line in SECTION_TITLES:
            section = line
        match = ITEM_ROW.match(line)
        if match:
            rows[(section, int(match.group(1)))] = match.group(2)
    return rows


def seed_note_references():
    """{(section title, item number): note number or None}, from the ^{注N)} markers."""
    references = {}
    for key, row in seed_item_rows().items():
        match = NOTE_MARKER.search(row)
        references[key] = int(match.group(1)) if match else None
    return references


def seed_row_as_plain_words(row):
    """The row without HTML tags and ^{注N)} markers, whitespace collapsed to single spaces."""
    return " ".join(NOTE_MARKER.sub("", HTML_TAG.sub("", row)).split())


def seed_line_starting_with(prefix):
    matches = [line for line in seed_checklist_lines() if line.startswith(prefix)]
    assert len(matches) == 1, f"expected one seed line starting with {prefix!r}, found {matches}"
    return matches[0]


# --- reading the database ---------------------------------------------------


@pytest.fixture
def template():
    call_command("loaddata", "checklist_guideline_v2", verbosity=0)
    return ChecklistTemplate.objects.get(code="guideline-v2")


def all_items(template):
    return Item.objects.filter(section__template=template).select_related("section", "note")


def item_key(item):
    return (item.section.title, item.number)


# --- tests ------------------------------------------------------------------


def test_template_preamble_is_the_seed_sentence(template):
    assert template.preamble == seed_line_starting_with("本遵守チェックリストは、")


def test_template_instructions_are_the_two_seed_lines(template):
    assert template.instruction_lines() == [
        seed_line_starting_with("*代行機関の業務を実施する者は"),
        seed_line_starting_with("*選択肢の項目については、「実施済」"),
    ]


def test_template_is_the_default_second_edition(template):
    assert template.guideline_title == "医療情報システムの安全管理に関するガイドライン 第2版"
    assert template.title == "最低限のガイドライン遵守チェックリスト"
    assert template.is_default


def test_sections_are_the_nine_seed_titles_in_order(template):
    titles = list(template.sections.order_by("order").values_list("title", flat=True))
    assert titles == SECTION_TITLES
    assert [title for title in seed_checklist_lines() if title in SECTION_TITLES] == SECTION_TITLES


def test_split_tables_count_as_one_section_with_items_per_section_as_in_seed(template):
    fixture_counts = Counter(item.section.title for item in all_items(template))
    seed_counts = Counter(section for section, _number in seed_item_rows())
    assert [fixture_counts[title] for title in SECTION_TITLES] == ITEM_COUNTS
    assert [seed_counts[title] for title in SECTION_TITLES] == ITEM_COUNTS
    assert sum(fixture_counts.values()) == 56


def test_items_are_numbered_as_in_seed(template):
    assert sorted(item_key(item) for item in all_items(template)) == sorted(seed_item_rows())


def test_item_text_occurs_verbatim_in_its_seed_row(template):
    rows = seed_item_rows()
    for item in all_items(template):
        row = rows[item_key(item)]
        for line in item.text.split("\n"):
            assert line and line in row, (item_key(item), line)


def test_item_text_and_sub_items_together_are_the_whole_seed_row(template):
    rows = seed_item_rows()
    for item in all_items(template):
        fixture_words = " ".join([*item.text.split("\n"), *item.sub_items])
        assert fixture_words == seed_row_as_plain_words(rows[item_key(item)]), item_key(item)


def test_organisational_item_5_keeps_a_and_b_parts_as_separate_lines(template):
    item = Item.objects.get(section__template=template, section__order=1, number=5)
    assert item.text.split("\n") == [
        "運用管理規程等において次の内容を定めている。",
        "(a) 個人情報の記録媒体の管理(保管・授受等)の方法",
        "(b) リスクに対する予防、発生時の対応の方法",
    ]


def test_sub_items_occur_verbatim_and_in_order_in_their_seed_row(template):
    rows = seed_item_rows()
    items_with_sub_items = [item for item in all_items(template) if item.sub_items]
    assert {item_key(item): len(item.sub_items) for item in items_with_sub_items} == {
        (SECTION_TITLES[8], 6): 9,
        (SECTION_TITLES[8], 7): 5,
    }
    for item in items_with_sub_items:
        row = rows[item_key(item)]
        for sub_item in item.sub_items:
            assert sub_item and sub_item in row, (item_key(item), sub_item)
        # The seed flattens the list with spaces: nothing is lost or reordered.
        assert " ".join(item.sub_items) in row, item_key(item)


def test_no_html_tags_note_markers_or_answer_columns_remain(template):
    texts = [template.preamble, template.instructions]
    texts += [note.text for note in template.notes.all()]
    for item in all_items(template):
        texts.append(item.text)
        texts.extend(item.sub_items)
    for text in texts:
        assert not HTML_TAG.search(text), text
        assert not NOTE_MARKER.search(text), text
    for item in all_items(template):
        assert "■" not in item.text and "□" not in item.text, item_key(item)


def test_note_texts_follow_their_number_in_seed(template):
    notes = list(template.notes.order_by("number"))
    assert [note.number for note in notes] == list(range(1, 11))
    for note in notes:
        line = seed_line_starting_with(f"注{note.number}:")
        assert note.text == line.removeprefix(f"注{note.number}:").strip()


def test_items_reference_notes_where_seed_has_note_markers(template):
    fixture_references = {
        item_key(item): item.note.number if item.note else None for item in all_items(template)
    }
    assert fixture_references == seed_note_references()
    # e.g. 技術的安全管理対策 items 2, 4, 5, 7, 9 → 注1 … 注5
    technical = {
        number: note
        for (section, number), note in fixture_references.items()
        if section == "技術的安全管理対策" and note
    }
    assert technical == {2: 1, 4: 2, 5: 3, 7: 4, 9: 5}


def test_loading_fixture_twice_does_not_duplicate(template):
    call_command("loaddata", "checklist_guideline_v2", verbosity=0)
    assert ChecklistTemplate.objects.count() == 1
    assert Section.objects.count() == 9
    assert Note.objects.count() == 10
    assert Item.objects.count() == 56
