from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from checklist.models import (
    Answer,
    Checklist,
    ChecklistTemplate,
    Compliance,
    compliance_from_counts,
    planned_time_display,
)

from . import spreadsheet
from .diff import diff_snapshots
from .display import document_context
from .draft_state import draft_state, with_draft_state
from .formatting import box, japanese_date, japanese_moment
from .forms import AnswerForm, DisclosureSheetForm, PublicationRequestForm, PublishForm, ReturnRequestForm
from .layout import COMPLIANCE_FIELD, SHEET_LAYOUT, field_label, field_notes
from .models import (
    DisclosureSheet,
    Membership,
    Organization,
    Publication,
    PublicationRequest,
    ScheduleCancellation,
)
from .notes import SHEET_NOTES, note_marker
from .permissions import four_eyes_refusal, is_member, may_publish, publish_refusal
from .publishing import (
    DRAFT_CHANGED_SINCE_REQUEST,
    NothingChanged,
    PublishError,
    cancel_schedule,
    draft_problems,
    next_number,
    pending_refusal,
    publication_outcome,
    publish,
    scheduled_version,
)
from .review import (
    RequestError,
    ask_for_publication,
    draft_changed_since,
    open_request_of,
    return_request,
    withdraw_request,
)
from .snapshot import build_snapshot


def checkbox_group(options, chosen):
    """The boxes of the paper form, with the state spelled out for screen readers."""
    return format_html_join(
        " ",
        '<span class="option">{}<span class="visually-hidden">{}</span>{}</span>',
        (
            (box(value in chosen), "（選択）" if value in chosen else "（非選択）", label)
            for value, label in options
        ),
    )


def labelled_with_notes(field):
    """ガイドラインの遵守 注8): a label with its note markers, as the form prints it."""
    return " ".join([field_label(field), *map(note_marker, field_notes(field))])


def notes_description(numbers):
    return format_html_join(
        "",
        '<p class="form-note">{} {}</p>',
        ((note_marker(n), SHEET_NOTES[n]) for n in numbers),
    )


class SpreadsheetUploadForm(forms.Form):
    file = forms.FileField(
        label="Excelファイル（.xlsx）",
        help_text="「Excelでダウンロード」で取得し、黄色の欄を編集したファイル。",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx," + spreadsheet.CONTENT_TYPE}),
        error_messages={"required": "アップロードするファイルを選んでください。"},
    )


class OrganizationScopedAdmin(admin.ModelAdmin):
    """A staff member sees and changes only the organisations they belong to:
    in lists, forms, inlines, history and the extra views. Anything else is a 404."""

    organization_path = "organization"  # from the model to Organization ("" for itself)

    def organization_id_of(self, obj):
        return obj.organization_id

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        path = f"{self.organization_path}__" if self.organization_path else ""
        return queryset.filter(**{f"{path}memberships__user": request.user})

    def has_module_permission(self, request):
        return is_member(request.user)

    def get_list_filter(self, request):
        # A filter on a relation lists only the related objects of the rows this
        # user sees (Django's default lists every organisation, say).
        return [
            (name, admin.RelatedOnlyFieldListFilter)
            if isinstance(name, str) and get_fields_from_path(self.model, name)[-1].is_relation
            else name
            for name in super().get_list_filter(request)
        ]

    def lookup_allowed(self, lookup, value, request=None):
        # Only the list's own filters: a hand-made ?published_at__year=10**20
        # would otherwise reach the database and fail there.
        allowed = [
            name if isinstance(name, str) else name[0]
            for name in self.get_list_filter(request)
            if isinstance(name, (str, tuple, list))
        ]
        if not any(lookup == name or lookup.startswith(f"{name}__") for name in allowed):
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_view_permission(self, request, obj=None):
        return is_member(request.user, None if obj is None else self.organization_id_of(obj))

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def get_reachable_object(self, request, object_id):
        obj = self.get_object(request, unquote(str(object_id)))
        if obj is None:
            raise Http404("見つかりません。")
        return obj

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self.get_reachable_object(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self.get_reachable_object(request, object_id)
        return super().history_view(request, object_id, extra_context)


class ScopedHistoryAdmin(OrganizationScopedAdmin, SimpleHistoryAdmin):
    """Scoped, with a change history that can be read, never reverted or edited."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self.get_reachable_object(request, object_id)
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied("変更履歴は変更できません。")
        return super().history_form_view(request, object_id, version_id, extra_context)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["slug", "name", "four_eyes"]

    def clean(self):
        cleaned_data = super().clean()
        # A new organisation gets its draft checklist from the default template.
        if self.instance.pk is None and not ChecklistTemplate.objects.filter(is_default=True).exists():
            raise ValidationError(
                "チェックリスト様式が登録されていません。チェックリスト様式を登録し、"
                "「新規の機関に使う」を選んでから追加してください。"
            )
        return cleaned_data


@admin.register(Organization)
class OrganizationAdmin(ScopedHistoryAdmin):
    organization_path = ""
    form = OrganizationForm
    # The state says since when the draft has unpublished changes: it replaces
    # the draft's last update time, for which the list beside the filter has no room.
    list_display = ["name", "slug", "classification", "publication_state", "draft_links"]
    list_select_related = ["sheet"]
    list_filter = ["sheet__classification"]
    search_fields = ["name", "slug", "sheet__name", "sheet__agency_code"]
    readonly_fields = ["draft_links", "publication_state", "created_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # Members see the organisation read-only, four eyes included.
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else [*fields, "four_eyes"]

    class Media:
        css = {"all": ["admin_extra/organizations.css"]}

    def get_queryset(self, request):
        return with_draft_state(super().get_queryset(request))

    @admin.display(description="公開状況")
    def publication_state(self, organization):
        if organization.pk is None:
            return "未公開"
        return str(draft_state(organization))

    @admin.display(description=field_label("classification"), ordering="sheet__classification")
    def classification(self, organization):
        sheet = getattr(organization, "sheet", None)
        return sheet.get_classification_display() if sheet else "—"

    @admin.display(description="下書き")
    def draft_links(self, organization):
        sheet = getattr(organization, "sheet", None)
        if organization.pk is None or sheet is None:
            return "保存すると、重要事項の概要とチェックリストの下書きが作られます。"
        return format_html(
            '<a href="{}">概要を編集</a> / <a href="{}">チェックリストを編集</a>',
            reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
            reverse("admin:checklist_checklist_change", args=[sheet.checklist_id]),
        )

    def organization_id_of(self, obj):
        return obj.pk

    def view_on_site(self, organization):
        """「サイトで表示」: the current version's page, once there is one."""
        if getattr(organization, "live_number", None) is not None:
            return organization.get_absolute_url()
        return None

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser  # members see their organisation, read-only

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            obj.ensure_drafts()
            messages.info(
                request,
                "重要事項の概要とチェックリストの下書きを作成しました。続けて内容を入力してください。",
            )


@admin.register(DisclosureSheet)
class DisclosureSheetAdmin(ScopedHistoryAdmin):
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
    readonly_fields = ["organization_link", "publication_state", COMPLIANCE_FIELD]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name in self.radio_fields:
            # The admin would label the blank choice "None".
            kwargs["choices"] = db_field.get_choices(blank_choice=[("", "未選択")])
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["organization_link", "publication_state"]})]
        for part in SHEET_LAYOUT:
            lines = [row.fields if len(row.fields) > 1 else row.fields[0] for row in part.rows if row.fields]
            # A note already quoted in a field's help text is not repeated above it.
            quoted = {n for name in part.fields if name != COMPLIANCE_FIELD for n in field_notes(name)}
            general = [n for n in part.notes if n not in quoted]
            fieldsets.append((part.title.text, {"fields": lines, "description": notes_description(general)}))
        return fieldsets

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "checklist")

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="disclosures_disclosuresheet_preview",
            ),
            path(
                "<int:pk>/preview/pdf/",
                self.admin_site.admin_view(self.preview_pdf_view),
                name="disclosures_disclosuresheet_preview_pdf",
            ),
            path(
                "<int:pk>/xlsx/",
                self.admin_site.admin_view(self.xlsx_view),
                name="disclosures_disclosuresheet_xlsx",
            ),
            path(
                "<int:pk>/xlsx/upload/",
                self.admin_site.admin_view(self.xlsx_upload_view),
                name="disclosures_disclosuresheet_xlsx_upload",
            ),
            path(
                "<int:pk>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="disclosures_disclosuresheet_publish",
            ),
            path(
                "<int:pk>/request/",
                self.admin_site.admin_view(self.request_publication_view),
                name="disclosures_disclosuresheet_request",
            ),
            path(
                "<int:pk>/publish/cancel-schedule/",
                self.admin_site.admin_view(self.cancel_schedule_view),
                name="disclosures_disclosuresheet_cancel_schedule",
            ),
            *super().get_urls(),
        ]

    def get_sheet(self, request, pk):
        sheet = self.get_reachable_object(request, pk)
        if not self.has_view_permission(request, sheet):
            raise PermissionDenied
        return sheet

    def preview_view(self, request, pk):
        """The draft exactly as the public page would show it, marked as a draft."""
        sheet = self.get_sheet(request, pk)
        context = document_context(
            build_snapshot(sheet), sheet_updated_on="（公開日）", checklist_updated_on="（公開日）"
        )
        context["draft"] = True
        # From the preview, staff go on to edit or to publish what they saw.
        context["draft_actions"] = {
            "sheet": reverse("admin:disclosures_disclosuresheet_change", args=[sheet.pk]),
            "checklist": reverse("admin:checklist_checklist_change", args=[sheet.checklist_id]),
            "request": reverse("admin:disclosures_disclosuresheet_request", args=[sheet.pk]),
            "publish": reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]),
        }
        return TemplateResponse(request, "disclosures/publication_detail.html", context)

    def preview_pdf_view(self, request, pk):
        """The draft's PDF as publishing would render it now, marked 下書き on every page.
        Rendered on each request: never stored, never cached, never public."""
        from .pdf import PdfRenderError
        from .pdf.document import render_publication_pdf

        sheet = self.get_sheet(request, pk)
        snapshot = build_snapshot(sheet)
        try:
            number, sheet_updated_on, checklist_updated_on = publication_outcome(sheet, snapshot=snapshot)
        except NothingChanged:
            live = sheet.organization.publications.defer("snapshot", "pdf").current().first()
            number, sheet_updated_on, checklist_updated_on = (
                live.number,
                live.sheet_updated_on,
                live.checklist_updated_on,
            )
        try:
            pdf = render_publication_pdf(
                snapshot,
                number=number,
                published_at=timezone.now(),
                sheet_updated_on=sheet_updated_on,
                checklist_updated_on=checklist_updated_on,
                draft=True,
            )
        except PdfRenderError as error:
            messages.error(request, error.message)
            return redirect("admin:disclosures_disclosuresheet_change", sheet.pk)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{sheet.organization.slug}-draft.pdf"'
        response["Cache-Control"] = "no-store, private"
        return response

    def xlsx_view(self, request, pk):
        """The draft as an Excel workbook to edit and upload again (never cached)."""
        sheet = self.get_sheet(request, pk)
        response = HttpResponse(spreadsheet.draft_workbook(sheet), content_type=spreadsheet.CONTENT_TYPE)
        today = timezone.localdate()
        response["Content-Disposition"] = (
            f'attachment; filename="{sheet.organization.slug}-draft-{today:%Y-%m-%d}.xlsx"'
        )
        response["Cache-Control"] = "no-store, private"
        return response

    def xlsx_upload_view(self, request, pk):
        """Upload an edited workbook: every value checked by the admin's forms, the
        changes shown against the draft, applied only on a second, confirming POST that
        carries what was read signed (spreadsheet.confirmation)."""
        sheet = self.get_sheet(request, pk)
        if not self.has_change_permission(request, sheet):
            raise PermissionDenied
        form_class = self.get_form(request, sheet, change=True)
        upload_form = SpreadsheetUploadForm()
        problems, review, token = [], None, None
        if request.method == "POST" and "confirmation" in request.POST:
            try:
                review = spreadsheet.apply_confirmation(
                    request.POST["confirmation"], sheet, request.user, form_class
                )
            except spreadsheet.ConfirmationRefused as refusal:
                problems = refusal.problems
            else:
                changes = review.changes
                messages.success(
                    request,
                    "Excelファイルの内容で下書きを更新しました"
                    f"（重要事項の概要 {len(changes['sheet'])}件、チェックリスト {len(changes['checklist'])}件の変更）。",
                )
                return redirect("admin:disclosures_disclosuresheet_change", sheet.pk)
        elif request.method == "POST":
            upload_form = SpreadsheetUploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                try:
                    values = spreadsheet.read_upload(upload_form.cleaned_data["file"], sheet)
                except spreadsheet.UploadRefused as refusal:
                    problems = refusal.problems
                else:
                    review = spreadsheet.review_upload(sheet, values, form_class)
                    problems = review.problems
                    if review.has_changes:
                        token = spreadsheet.confirmation(sheet, request.user, values)
                    if values["digests"] != spreadsheet.draft_digests(sheet) and not problems:
                        messages.warning(
                            request,
                            "このファイルをダウンロードした後に下書きが変更されています。"
                            "変更点に、その変更を元に戻す内容が含まれていないか確認してください。",
                        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{sheet} をExcelから取り込む",
            "sheet": sheet,
            "upload_form": upload_form,
            "problems": problems,
            "review": None if problems else review,
            "confirmation": token,
            "max_megabytes": spreadsheet.MAX_UPLOAD_BYTES // (1024 * 1024),
        }
        return TemplateResponse(request, "admin/disclosures/xlsx_upload.html", context)

    def publish_view(self, request, pk):
        sheet = self.get_sheet(request, pk)
        refusal = publish_refusal(request.user, sheet.organization_id)
        if refusal:
            raise PermissionDenied(refusal)
        # While a version waits for its go-live time nothing else is published:
        # the page offers to cancel it instead (four eyes or not).
        scheduled = scheduled_version(sheet.organization_id)
        refusal = four_eyes_refusal(request.user, sheet.organization_id)
        if refusal and not scheduled:  # not forbidden: done another way, which the message names
            messages.error(request, refusal)
            return redirect("admin:disclosures_disclosuresheet_request", sheet.pk)
        live = (
            Publication.objects.filter(organization=sheet.organization_id)
            .select_related("organization")  # for its link
            .defer("pdf")  # its snapshot is compared with the draft; its PDF is not needed
            .current()
            .first()
        )
        form = PublishForm(request.POST or None, first_publication=live is None)
        problems = [pending_refusal(scheduled)] if scheduled else draft_problems(sheet)
        if request.method == "POST" and form.is_valid() and not problems:
            try:
                publication = publish(sheet, user=request.user, **form.cleaned_data)
            except PublishError as error:
                problems = error.problems
            else:
                dates = (
                    f"（最終更新日: 概要 {japanese_date(publication.sheet_updated_on)}、"
                    f"チェックリスト {japanese_date(publication.checklist_updated_on)}）"
                )
                if publication.live_from > publication.published_at:
                    messages.success(
                        request,
                        f"第{publication.number}版を{japanese_moment(publication.live_from)}に公開する予定で"
                        f"確定しました{dates}。それまで公開ページには表示されません。公開前なら取り消せます。",
                    )
                else:
                    messages.success(request, f"第{publication.number}版を公開しました{dates}。")
                return redirect("admin:disclosures_disclosuresheet_change", sheet.pk)
        outcome = None
        if not problems:
            valid = form.is_bound and form.is_valid()
            try:
                # The 版 and both 最終更新日 this draft would get, shown before the button.
                outcome = publication_outcome(
                    sheet,
                    effective_date=form.cleaned_data.get("effective_date") if valid else None,
                    live_from=form.cleaned_data.get("live_from") if valid else None,
                )
            except PublishError as error:  # unchanged, or a wrong effective date
                problems = error.problems
        changes = diff_snapshots(live.snapshot, build_snapshot(sheet)) if live and not problems else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{sheet} を公開",
            "sheet": sheet,
            "live": live,
            "scheduled": scheduled,
            "scheduled_at": japanese_moment(scheduled.live_from) if scheduled else "",
            "next_number": next_number(sheet.organization_id),
            "form": form,
            "problems": problems,
            "changes": changes,
            "outcome": outcome,
        }
        return TemplateResponse(request, "admin/disclosures/publish.html", context)

    def request_publication_view(self, request, pk):
        """公開を依頼: the changes against the live version, a note, the button."""
        sheet = self.get_sheet(request, pk)
        live = (
            Publication.objects.filter(organization=sheet.organization_id)
            .select_related("organization")
            .defer("pdf")
            .current()
            .first()
        )
        replaced = open_request_of(sheet.organization_id)
        form = PublicationRequestForm(
            request.POST or None, initial={"note": replaced.note if replaced else ""}
        )
        problems = draft_problems(sheet)
        if request.method == "POST" and form.is_valid() and not problems:
            try:
                publication_request = ask_for_publication(sheet, user=request.user, **form.cleaned_data)
            except RequestError as error:
                problems = error.problems
            else:
                if publication_request.notified:
                    messages.success(
                        request,
                        f"公開を依頼しました。公開責任者（{publication_request.notified}名）にメールで知らせます。",
                    )
                else:
                    messages.warning(
                        request,
                        "公開を依頼しました。ただし、メールで知らせられる公開責任者（メールアドレスのある"
                        "有効な担当者）がいません。管理者に公開責任者の登録を依頼してください。",
                    )
                return redirect("admin:disclosures_publicationrequest_change", publication_request.pk)
        if not problems:
            try:
                publication_outcome(sheet)
            except PublishError as error:
                problems = error.problems
        changes = diff_snapshots(live.snapshot, build_snapshot(sheet)) if live and not problems else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{sheet} の公開を依頼",
            "sheet": sheet,
            "live": live,
            "form": form,
            "problems": problems,
            "changes": changes,
            "replaced": replaced,
        }
        return TemplateResponse(request, "admin/disclosures/request_publication.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        sheet = self.get_reachable_object(request, object_id)
        extra_context = {**(extra_context or {}), "open_request": open_request_of(sheet.organization_id)}
        return super().change_view(request, object_id, form_url, extra_context)

    def cancel_schedule_view(self, request, pk):
        """POST: cancel the organisation's scheduled version (kept, never public)."""
        sheet = self.get_sheet(request, pk)
        refusal = publish_refusal(request.user, sheet.organization_id)
        if refusal:
            raise PermissionDenied(refusal)
        if request.method != "POST":
            return redirect("admin:disclosures_disclosuresheet_publish", sheet.pk)
        try:
            cancelled = cancel_schedule(sheet.organization, user=request.user)
        except PublishError as error:
            for problem in error.problems:
                messages.error(request, problem)
        else:
            messages.success(
                request,
                f"第{cancelled.number}版（{japanese_moment(cancelled.live_from)}公開予定）を取り消しました。"
                f"第{cancelled.number}版は公開されず、その番号は使われません。",
            )
        return redirect("admin:disclosures_disclosuresheet_publish", sheet.pk)

    def has_add_permission(self, request):
        return False  # a sheet comes with its organisation: exactly one each

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="代行機関")
    def organization_link(self, sheet):
        return format_html(
            '<a href="{}">{}</a>（/{}/） — <a href="{}" target="_blank" rel="noopener">プレビュー</a>'
            ' / <a href="{}" target="_blank" rel="noopener">PDFプレビュー（下書き）</a>'
            ' / <a href="{}">Excelでダウンロード</a> / <a href="{}">Excelから取り込む</a>'
            ' / <a href="{}">公開…</a>',
            reverse("admin:disclosures_organization_change", args=[sheet.organization_id]),
            sheet.organization.name,
            sheet.organization.slug,
            reverse("admin:disclosures_disclosuresheet_preview", args=[sheet.pk]),
            reverse("admin:disclosures_disclosuresheet_preview_pdf", args=[sheet.pk]),
            reverse("admin:disclosures_disclosuresheet_xlsx", args=[sheet.pk]),
            reverse("admin:disclosures_disclosuresheet_xlsx_upload", args=[sheet.pk]),
            reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]),
        )

    @admin.display(description="公開状況")
    def publication_state(self, sheet):
        organization = with_draft_state(Organization.objects.filter(pk=sheet.organization_id)).get()
        return str(draft_state(organization))

    @admin.display(description=labelled_with_notes(COMPLIANCE_FIELD))
    def guideline_compliance(self, sheet):
        compliance = sheet.guideline_compliance()
        group = checkbox_group(Compliance.choices, [compliance] if compliance else [])
        link = reverse("admin:checklist_checklist_change", args=[sheet.checklist_id])
        state = (
            "チェックリストから自動で決まります。"
            if compliance
            else "チェックリストに未回答の項目があるため、まだ決まりません。"
        )
        return format_html(
            '{}<div class="help">{} <a href="{}">チェックリストを編集</a></div>', group, state, link
        )


class AnswerFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        # An answer id that is not this checklist's (a tampered form) matches no
        # answer here: refuse the whole submission rather than ignore that row.
        if any(form.instance.pk is None for form in self.initial_forms):
            raise ValidationError(
                "送信された回答がこのチェックリストのものではありません。ページを読み込み直してください。"
            )


class AnswerInline(admin.TabularInline):
    model = Answer
    form = AnswerForm
    formset = AnswerFormSet
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

    def error_label(self, form):
        """How the error summary names a row: 区分 and number, as the form does
        (None for a row whose answer is not this checklist's: it has no item)."""
        return str(form.instance.item) if form.instance.item_id else None

    def has_view_permission(self, request, obj=None):
        return is_member(request.user, obj.sheet.organization_id if obj else None)

    has_change_permission = has_view_permission


def answer_changes(checklist, limit=100):
    """The audit trail of a checklist's answers, newest first: who, when, old → new.

    One query: the history rows are replayed in order to find each change."""
    records = (
        Answer.history.filter(checklist_id=checklist.pk)
        .select_related("history_user", "item__section")
        .order_by("history_date", "history_id")
    )
    last = {}
    changes = []
    for record in records:
        state = (
            record.get_status_display() or "未回答",
            planned_time_display(record.planned_time, record.planned_time_text),
        )
        before = last.get(record.id)
        last[record.id] = state
        if before is not None and before != state:
            changes.append((record, before, state))
    return changes[::-1][:limit]


def answer_text(status, planned_time):
    return f"{status}({planned_time})" if planned_time else status


@admin.register(Checklist)
class ChecklistAdmin(OrganizationScopedAdmin):
    organization_path = "sheet__organization"
    list_display = ["organization", "template", "compliance", "progress", "updated_at"]
    list_filter = ["template"]
    search_fields = ["sheet__organization__name", "sheet__organization__slug", "sheet__name"]
    fields = ["organization", "template", "compliance"]
    readonly_fields = fields
    inlines = [AnswerInline]

    class Media:
        css = {"all": ["admin_extra/checklist.css"]}

    def organization_id_of(self, checklist):
        return checklist.sheet.organization_id

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

    @admin.display(description=field_label(COMPLIANCE_FIELD))
    def compliance(self, checklist):
        compliance = compliance_from_counts(
            total=checklist.answer_count,
            unanswered=checklist.unanswered_count,
            planned=checklist.planned_count,
        )
        return Compliance(compliance).label if compliance else "未確定（未回答あり）"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The answers come first; their history is collapsed below the save buttons.
        if obj is not None:
            context["answer_history"] = self.answer_history(obj)
        # An explicit action: a form without one posts to the page's URL with its
        # #fragment, and the page after a failed save would open at the history.
        form_url = form_url or request.get_full_path()
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="回答の変更履歴")
    def answer_history(self, checklist):
        changes = answer_changes(checklist)
        if not changes:
            return "変更はまだありません。"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} {}.</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(record.history_date).strftime("%Y/%m/%d %H:%M:%S"),
                    record.history_user or "（システム）",
                    record.item.section.title,
                    record.item.number,
                    answer_text(*before),
                    answer_text(*after),
                )
                for record, before, after in changes
            ),
        )
        return format_html(
            '<table class="answer-history"><thead><tr><th scope="col">日時</th><th scope="col">変更者</th>'
            '<th scope="col">チェック項目</th><th scope="col">変更前</th><th scope="col">変更後</th>'
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

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


@admin.register(Publication)
class PublicationAdmin(OrganizationScopedAdmin):
    """Published versions can be looked at, never changed or deleted."""

    list_display = [
        "title",
        "number",
        "published_at",
        "live_state",
        "published_by",
        "sheet_updated_on",
        "checklist_updated_on",
        "public_link",
    ]
    list_select_related = ["organization", "published_by", "cancellation"]
    list_filter = ["organization"]
    search_fields = ["title", "organization__slug", "change_note"]
    fields = [
        "organization",
        "number",
        "published_at",
        "live_from",
        "live_state",
        "schedule_actions",
        "published_by",
        "change_note",
        "sheet_updated_on",
        "checklist_updated_on",
        "snapshot_sha256",
        "public_link",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("snapshot").select_related("cancellation")

    def view_on_site(self, publication):
        """「サイトで表示」: the version's own page, without the content-types redirect
        (none for a version the public does not see)."""
        return publication.get_absolute_url() if live_state(publication) == PUBLIC else None

    @admin.display(description="公開状況")
    def live_state(self, publication):
        return live_state(publication)

    @admin.display(description="公開予定の取消")
    def schedule_actions(self, publication):
        """Where a scheduled version is cancelled: the publish page (公開責任者 only)."""
        if not live_state(publication).startswith("公開予定"):
            return "—"
        sheet = DisclosureSheet.objects.only("pk").get(organization=publication.organization_id)
        return format_html(
            '<a href="{}#scheduled-version">公開ページで取り消す（公開責任者）</a>',
            reverse("admin:disclosures_disclosuresheet_publish", args=[sheet.pk]),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="公開ページ")
    def public_link(self, publication):
        if live_state(publication) != PUBLIC:
            return "—"
        return format_html(
            '<a href="{}">第{}版を表示</a>', publication.get_absolute_url(), publication.number
        )


@admin.register(PublicationRequest)
class PublicationRequestAdmin(ScopedHistoryAdmin):
    """公開依頼: members see their organisations' requests; the request's page shows
    the requested content against the live version and the steps this user may take
    (公開 and 差し戻し for a 公開責任者, 取り下げ for the requester)."""

    list_display = ["organization", "status", "requested_by", "requested_at", "decided_by", "version"]
    list_select_related = ["organization", "requested_by", "decided_by", "publication"]
    list_filter = ["status", "organization"]
    search_fields = ["organization__name", "organization__slug", "note", "comment"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("snapshot")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/publish/", view(self.publish_view), name="disclosures_publicationrequest_publish"),
            path("<int:pk>/return/", view(self.return_view), name="disclosures_publicationrequest_return"),
            path(
                "<int:pk>/withdraw/", view(self.withdraw_view), name="disclosures_publicationrequest_withdraw"
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request):
        return False  # asked for from the draft's page (公開を依頼)

    def has_change_permission(self, request, obj=None):
        return False  # changed only by its steps

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="公開した版", ordering="publication__number")
    def version(self, publication_request):
        publication = publication_request.publication
        return f"第{publication.number}版" if publication else "—"

    def get_request(self, request, pk):
        publication_request = self.get_reachable_object(request, pk)
        publication_request.refresh_from_db(fields=["snapshot"])
        return publication_request

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.request_page(request, self.get_request(request, object_id))

    def request_page(self, request, publication_request, *, publish_form=None, return_form=None, problems=()):
        """The request as a 公開責任者 reviews it, with the forms of the steps allowed."""
        organization_id = publication_request.organization_id
        sheet = DisclosureSheet.objects.select_related("organization", "checklist__template").get(
            organization=organization_id
        )
        live = (
            Publication.objects.filter(organization=organization_id)
            .select_related("organization")
            .defer("pdf")
            .current()
            .first()
        )
        is_open = publication_request.is_open
        changed = is_open and draft_changed_since(publication_request, sheet)
        publisher = may_publish(request.user, organization_id)
        refusal = None
        if is_open and publisher:
            scheduled = scheduled_version(organization_id)
            refusal = (
                publish_refusal(request.user, organization_id)
                or four_eyes_refusal(request.user, organization_id, publication_request)
                or (scheduled and pending_refusal(scheduled))
            )
        may_publish_now = is_open and publisher and not changed and not refusal
        if may_publish_now and publish_form is None:
            publish_form = PublishForm(
                initial={"change_note": publication_request.note}, first_publication=live is None
            )
        requested = publication_request.snapshot
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(publication_request),
            "request_obj": publication_request,
            "sheet": sheet,
            "live": live,
            "changes": diff_snapshots(live.snapshot, requested) if live else None,
            "changed": changed,
            "changed_message": DRAFT_CHANGED_SINCE_REQUEST,
            "changes_since": diff_snapshots(requested, build_snapshot(sheet)) if changed else None,
            "refusal": refusal,
            "publish_form": publish_form if may_publish_now else None,
            "return_form": (return_form or ReturnRequestForm()) if is_open and publisher else None,
            "may_withdraw": is_open and publication_request.requested_by_id == request.user.pk,
            "problems": problems,
            # A cancelled version's number is not used again.
            "next_number": next_number(organization_id) if may_publish_now else None,
            # The version published from the request: linked once the public sees it.
            "version_state": live_state(publication_request.publication)
            if publication_request.publication
            else "",
            "public": PUBLIC,
        }
        return TemplateResponse(request, "admin/disclosures/publication_request.html", context)

    def publish_view(self, request, pk):
        publication_request = self.get_request(request, pk)
        if request.method != "POST":
            return redirect("admin:disclosures_publicationrequest_change", pk)
        organization_id = publication_request.organization_id
        if not may_publish(request.user, organization_id):
            raise PermissionDenied("この代行機関の公開権限（公開責任者）がありません。")
        sheet = DisclosureSheet.objects.select_related("organization").get(organization=organization_id)
        first = not Publication.objects.filter(organization=organization_id).exists()
        form = PublishForm(request.POST, first_publication=first)
        if not form.is_valid():
            return self.request_page(request, publication_request, publish_form=form)
        try:
            publication = publish(sheet, user=request.user, request=publication_request, **form.cleaned_data)
        except PermissionDenied as refusal:  # four eyes, or a login without the code
            return self.request_page(request, publication_request, problems=[str(refusal)])
        except PublishError as error:
            return self.request_page(request, publication_request, publish_form=form, problems=error.problems)
        dates = (
            f"（最終更新日: 概要 {japanese_date(publication.sheet_updated_on)}、"
            f"チェックリスト {japanese_date(publication.checklist_updated_on)}）"
        )
        if publication.live_from > publication.published_at:
            messages.success(
                request,
                f"公開依頼を承認し、第{publication.number}版を{japanese_moment(publication.live_from)}に"
                f"公開する予定で確定しました{dates}。それまで公開ページには表示されません。公開前なら取り消せます。",
            )
        else:
            messages.success(request, f"公開依頼を承認し、第{publication.number}版を公開しました{dates}。")
        return redirect("admin:disclosures_publicationrequest_change", pk)

    def return_view(self, request, pk):
        publication_request = self.get_request(request, pk)
        if request.method != "POST":
            return redirect("admin:disclosures_publicationrequest_change", pk)
        if not may_publish(request.user, publication_request.organization_id):
            raise PermissionDenied("差し戻しできるのは、この代行機関の公開責任者です。")
        form = ReturnRequestForm(request.POST)
        if not form.is_valid():
            return self.request_page(request, publication_request, return_form=form)
        try:
            return_request(publication_request, user=request.user, **form.cleaned_data)
        except RequestError as error:
            return self.request_page(request, publication_request, return_form=form, problems=error.problems)
        messages.success(request, "公開依頼を差し戻しました。依頼者にメールで知らせます。")
        return redirect("admin:disclosures_publicationrequest_change", pk)

    def withdraw_view(self, request, pk):
        publication_request = self.get_request(request, pk)
        if request.method != "POST":
            return redirect("admin:disclosures_publicationrequest_change", pk)
        try:
            withdraw_request(publication_request, user=request.user)
        except RequestError as error:
            return self.request_page(request, publication_request, problems=error.problems)
        messages.success(request, "公開依頼を取り下げました。")
        return redirect("admin:disclosures_publicationrequest_change", pk)


PUBLIC = "公開済"


def live_state(publication):
    """公開済, 公開予定 2027年4月1日 0:00, or 取消 (a cancelled schedule, never public)."""
    if hasattr(publication, "cancellation"):
        cancellation = publication.cancellation
        return f"取消（{japanese_moment(cancellation.cancelled_at)}、公開されません）"
    if publication.live_from > max(publication.published_at, timezone.now()):
        return f"公開予定 {japanese_moment(publication.live_from)}"
    return PUBLIC


@admin.register(ScheduleCancellation)
class ScheduleCancellationAdmin(OrganizationScopedAdmin):
    """The audit trail of cancelled schedules: read, never changed (cancel_schedule() makes them)."""

    organization_path = "publication__organization"
    list_display = ["publication", "live_from", "cancelled_at", "cancelled_by"]
    list_select_related = ["publication__organization", "cancelled_by"]
    fields = ["publication", "live_from", "cancelled_at", "cancelled_by"]
    readonly_fields = fields

    def organization_id_of(self, cancellation):
        return cancellation.publication.organization_id

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("publication__organization", "cancelled_by")
            .defer("publication__snapshot", "publication__pdf")
        )

    @admin.display(description="公開予定だった日時")
    def live_from(self, cancellation):
        return japanese_moment(cancellation.publication.live_from)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
