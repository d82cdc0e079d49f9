from django import forms
from django.utils import timezone

from checklist.models import Answer
from disclosure_portal.text_limits import CHANGE_NOTE_MAX_LENGTH, FREE_TEXT_MAX_LINES, MaxLinesValidator

from .layout import field_label
from .models import DisclosureSheet, validate_no_control_characters


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


class AnswerForm(forms.ModelForm):
    status = forms.ChoiceField(
        label="実施状況",
        choices=[("", "未回答"), *Answer.Status.choices],
        widget=forms.RadioSelect,
        required=False,
    )

    class Meta:
        model = Answer
        fields = ["status", "planned_time"]
        widgets = {"planned_time": forms.TextInput(attrs={"size": 16, "placeholder": "例: 2027年3月"})}


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
