"""The checklist as data: an edition of the guideline is a template, not code.

This app knows nothing of organisations; `disclosures` links a sheet to its
`Checklist`.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.db import models
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history

from disclosure_portal.text_limits import (
    CHECKLIST_TEXT_MAX_LENGTH,
    CHECKLIST_TEXT_MAX_LINES,
    FREE_TEXT_MAX_LINES,
    PLANNED_TIME_MAX_LENGTH,
    TEMPLATE_TEXT_MAX_LENGTH,
    text_validators,
)
from disclosure_portal.validators import validate_printable

from .months import format_month, validate_month


class TemplateManager(models.Manager):
    def get_by_natural_key(self, code):
        return self.get(code=code)


class SectionManager(models.Manager):
    def get_by_natural_key(self, template_code, order):
        return self.get(template__code=template_code, order=order)


class NoteManager(models.Manager):
    def get_by_natural_key(self, template_code, number):
        return self.get(template__code=template_code, number=number)


class ItemManager(models.Manager):
    def get_by_natural_key(self, template_code, section_order, number):
        return self.get(section__template__code=template_code, section__order=section_order, number=number)


# Natural keys let the fixture be loaded again (load_example) without
# duplicating rows or overwriting templates an administrator added.


class ChecklistTemplate(models.Model):
    """One edition of 最低限のガイドライン遵守チェックリスト."""

    code = models.SlugField("識別子", max_length=50, unique=True)
    guideline_title = models.CharField(
        "ガイドライン名",
        max_length=200,
        validators=[validate_printable],
        help_text="例: 医療情報システムの安全管理に関するガイドライン 第2版",
    )
    title = models.CharField("様式名", max_length=200, validators=[validate_printable])
    preamble = models.TextField(
        "前文",
        max_length=TEMPLATE_TEXT_MAX_LENGTH,
        validators=[
            *text_validators(TEMPLATE_TEXT_MAX_LENGTH, FREE_TEXT_MAX_LINES),
            validate_printable,
        ],
        blank=True,
    )
    instructions = models.TextField(
        "記入上の注意",
        max_length=TEMPLATE_TEXT_MAX_LENGTH,
        validators=[
            *text_validators(TEMPLATE_TEXT_MAX_LENGTH, FREE_TEXT_MAX_LINES),
            validate_printable,
        ],
        blank=True,
        help_text="様式冒頭の「*」で始まる注意書き。1行に1つ。",
    )
    is_default = models.BooleanField(
        "新規の機関に使う",
        default=False,
        help_text="新しく登録する機関のチェックリストはこの様式で作られます。",
    )

    objects = TemplateManager()

    class Meta:
        verbose_name = "チェックリスト様式"
        verbose_name_plural = "チェックリスト様式"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="checklist_single_default_template",
            )
        ]

    def __str__(self):
        return f"{self.guideline_title} {self.title}"

    def natural_key(self):
        return (self.code,)

    def instruction_lines(self):
        return [line for line in self.instructions.splitlines() if line.strip()]


class Section(models.Model):
    """A heading of the checklist (組織的安全管理対策, …)."""

    template = models.ForeignKey(
        ChecklistTemplate,
        on_delete=models.CASCADE,
        related_name="sections",
        verbose_name="様式",
    )
    order = models.PositiveSmallIntegerField("順序")
    title = models.CharField("見出し", max_length=200, validators=[validate_printable])

    objects = SectionManager()

    class Meta:
        verbose_name = "区分"
        verbose_name_plural = "区分"
        ordering = ["template", "order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "order"], name="checklist_section_order_unique")
        ]

    def __str__(self):
        return self.title

    def natural_key(self):
        return (self.template.code, self.order)

    natural_key.dependencies = ["checklist.checklisttemplate"]


class Note(models.Model):
    """A note of the checklist (注1 … 注10), referred to by items."""

    template = models.ForeignKey(
        ChecklistTemplate,
        on_delete=models.CASCADE,
        related_name="notes",
        verbose_name="様式",
    )
    number = models.PositiveSmallIntegerField("注番号")
    text = models.TextField(
        "本文",
        max_length=CHECKLIST_TEXT_MAX_LENGTH,
        validators=[
            *text_validators(CHECKLIST_TEXT_MAX_LENGTH, CHECKLIST_TEXT_MAX_LINES),
            validate_printable,
        ],
    )

    objects = NoteManager()

    class Meta:
        verbose_name = "注"
        verbose_name_plural = "注"
        ordering = ["template", "number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="checklist_note_number_unique")
        ]

    def __str__(self):
        return f"注{self.number}"

    def natural_key(self):
        return (self.template.code, self.number)

    natural_key.dependencies = ["checklist.checklisttemplate"]


class Item(models.Model):
    """One チェック項目, numbered within its section."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="items", verbose_name="区分")
    number = models.PositiveSmallIntegerField("No")
    text = models.TextField(
        "チェック項目",
        max_length=CHECKLIST_TEXT_MAX_LENGTH,
        validators=[
            *text_validators(CHECKLIST_TEXT_MAX_LENGTH, CHECKLIST_TEXT_MAX_LINES),
            validate_printable,
        ],
        help_text="改行はそのまま改行として表示されます。",
    )
    sub_items = models.JSONField(
        "箇条書き",
        default=list,
        blank=True,
        help_text="本文の後に箇条書きで続く事項。",
    )
    note = models.ForeignKey(
        Note,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="items",
        verbose_name="注",
    )

    objects = ItemManager()

    class Meta:
        verbose_name = "チェック項目"
        verbose_name_plural = "チェック項目"
        ordering = ["section__template", "section__order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["section", "number"], name="checklist_item_number_unique")
        ]

    def __str__(self):
        return f"{self.section.title} {self.number}."

    def natural_key(self):
        return (self.section.template.code, self.section.order, self.number)

    natural_key.dependencies = ["checklist.section", "checklist.note"]

    def clean(self):
        if not isinstance(self.sub_items, list) or not all(
            isinstance(line, str) and line.strip() for line in self.sub_items
        ):
            raise ValidationError({"sub_items": "箇条書きは空でない文字列の一覧で入力してください。"})
        for line in self.sub_items:
            try:
                validate_printable(line)
            except ValidationError as error:
                raise ValidationError({"sub_items": error.messages}) from None
        if self.note_id and self.section_id and self.note.template_id != self.section.template_id:
            raise ValidationError({"note": "同じ様式の注を選んでください。"})


class Compliance(models.TextChoices):
    """ガイドラインの遵守 of the sheet (注8), always computed from a checklist."""

    COMPLIED = "complied", "最低限のガイドラインを遵守済"
    PLANNED = "planned", "最低限のガイドラインを遵守する予定"
    NOT_COMPLIED = "not_complied", "最低限のガイドラインを遵守していない"


class Checklist(models.Model):
    """A filled checklist: one answer per item of its template."""

    template = models.ForeignKey(
        ChecklistTemplate,
        on_delete=models.PROTECT,
        related_name="checklists",
        verbose_name="様式",
    )
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "チェックリスト"
        verbose_name_plural = "チェックリスト"
        ordering = ["pk"]

    def __str__(self):
        # Titled by the organisation's name, as the sheet that links to it gives it.
        try:
            return f"{self.sheet}のチェックリスト"
        except ObjectDoesNotExist:  # not (or no longer) attached to a sheet
            return f"{self.template.title}（代行機関なし）"

    @classmethod
    def create_for(cls, template):
        """A checklist with one unanswered answer per item of `template`."""
        checklist = cls.objects.create(template=template)
        checklist.add_missing_answers()
        return checklist

    def add_missing_answers(self):
        answered = self.answers.values_list("item_id", flat=True)
        missing = Item.objects.filter(section__template=self.template_id).exclude(pk__in=answered)
        # With history, so the audit trail starts at each answer's creation.
        bulk_create_with_history([Answer(checklist=self, item=item) for item in missing], Answer)

    def ordered_answers(self):
        if "answers" in getattr(self, "_prefetched_objects_cache", {}):
            # Prefetched with their items for a list of checklists: ordered here,
            # without a query per checklist.
            return sorted(self.answers.all(), key=lambda a: (a.item.section.order, a.item.number))
        return self.answers.select_related("item__section", "item__note").order_by(
            "item__section__order", "item__number"
        )

    def compliance(self, answers=None):
        """注8: all 実施済 → 遵守済; one or more 実施予定 → 遵守する予定.

        None while any item is unanswered: the status cannot be decided yet.
        """
        statuses = [a.status for a in (answers if answers is not None else self.answers.all())]
        return compliance_of(statuses)

    def schedule_problems(self, this_month, answers=None):
        """Each 実施予定 whose month has passed (before `this_month`) or that has no
        month, named as the diff names an item (区分 番号. 項目文)."""
        answers = answers if answers is not None else self.ordered_answers()
        return [
            f"{answer.item.section.title} {answer.item.number}. {answer.item.text}: {problem}"
            for answer in answers
            if (problem := answer.schedule_problem(this_month))
        ]

    def problems(self, answers=None):
        """Every reason this checklist cannot be published, in the form's order."""
        answers = list(answers if answers is not None else self.ordered_answers())
        problems = []
        if not answers:
            problems.append("チェック項目がありません。")
        for answer in answers:
            try:
                answer.full_clean(exclude=["checklist", "item"])
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    label = "" if field == NON_FIELD_ERRORS else Answer._meta.get_field(field).verbose_name
                    for message in messages:
                        # Name the field unless the message does (実施時期を記入してください).
                        named = message if not label or label in message else f"{label}: {message}"
                        problems.append(f"{answer.item.section.title} {answer.item.number}. {named}")
            if not answer.status:
                problems.append(
                    f"{answer.item.section.title} {answer.item.number}. "
                    "「実施済」か「実施予定」のどちらかを選んでください。"
                )
        return problems


def compliance_of(statuses):
    statuses = list(statuses)
    return compliance_from_counts(
        total=len(statuses),
        unanswered=sum(1 for status in statuses if not status),
        planned=sum(1 for status in statuses if status == Answer.Status.PLANNED),
    )


def compliance_from_counts(*, total, unanswered, planned):
    """注8 from counts of answers; None while the checklist is incomplete."""
    if total == 0 or unanswered:
        return None
    return Compliance.PLANNED if planned else Compliance.COMPLIED


class Answer(models.Model):
    class Status(models.TextChoices):
        DONE = "done", "実施済"
        PLANNED = "planned", "実施予定"

    checklist = models.ForeignKey(
        Checklist,
        on_delete=models.CASCADE,
        related_name="answers",
        verbose_name="チェックリスト",
    )
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, related_name="answers", verbose_name="チェック項目"
    )
    status = models.CharField("実施状況", max_length=10, choices=Status.choices, blank=True)
    planned_time = models.DateField(
        "実施時期",
        null=True,
        blank=True,
        help_text="「実施予定」を選択した場合は、実施予定時期を明記すること。年月で入力します（例: 2027年3月）。",
        validators=[validate_month],  # the first day of the month
    )
    # What was typed before 実施時期 became a month, when it named no single month
    # (未定, 2027年度 …): kept for staff to replace with a month; never published.
    planned_time_text = models.CharField(
        "実施時期（年月に変換できなかった記入）",
        max_length=PLANNED_TIME_MAX_LENGTH,
        blank=True,
        validators=[validate_printable],
    )
    history = HistoricalRecords(verbose_name="回答の変更履歴")

    class Meta:
        verbose_name = "回答"
        verbose_name_plural = "回答"
        ordering = ["checklist", "item__section__order", "item__number"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "item"], name="checklist_one_answer_per_item")
        ]

    def __str__(self):
        return f"{self.item}: {self.get_status_display() or '未回答'}"

    @property
    def planned_time_display(self):
        """実施時期 as the form writes it: 「2027年3月」, or the unconverted text."""
        return planned_time_display(self.planned_time, self.planned_time_text)

    def clean(self):
        self.planned_time_text = self.planned_time_text.strip()
        if self.status == self.Status.PLANNED and not (self.planned_time or self.planned_time_text):
            raise ValidationError(
                {"planned_time": "「実施予定」を選択した場合は、実施時期を記入してください。"}
            )
        if self.status == self.Status.DONE and (self.planned_time or self.planned_time_text):
            raise ValidationError(
                {"planned_time": "実施時期は「実施予定」を選択した場合にだけ記入してください。"}
            )

    def schedule_problem(self, this_month):
        """Why this 実施予定 cannot be published in `this_month` (its first day), or None."""
        if self.status != self.Status.PLANNED:
            return None
        if self.planned_time is None:
            # Without any 実施時期, full_clean() already says 「実施時期を記入してください」.
            if self.planned_time_text:
                return (
                    f"実施時期「{self.planned_time_text}」が年月ではありません。"
                    "「実施済」にするか、実施時期を年月で入力してください。"
                )
            return None
        if self.planned_time < this_month:
            return (
                f"実施予定の実施時期（{format_month(self.planned_time)}）が過ぎています。"
                "「実施済」にするか、新しい実施時期を入力してください。"
            )
        return None


def planned_time_display(month, text=""):
    return format_month(month) if month else text
