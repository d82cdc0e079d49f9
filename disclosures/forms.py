import datetime

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils import timezone

from checklist.models import Answer
from checklist.months import parse_month_input
from disclosure_portal.text_limits import CHANGE_NOTE_MAX_LENGTH, FREE_TEXT_MAX_LINES, MaxLinesValidator

from .layout import field_label
from .models import DisclosureSheet, PublicationRequest, validate_no_control_characters


class SingleChoiceRadioSelect(forms.RadioSelect):
    """Radio buttons that hand every submitted value to the field, so that a
    request carrying two values (a tampered form, a script) is refused instead of
    silently keeping the last one."""

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None)
        if getlist is None:
            value = data.get(name)
            return [] if value in (None, "") else [value] if isinstance(value, str) else list(value)
        return getlist(name)


class ExactlyOneChoiceField(forms.ChoiceField):
    widget = SingleChoiceRadioSelect

    def __init__(self, *, too_many_message, **kwargs):
        self.too_many_message = too_many_message
        super().__init__(**kwargs)

    def to_python(self, value):
        values = [v for v in (value or []) if v not in self.empty_values]
        if len(values) > 1:
            raise forms.ValidationError(self.too_many_message, code="too_many")
        return super().to_python(values[0] if values else "")


class DisclosureSheetForm(forms.ModelForm):
    classification = ExactlyOneChoiceField(
        label=DisclosureSheet._meta.get_field("classification").verbose_name,
        help_text=DisclosureSheet._meta.get_field("classification").help_text,
        choices=DisclosureSheet._meta.get_field("classification").choices,
        too_many_message=f"注3) {field_label('classification')}はいずれか一つを選択してください。",
        error_messages={"required": f"注3) {field_label('classification')}をいずれか一つ選択してください。"},
    )

    class Meta:
        model = DisclosureSheet
        exclude = ["organization", "checklist"]
        error_messages = {
            name: {"required": "注1) 必ず記入してください（名称等は正式なもので記載する）。"}
            for name in ("name", "address", "phone")
        }
        widgets = {
            name: forms.Textarea(attrs={"rows": 2, "cols": 60})
            for name in (
                "financial_reference",
                "similar_services_detail",
                "security_online",
                "security_offline",
                "fee_initial_insurer",
                "fee_initial_institution",
                "fee_fixed_insurer",
                "fee_fixed_institution",
                "fee_unit_insurer",
                "fee_unit_institution",
                "required_equipment",
            )
        }


class MonthInput(forms.DateInput):
    """<input type="month">: the browser's year-month picker, a text box where the
    browser has none (then 2027年3月 is typed)."""

    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs={"placeholder": "例: 2027年3月", "size": 10, **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, datetime.date):
            return f"{value.year:04d}-{value.month:02d}"
        return value  # what was typed, shown again with its error


class MonthField(forms.Field):
    """A year and month (the first day of the month), from 2027-03 or 2027年3月."""

    widget = MonthInput

    def to_python(self, value):
        if isinstance(value, datetime.date):
            return value.replace(day=1)
        return parse_month_input(value if isinstance(value, str) else "")


class AnswerForm(forms.ModelForm):
    status = forms.ChoiceField(
        label="実施状況",
        choices=[("", "未回答"), *Answer.Status.choices],
        widget=forms.RadioSelect,
        required=False,
    )
    planned_time = MonthField(label=Answer._meta.get_field("planned_time").verbose_name, required=False)

    class Meta:
        model = Answer
        fields = ["status", "planned_time"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        legacy = self.instance.planned_time_text
        if legacy:
            self.fields["planned_time"].help_text = (
                f"以前の記入「{legacy}」を年月に変換できませんでした。"
                "「実施済」にするか、実施時期を年月で入力してください。"
            )

    def _post_clean(self):
        # A month typed wrong has its own message: not 「実施時期を記入してください」 too.
        if not self.has_error("planned_time"):
            super()._post_clean()

    def clean(self):
        cleaned_data = super().clean()
        # A month typed, or 実施済 chosen, replaces the unconverted text; otherwise
        # it is kept (nothing typed is lost) and publishing names it.
        if cleaned_data.get("planned_time") or cleaned_data.get("status") == Answer.Status.DONE:
            self.instance.planned_time_text = ""
        return cleaned_data


class PublishForm(forms.Form):
    """The confirmation asked before publish(): what changed, and since when."""

    change_note = forms.CharField(
        label="変更内容",
        max_length=CHANGE_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="公開ページの変更履歴と更新情報（Atom）に表示されます。例: 職員数を更新。",
        error_messages={"required": "変更内容を入力してください。"},
        validators=[validate_no_control_characters, MaxLinesValidator(FREE_TEXT_MAX_LINES)],
    )
    effective_date = forms.DateField(
        label="最終更新日（初版のみ）",
        required=False,
        help_text="紙などですでに公開していた内容を登録する場合、その公開日を指定できます。空欄なら本日。",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    live_from = forms.DateTimeField(
        label="公開開始日時（予約公開）",
        required=False,
        help_text=(
            "空欄なら今すぐ公開します。日時（日本時間）を指定すると、版の番号と内容・PDFは今確定し、"
            "その日時に公開ページが切り替わります。最終更新日はその日付になります。公開までは取り消せます。"
        ),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "invalid": "公開開始日時は 2027-04-01 00:00 のように、正しい日付と時刻で入力してください。"
        },
    )

    def __init__(self, *args, first_publication, **kwargs):
        super().__init__(*args, **kwargs)
        if not first_publication:
            del self.fields["effective_date"]
        from crispy_forms.helper import FormHelper

        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean_live_from(self):
        # The same rules as publish(): a moment to come, within a year.
        from .publishing import go_live_problems

        live_from = self.cleaned_data.get("live_from")
        if live_from is not None:
            for problem in go_live_problems(live_from, timezone.now()):
                raise forms.ValidationError(problem)
        return live_from


def crispy_helper():
    """The admin's templates give the <form> and the CSRF token; crispy lays out the fields."""
    from crispy_forms.helper import FormHelper

    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


def request_text_field(name, *, required_message, rows=3):
    """A text of a publication request, with its model field's label, limits and validators."""
    field = PublicationRequest._meta.get_field(name)
    return forms.CharField(
        label=field.verbose_name,
        max_length=field.max_length,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=field.help_text,
        error_messages={"required": required_message},
        # max_length gives the form its own length check: the model's is not repeated.
        validators=[v for v in field.validators if not isinstance(v, MaxLengthValidator)],
    )


class PublicationRequestForm(forms.Form):
    """公開を依頼: the note the 公開責任者 read (and later the change note's first words)."""

    note = request_text_field("note", required_message="依頼メモを入力してください。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = crispy_helper()


class ReturnRequestForm(forms.Form):
    """差し戻し: why, for the requester."""

    comment = request_text_field("comment", required_message="差し戻しの理由（コメント）を入力してください。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = crispy_helper()
