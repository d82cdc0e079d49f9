from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from checklist.models import Answer, Checklist, Compliance, compliance_from_counts

from .forms import AnswerForm, DisclosureSheetForm
from .layout import SHEET_LAYOUT
from .models import DisclosureSheet, Membership, Organization
from .notes import SHEET_NOTES, note_marker

admin.site.site_header = "重要事項開示ポータル 管理"
admin.site.site_title = "重要事項開示ポータル"
admin.site.index_title = "管理メニュー"


def checkbox_group(options, chosen):
    """□/■ as on the paper form, with the state spelled out for screen readers."""
    return format_html_join(
        " ",
        '<span class="option">{}<span class="visually-hidden">{}</span>{}</span>',
        (
            ("■" if value in chosen else "□", "（選択）" if value in chosen else "（未選択）", label)
            for value, label in options
        ),
    )


def notes_description(numbers):
    return format_html_join(
        "",
        '<p class="form-note">{} {}</p>',
        ((note_marker(n), SHEET_NOTES[n]) for n in numbers),
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "classification", "draft_updated_at", "draft_links"]
    list_select_related = ["sheet"]
    list_filter = ["sheet__classification"]
    search_fields = ["name", "slug", "sheet__name", "sheet__agency_code"]
    readonly_fields = ["draft_links", "created_at"]
    inlines = [MembershipInline]

    @admin.display(description="代行機関の分類", ordering="sheet__classification")
    def classification(self, organization):
        sheet = getattr(organization, "sheet", None)
        return sheet.get_classification_display() if sheet else "—"

    @admin.display(description="下書きの更新日時", ordering="sheet__updated_at")
    def draft_updated_at(self, organization):
        sheet = getattr(organization, "sheet", None)
        return sheet.updated_at if sheet else None

    @admin.display(description="下書き")
    def draft_links(self, organization):
        sheet = getattr(organization, "sheet", None)
        if organization.pk is None or sheet is None:
            return "保存すると、重要事項の概要とチェックリストの下書きが作られます。"
        return format_html(
            '<a href="{}">重要事項の概要を編集</a> / <a href="{}">チェックリストを編集</a>',
            reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
            reverse("admin:checklist_checklist_change", args=[sheet.checklist_id]),
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            obj.ensure_drafts()
            messages.info(
                request, "重要事項の概要とチェックリストの下書きを作成しました。続けて内容を入力してください。"
            )


@admin.register(DisclosureSheet)
class DisclosureSheetAdmin(admin.ModelAdmin):
    form = DisclosureSheetForm
    list_display = ["name", "organization", "classification", "agency_code", "updated_at"]
    list_select_related = ["organization"]
    list_filter = ["classification"]
    search_fields = ["name", "organization__name", "organization__slug", "agency_code", "address"]
    radio_fields = {
        name: admin.HORIZONTAL
        for name in (
            "similar_services",
            "insurer_selection",
            "institution_selection",
            "system_ownership",
            "system_operation",
            "fee_separate_billing_insurer",
            "fee_separate_billing_institution",
        )
    }
    readonly_fields = ["organization_link", "guideline_compliance"]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name in self.radio_fields:
            # The admin would label the blank choice "None".
            kwargs["choices"] = db_field.get_choices(blank_choice=[("", "未選択")])
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["organization_link"]})]
        for part in SHEET_LAYOUT:
            lines = [line.fields if len(line.fields) > 1 else line.fields[0] for line in part.lines]
            if part.title == "施設及び設備情報":
                lines.append("guideline_compliance")  # the form's last row of this part
            # Notes tied to a line are that field's help text; the rest (注8 of
            # the computed line, 注10 of the whole part) head the fieldset.
            line_notes = {n for line in part.lines for n in line.notes}
            general = [n for n in part.notes if n not in line_notes]
            fieldsets.append((part.title, {"fields": lines, "description": notes_description(general)}))
        return fieldsets

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "checklist")

    def has_add_permission(self, request):
        return False  # a sheet comes with its organisation: exactly one each

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="代行機関")
    def organization_link(self, sheet):
        return format_html(
            '<a href="{}">{}</a>（/{}/）',
            reverse("admin:disclosures_organization_change", args=[sheet.organization_id]),
            sheet.organization.name,
            sheet.organization.slug,
        )

    @admin.display(description="ガイドラインの遵守 注8)")
    def guideline_compliance(self, sheet):
        compliance = sheet.guideline_compliance()
        group = checkbox_group(Compliance.choices, [compliance] if compliance else [])
        link = reverse("admin:checklist_checklist_change", args=[sheet.checklist_id])
        state = (
            "チェックリストから自動で決まります。"
            if compliance
            else "チェックリストに未回答の項目があるため、まだ決まりません。"
        )
        return format_html('{}<div class="help">{} <a href="{}">チェックリストを編集</a></div>', group, state, link)


class AnswerInline(admin.TabularInline):
    model = Answer
    form = AnswerForm
    template = "admin/checklist/answers_by_section.html"
    fields = ["status", "planned_time"]
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        # One query for every answer with its item, section and note.
        return (
            super()
            .get_queryset(request)
            .select_related("item__section", "item__note")
            .order_by("item__section__order", "item__number")
        )

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Checklist)
class ChecklistAdmin(admin.ModelAdmin):
    list_display = ["organization", "template", "compliance", "progress", "updated_at"]
    list_filter = ["template"]
    search_fields = ["sheet__organization__name", "sheet__organization__slug", "sheet__name"]
    fields = ["organization", "template", "compliance"]
    readonly_fields = ["organization", "template", "compliance"]
    inlines = [AnswerInline]

    class Media:
        css = {"all": ["admin_extra/checklist.css"]}

    def get_queryset(self, request):
        # The list's compliance and progress columns come from these counts.
        return (
            super()
            .get_queryset(request)
            .select_related("template", "sheet__organization")
            .annotate(
                answer_count=Count("answers"),
                unanswered_count=Count("answers", filter=Q(answers__status="")),
                planned_count=Count("answers", filter=Q(answers__status=Answer.Status.PLANNED)),
            )
        )

    def has_add_permission(self, request):
        return False  # a checklist comes with its organisation

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="代行機関", ordering="sheet__organization__name")
    def organization(self, checklist):
        sheet = getattr(checklist, "sheet", None)
        if sheet is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
            sheet.organization.name,
        )

    @admin.display(description="ガイドラインの遵守")
    def compliance(self, checklist):
        compliance = compliance_from_counts(
            total=checklist.answer_count,
            unanswered=checklist.unanswered_count,
            planned=checklist.planned_count,
        )
        return Compliance(compliance).label if compliance else "未確定（未回答あり）"

    @admin.display(description="回答状況")
    def progress(self, checklist):
        answered = checklist.answer_count - checklist.unanswered_count
        return f"{answered} / {checklist.answer_count}（実施予定 {checklist.planned_count}）"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        checklist = form.instance
        unanswered = checklist.answers.filter(status="").count()
        if unanswered:
            messages.warning(
                request,
                f"未回答の項目が{unanswered}件あります。公開するにはすべての項目に回答してください。",
            )

