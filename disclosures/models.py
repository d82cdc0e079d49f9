"""Organisations and their draft disclosure sheet.

The field order follows 事業運営上開示すべき重要事項の概要[代行機関]; each
verbose_name is the form's own label and each help_text quotes the form's notes,
both read from the layout (disclosures/layout.py), where they are written once.
"""

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from checklist.models import Checklist, ChecklistTemplate
from disclosure_portal.text_limits import (
    ADDRESS_MAX_LENGTH,
    CHANGE_NOTE_MAX_LENGTH,
    FREE_TEXT_MAX_LENGTH,
    FREE_TEXT_MAX_LINES,
    NAME_MAX_LENGTH,
    SHORT_TEXT_MAX_LENGTH,
    SHORT_TEXT_MAX_LINES,
    URL_MAX_LENGTH,
    MaxLinesValidator,
    text_validators,
)
from disclosure_portal.validators import validate_no_control_characters, validate_printable  # noqa: F401

from .digests import sha256_of
from .directory_facts import ChecklistSummary, directory_facts
from .fields import ChoiceListField, URLField
from .layout import field_caption, field_label, form_texts, row_labels
from .pdf import pdf_sha256
from .prefectures import unknown_prefectures


def validate_slug_not_reserved(value):
    """The slug is the first segment of public URLs: it must not hide the admin or static files."""
    reserved = {
        "admin",
        "static",
        "media",
        "verify",
        "compare",
        "subscribe",
        "feed",
        "favicon.ico",
        "robots.txt",
        settings.ADMIN_URL.split("/")[0],
    }
    if value.lower() in reserved:
        raise ValidationError("「%(slug)s」はURL名に使えません。", code="reserved", params={"slug": value})


class Organization(models.Model):
    """A 代行機関: the tenant that owns one draft sheet and one draft checklist."""

    slug = models.SlugField(
        "URL名",
        max_length=50,
        unique=True,
        validators=[validate_slug_not_reserved],
        help_text="公開ページのURLに使う半角英数字・ハイフン（例: qolead → /qolead/）。",
    )
    name = models.CharField(
        field_label("name"),
        max_length=NAME_MAX_LENGTH,
        validators=[validate_printable],
        help_text="管理画面の一覧に表示する名前。",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        related_name="organizations",
        verbose_name="担当者",
        blank=True,
    )
    four_eyes = models.BooleanField(
        "自分の依頼を自分で承認できない（4つの目）",
        default=False,
        help_text="オンにすると、公開は別の担当者の公開依頼を公開責任者が承認したときだけできます。"
        "自分の依頼を承認することも、依頼なしで公開することもできなくなります。",
    )
    created_at = models.DateTimeField("登録日時", auto_now_add=True)
    history = HistoricalRecords(verbose_name="代行機関の変更履歴")

    class Meta:
        verbose_name = "代行機関"
        verbose_name_plural = "代行機関"
        ordering = ["name", "slug"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        """The public page of the organisation's current version."""
        return reverse("disclosures:current", kwargs={"slug": self.slug})

    @classmethod
    @transaction.atomic
    def create_with_drafts(cls, *, slug, name, template=None):
        """An organisation with its one draft sheet and one draft checklist."""
        organization = cls.objects.create(slug=slug, name=name)
        organization.ensure_drafts(template)
        return organization

    def ensure_drafts(self, template=None):
        """Give the organisation its draft sheet and checklist if it has none yet."""
        if DisclosureSheet.objects.filter(organization=self).exists():
            return self.sheet
        template = template or ChecklistTemplate.objects.filter(is_default=True).first()
        if template is None:
            raise ValidationError(
                "チェックリスト様式が登録されていません。先に python manage.py load_example "
                "などで様式を読み込んでください。"
            )
        checklist = Checklist.create_for(template)
        return DisclosureSheet.objects.create(organization=self, checklist=checklist, name=self.name)


class Membership(models.Model):
    class Role(models.TextChoices):
        EDITOR = "editor", "編集者"
        PUBLISHER = "publisher", "公開責任者"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships", verbose_name="代行機関"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name="ユーザー",
    )
    role = models.CharField("役割", max_length=20, choices=Role.choices, default=Role.EDITOR)
    history = HistoricalRecords(verbose_name="担当者の変更履歴")

    class Meta:
        verbose_name = "担当者"
        verbose_name_plural = "担当者"
        ordering = ["organization", "user"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")
        ]

    def __str__(self):
        return f"{self.organization} / {self.user} ({self.get_role_display()})"


# 注2: the code is issued as eight half-width digits. [0-9], not \d, which
# would also accept full-width digits.
agency_code_validator = RegexValidator(
    r"^[0-9]{8}\Z",
    f"注2) {field_label('agency_code')}は半角数字8桁で入力してください（未発行の場合は空欄）。",
)


def validate_phone_number(value):
    """A Japanese number from its area code: 10 or 11 digits beginning with 0."""
    if not re.fullmatch(r"[0-9０-９()（） \u3000\-‐－―ー]+", value):
        raise ValidationError(
            "電話番号は数字とハイフンで入力してください（例: 03-5774-3631）。", code="invalid"
        )
    digits = re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", value))
    if not (digits.startswith("0") and len(digits) in (10, 11)):
        raise ValidationError(
            "電話番号は市外局番から10桁または11桁で入力してください（例: 03-5774-3631）。",
            code="invalid",
        )


def validate_prefectures(value):
    unknown = unknown_prefectures(value)
    if unknown:
        raise ValidationError(
            f"{field_caption('facility_prefectures')}を正しく入力してください（複数は「、」で区切る。例: 東京都、大阪府）: %(names)s",
            code="invalid",
            params={"names": "、".join(unknown)},
        )


# The largest integer every supported database stores in an integer column.
MAX_COUNT = 2_147_483_647


def count_field(verbose_name, *, help_text=""):
    """A head count or number of cases: a whole number ≥ 0, or blank."""
    return models.PositiveIntegerField(
        verbose_name,
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_COUNT)],
        help_text=help_text,
    )


def free_text_field(verbose_name, **kwargs):
    """A free-text description: at most FREE_TEXT_MAX_LENGTH characters and
    FREE_TEXT_MAX_LINES lines, so that it fits the PDF."""
    return models.TextField(
        verbose_name,
        max_length=FREE_TEXT_MAX_LENGTH,
        validators=text_validators(FREE_TEXT_MAX_LENGTH, FREE_TEXT_MAX_LINES),
        **kwargs,
    )


class Classification(models.TextChoices):
    """代行機関の分類 (注3: exactly one)."""

    INSURER_SIDE = "insurer", "医療保険者サイド"
    INSTITUTION_GROUP = "institution_group", "健診・保健指導機関サイド（健診機関グループ）"
    INSTITUTION_OTHER = "institution_other", "健診・保健指導機関サイド（健診機関グループ以外）"


class YesNo(models.TextChoices):
    YES = "yes", "有"
    NO = "no", "無"


class Selectable(models.TextChoices):
    YES = "yes", "可"
    NO = "no", "否"


class SeparateBilling(models.TextChoices):
    INCLUDED = "included", "無(健診委託費に含まれる)"
    BILLED = "billed", "有(下記)"


SERVICE_TARGETS = [("insurer", "保険者向け"), ("institution", "健診・保健指導機関向け")]
SERVICE_CONTENTS = [
    ("inspection", "事務点検"),
    ("billing", "請求・支払のとりまとめ・代行"),
    ("data_exchange", "健診・保健指導データの受領・振分・送付"),
    ("other", "その他"),
]
SYSTEM_AREAS = [
    ("own_facility", "専用施設(機関所有)"),
    ("contractor_facility", "専用施設(委託先)"),
    ("dedicated_area", "機関建物内専用区画"),
    ("none", "特に無し"),
]
DATA_EXCHANGE_METHODS = [("online", "オンライン"), ("offline", "オフライン")]


class SystemOwnership(models.TextChoices):
    OWN = "own", "自己導入"
    LEASED = "leased", "借用"


class SystemOperation(models.TextChoices):
    IN_HOUSE = "in_house", "自機関内"
    FULLY_OUTSOURCED = "full", "全部委託"
    PARTLY_OUTSOURCED = "partial", "一部委託"


class DisclosureSheet(models.Model):
    """The organisation's draft of the sheet: the only editable state."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sheet", verbose_name="代行機関"
    )
    checklist = models.OneToOneField(
        Checklist,
        on_delete=models.PROTECT,
        related_name="sheet",
        verbose_name="最低限のガイドライン遵守チェックリスト",
    )
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    # 基本情報
    name = models.CharField(
        **form_texts("name"),
        max_length=NAME_MAX_LENGTH,
        validators=[MaxLinesValidator(SHORT_TEXT_MAX_LINES)],
    )
    address = models.CharField(
        **form_texts("address"),
        max_length=ADDRESS_MAX_LENGTH,
        validators=[MaxLinesValidator(SHORT_TEXT_MAX_LINES)],
    )
    phone = models.CharField(**form_texts("phone"), max_length=30, validators=[validate_phone_number])
    website_url = URLField(**form_texts("website_url"), max_length=URL_MAX_LENGTH, blank=True)
    contact_email = models.EmailField(**form_texts("contact_email"), max_length=254, blank=True)
    agency_code = models.CharField(
        **form_texts("agency_code"),
        max_length=8,
        blank=True,
        validators=[agency_code_validator],
    )
    classification = models.CharField(
        **form_texts("classification"), max_length=20, choices=Classification.choices
    )

    # 施設及び設備情報
    staff_dedicated_own = count_field(**form_texts("staff_dedicated_own"))
    staff_dedicated_partner = count_field(**form_texts("staff_dedicated_partner"))
    staff_concurrent_own = count_field(**form_texts("staff_concurrent_own"))
    staff_concurrent_partner = count_field(**form_texts("staff_concurrent_partner"))
    staff_total_own = count_field(**form_texts("staff_total_own"))
    staff_total_partner = count_field(**form_texts("staff_total_partner"))
    facility_count = count_field(**form_texts("facility_count"))
    facility_prefectures = models.CharField(
        field_label("facility_prefectures"),
        max_length=SHORT_TEXT_MAX_LENGTH,
        blank=True,
        validators=[validate_prefectures],
        help_text="サポート拠点のある都道府県。複数は「、」で区切る。",
    )
    financial_reference = free_text_field(**form_texts("financial_reference"), blank=True)
    similar_services = models.CharField(
        **form_texts("similar_services"),
        max_length=3,
        choices=YesNo.choices,
        blank=True,
    )
    similar_services_detail = free_text_field(**form_texts("similar_services_detail"), blank=True)
    service_targets = ChoiceListField(**form_texts("service_targets"), choice_options=SERVICE_TARGETS)
    service_contents = ChoiceListField(**form_texts("service_contents"), choice_options=SERVICE_CONTENTS)
    service_contents_other = models.CharField(
        **form_texts("service_contents_other"), max_length=SHORT_TEXT_MAX_LENGTH, blank=True
    )
    insurer_selection = models.CharField(
        **form_texts("insurer_selection"), max_length=3, choices=Selectable.choices, blank=True
    )
    institution_selection = models.CharField(
        **form_texts("institution_selection"),
        max_length=3,
        choices=Selectable.choices,
        blank=True,
    )
    institution_selectable_functions = models.CharField(
        **form_texts("institution_selectable_functions"), max_length=SHORT_TEXT_MAX_LENGTH, blank=True
    )

    # 情報システムに関する情報
    service_start_date = models.DateField(**form_texts("service_start_date"), null=True, blank=True)
    system_ownership = models.CharField(
        **form_texts("system_ownership"), max_length=10, choices=SystemOwnership.choices, blank=True
    )
    system_operation = models.CharField(
        **form_texts("system_operation"), max_length=10, choices=SystemOperation.choices, blank=True
    )
    system_areas = ChoiceListField(**form_texts("system_areas"), choice_options=SYSTEM_AREAS)
    system_engineers_own = count_field(**form_texts("system_engineers_own"))
    system_engineers_contractor = count_field(**form_texts("system_engineers_contractor"))
    capacity_per_year = count_field(**form_texts("capacity_per_year"))
    capacity_per_day = count_field(**form_texts("capacity_per_day"))

    # 運営に関する情報
    hours_office = models.CharField(
        **form_texts("hours_office"),
        max_length=SHORT_TEXT_MAX_LENGTH,
        blank=True,
        validators=[MaxLinesValidator(SHORT_TEXT_MAX_LINES)],
    )
    hours_system = models.CharField(
        **form_texts("hours_system"),
        max_length=SHORT_TEXT_MAX_LENGTH,
        blank=True,
        validators=[MaxLinesValidator(SHORT_TEXT_MAX_LINES)],
    )
    hours_helpdesk = models.CharField(
        **form_texts("hours_helpdesk"),
        max_length=SHORT_TEXT_MAX_LENGTH,
        blank=True,
        validators=[MaxLinesValidator(SHORT_TEXT_MAX_LINES)],
    )
    data_in_methods = ChoiceListField(**form_texts("data_in_methods"), choice_options=DATA_EXCHANGE_METHODS)
    data_in_line = models.CharField(
        **form_texts("data_in_line"), max_length=SHORT_TEXT_MAX_LENGTH, blank=True
    )
    data_in_media = models.CharField(
        **form_texts("data_in_media"), max_length=SHORT_TEXT_MAX_LENGTH, blank=True
    )
    data_out_methods = ChoiceListField(**form_texts("data_out_methods"), choice_options=DATA_EXCHANGE_METHODS)
    data_out_line = models.CharField(
        **form_texts("data_out_line"), max_length=SHORT_TEXT_MAX_LENGTH, blank=True
    )
    data_out_media = models.CharField(
        **form_texts("data_out_media"), max_length=SHORT_TEXT_MAX_LENGTH, blank=True
    )
    security_online = free_text_field(**form_texts("security_online"), blank=True)
    security_offline = free_text_field(**form_texts("security_offline"), blank=True)

    # 事務手数料等 (注10: tax included)
    fee_initial_insurer = free_text_field(**form_texts("fee_initial_insurer"), blank=True)
    fee_initial_institution = free_text_field(**form_texts("fee_initial_institution"), blank=True)
    fee_separate_billing_insurer = models.CharField(
        **form_texts("fee_separate_billing_insurer"),
        max_length=10,
        choices=SeparateBilling.choices,
        blank=True,
    )
    fee_separate_billing_institution = models.CharField(
        **form_texts("fee_separate_billing_institution"),
        max_length=10,
        choices=SeparateBilling.choices,
        blank=True,
    )
    fee_fixed_insurer = free_text_field(**form_texts("fee_fixed_insurer"), blank=True)
    fee_fixed_institution = free_text_field(**form_texts("fee_fixed_institution"), blank=True)
    fee_unit_insurer = free_text_field(**form_texts("fee_unit_insurer"), blank=True)
    fee_unit_institution = free_text_field(**form_texts("fee_unit_institution"), blank=True)
    required_equipment = free_text_field(**form_texts("required_equipment"), blank=True)

    # その他
    cases_last_year_per_year = count_field(**form_texts("cases_last_year_per_year"))
    cases_last_year_per_day = count_field(**form_texts("cases_last_year_per_day"))

    history = HistoricalRecords(verbose_name="重要事項の概要（下書き）の変更履歴")

    class Meta:
        verbose_name = "事業運営上開示すべき重要事項の概要（下書き）"
        verbose_name_plural = "事業運営上開示すべき重要事項の概要（下書き）"
        ordering = ["organization__name"]

    def __str__(self):
        return self.name or str(self.organization)

    def guideline_compliance(self):
        """ガイドラインの遵守, computed from the checklist (注8), never typed."""
        return self.checklist.compliance()

    def clean(self):
        errors = {}

        def add(field, message):
            errors.setdefault(field, []).append(message)

        for field in ("name", "address", "phone"):
            value = getattr(self, field)
            if value and not value.strip():
                add(field, "注1) 空白だけでなく、正式な名称等を入力してください。")
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname)
            if isinstance(field, (models.CharField, models.TextField)) and isinstance(value, str):
                try:
                    validate_printable(value)
                except ValidationError as error:
                    for message in error.messages:
                        add(field.name, message)
        self._check_staff_counts(add)
        self._check_details(add)
        if "none" in self.system_areas and len(self.system_areas) > 1:
            add(
                "system_areas",
                "「特に無し」を選んだ場合は、他の専用区画・施設を選ばないでください。",
            )
        if errors:
            raise ValidationError(errors)

    def _check_staff_counts(self, add):
        total_label = row_labels("staff_total_own")[-1]  # 全職員の数
        for column in ("own", "partner"):
            label = field_caption(f"staff_total_{column}")  # 機関本体, 協力・関係会社
            dedicated = getattr(self, f"staff_dedicated_{column}")
            concurrent = getattr(self, f"staff_concurrent_{column}")
            total = getattr(self, f"staff_total_{column}")
            if total is not None and (dedicated or 0) + (concurrent or 0) > total:
                add(
                    f"staff_total_{column}",
                    f"{label}の専任と兼任の合計（{(dedicated or 0) + (concurrent or 0)}人）が"
                    f"{total_label}（{total}人）を超えています。",
                )
        # 注5: blank means no partner companies exist, 0 that they exist but
        # do not take part: the three counts are all blank or all filled.
        partner = ("staff_dedicated_partner", "staff_concurrent_partner", "staff_total_partner")
        blank = [f for f in partner if getattr(self, f) is None]
        if blank and len(blank) < len(partner):
            for field in blank:
                add(
                    field,
                    f"注5) {field_caption('staff_total_partner')}がない場合は専任・兼任・全職員をすべて空欄に、"
                    "ある場合はすべて記入してください（従事していない場合は0）。",
                )

    def _check_details(self, add):
        """A ticked box that asks for words (有(内容), その他(), …) needs them, and
        words belong only to a ticked box."""
        methods = dict(DATA_EXCHANGE_METHODS)

        def of_row(field, option):  # 外部から機関への「オンライン」
            return f"{row_labels(field)[-1]}の「{option}」"

        rules = (
            (self.similar_services == YesNo.YES, "similar_services_detail", f"「{YesNo.YES.label}」"),
            (
                "other" in self.service_contents,
                "service_contents_other",
                f"「{dict(SERVICE_CONTENTS)['other']}」",
            ),
            (
                self.institution_selection == Selectable.YES,
                "institution_selectable_functions",
                of_row("institution_selection", Selectable.YES.label),
            ),
            ("online" in self.data_in_methods, "data_in_line", of_row("data_in_methods", methods["online"])),
            (
                "offline" in self.data_in_methods,
                "data_in_media",
                of_row("data_in_methods", methods["offline"]),
            ),
            (
                "online" in self.data_out_methods,
                "data_out_line",
                of_row("data_out_methods", methods["online"]),
            ),
            (
                "offline" in self.data_out_methods,
                "data_out_media",
                of_row("data_out_methods", methods["offline"]),
            ),
        )
        for ticked, field, box in rules:
            # The words the box asks for, as the form names them (内容, 回線種別, …);
            # その他(…) names none: it is the row's 内容.
            words = field_caption(field) if field != "service_contents_other" else row_labels(field)[-1]
            value = getattr(self, field).strip()
            if ticked and not value:
                add(field, f"{box}を選んだ場合は{words}を記入してください。")
            elif value and not ticked:
                add(field, f"{words}は{box}を選んだ場合にだけ記入してください。")


class PublicationQuerySet(models.QuerySet):
    """Versions are never changed or removed, in bulk either.

    The one definition of what the public sees: live() (a version whose go-live
    time has come and whose schedule was not cancelled), and of "the current
    version": an organisation's live version with the highest number. Views,
    feeds, the archive, /verify/, the admin and publish() ask for them here.
    """

    def live(self, now=None):
        """The versions the public sees at `now` (by default, now): published at
        once (live_from is published_at: public from its commit, whatever a clock
        says), or scheduled for a go-live time that has come; never a cancelled one."""
        return self.filter(
            models.Q(live_from__lte=now or timezone.now()) | models.Q(live_from=models.F("published_at")),
            cancellation__isnull=True,
        )

    def scheduled(self, now=None):
        """Versions waiting for their go-live time (not cancelled): never public."""
        return self.filter(
            live_from__gt=now or timezone.now(),
            cancellation__isnull=True,
        ).filter(live_from__gt=models.F("published_at"))

    def go_live_times(self):
        """The versions published with a go-live time (cancelled ones aside)."""
        return self.filter(live_from__gt=models.F("published_at"), cancellation__isnull=True)

    def for_slug(self, slug, now=None):
        """The live versions of the organisation whose URL name is `slug`, with the organisation."""
        return self.live(now).filter(organization__slug=slug).select_related("organization")

    def newest_first(self):
        return self.order_by("-number")

    def current(self, now=None):
        """The current version of each organisation (one row per organisation)."""
        now = now or timezone.now()
        return self.live(now).filter(number=current_version_value("number", now=now))

    def with_current(self, now=None):
        """Each version with its organisation's current number and go-live time
        (latest_number, latest_live_from), read in the same query."""
        now = now or timezone.now()
        return self.annotate(
            latest_number=current_version_value("number", now=now),
            latest_live_from=current_version_value("live_from", now=now),
        )

    def update(self, **kwargs):
        raise ValueError("Publications are never changed.")

    def delete(self):
        raise ValueError("Publications are never deleted.")


class PublicationAltered(Exception):
    """A publication's stored snapshot or PDF no longer matches the hash taken at publish."""

    def __init__(self, publication, reasons):
        self.publication = publication
        self.reasons = reasons
        super().__init__(f"{publication.organization_id}/{publication.number}: " + ", ".join(reasons))


class Publication(models.Model):
    """A published version: numbered per organisation, frozen once saved.

    Made only by disclosures.publishing.publish().
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="publications", verbose_name="代行機関"
    )
    number = models.PositiveIntegerField("版")
    # When the version was numbered and frozen (the 公開 button); live_from is when
    # the public sees it: the same moment, or a go-live time chosen then (scheduled).
    published_at = models.DateTimeField("公開日時")
    live_from = models.DateTimeField(
        "公開開始日時",
        db_index=True,
        help_text="この日時から公開ページに表示されます（即時公開では公開日時と同じ）。",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="publications",
        verbose_name="公開者",
    )
    change_note = models.TextField(
        "変更内容",
        max_length=CHANGE_NOTE_MAX_LENGTH,
        validators=text_validators(CHANGE_NOTE_MAX_LENGTH, FREE_TEXT_MAX_LINES),
    )
    snapshot = models.JSONField("スナップショット")
    snapshot_sha256 = models.CharField("スナップショットのSHA-256", max_length=64)
    sheet_digest = models.CharField("概要の内容ダイジェスト", max_length=64)
    checklist_digest = models.CharField("チェックリストの内容ダイジェスト", max_length=64)
    sheet_updated_on = models.DateField("最終更新日（重要事項の概要）")
    checklist_updated_on = models.DateField("最終更新日（チェックリスト）")
    # Rendered once, at publish time, from the snapshot; never re-rendered.
    pdf = models.BinaryField("PDF")
    # Indexed: /verify/ looks a copy up by the hash of its bytes.
    pdf_sha256 = models.CharField("PDFのSHA-256", max_length=64, db_index=True)
    # Copies for lists and feeds, so they need not read the snapshot.
    title = models.CharField(field_label("name"), max_length=200)
    classification = models.CharField(
        field_label("classification"), max_length=20, choices=Classification.choices
    )

    objects = PublicationQuerySet.as_manager()

    class Meta:
        verbose_name = "公開版"
        verbose_name_plural = "公開版"
        ordering = ["organization", "-number"]
        get_latest_by = "number"
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="one_number_per_version"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="version_numbers_start_at_1"),
        ]
        indexes = [
            # Which version is current (Publication.objects.current(): the highest number
            # live by now, per organisation), read from this index alone: in SQLite the
            # rows themselves hold the PDF and the snapshot before these columns, and
            # reading them took 20 ms for 1,000 organisations (2 ms from the index).
            models.Index(
                fields=["organization", "number", "live_from", "published_at"], name="publication_current"
            ),
        ]

    def __str__(self):
        return f"{self.title} 第{self.number}版"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A publication never changes once saved.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("A publication is never deleted.")

    def altered_artefacts(self):
        """Why the stored snapshot and PDF are not what was published (empty: they are)."""
        deferred = self.get_deferred_fields() & {"snapshot", "pdf"}
        if deferred:
            self.refresh_from_db(fields=sorted(deferred))  # one query for both
        reasons = []
        if sha256_of(self.snapshot) != self.snapshot_sha256:
            reasons.append("snapshot does not match snapshot_sha256")
        if pdf_sha256(bytes(self.pdf)) != self.pdf_sha256:
            reasons.append("PDF does not match pdf_sha256")
        return reasons

    def verify_artefacts(self):
        """Raise PublicationAltered unless the snapshot and PDF match their hashes."""
        reasons = self.altered_artefacts()
        if reasons:
            raise PublicationAltered(self, reasons)

    @property
    def last_updated_on(self):
        return max(self.sheet_updated_on, self.checklist_updated_on)

    def get_absolute_url(self):
        """This version's permanent page (the admin's 「サイトで表示」 too)."""
        return reverse("disclosures:version", kwargs={"slug": self.organization.slug, "number": self.number})


def current_version_value(field, organization=None, now=None):
    """`field` of the current (live) version of `organization` (an outer reference
    to an organisation; by default the outer query's "organization"), as a
    subquery for annotations and filters."""
    if organization is None:
        organization = models.OuterRef("organization")
    newest = Publication.objects.live(now).filter(organization=organization).newest_first()
    return models.Subquery(newest.values(field)[:1])


class ScheduleCancellation(models.Model):
    """A scheduled version withdrawn before its go-live time.

    The version itself is never changed or deleted (a publication is immutable):
    this record says it will never be public. Its number is not used again; the
    public, which never saw it, sees the next version follow the previous one.
    """

    publication = models.OneToOneField(
        Publication, on_delete=models.PROTECT, related_name="cancellation", verbose_name="公開版"
    )
    cancelled_at = models.DateTimeField("取消日時")
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="schedule_cancellations",
        verbose_name="取消者",
    )
    history = HistoricalRecords(verbose_name="公開予定の取消の履歴")

    class Meta:
        verbose_name = "公開予定の取消"
        verbose_name_plural = "公開予定の取消"
        ordering = ["-cancelled_at"]

    def __str__(self):
        return f"{self.publication} 取消"


@receiver(pre_save, sender=Publication)
def refuse_overwriting_a_publication(sender, instance, raw, using, **kwargs):
    """loaddata saves raw (Model.save_base), bypassing Publication.save(): a fixture
    whose row has the id of an existing version must not replace it."""
    if raw and instance.pk is not None and sender._base_manager.using(using).filter(pk=instance.pk).exists():
        raise ValueError(
            f"公開版（id={instance.pk}）は既にあり、変更できません。公開版は上書きも削除もできません。"
        )


class PublicationRequest(models.Model):
    """公開を依頼: a member asks the organisation's 公開責任者 to publish the draft as
    it is now. The draft's digests are recorded, so that only that content can be
    published from the request (disclosures/review.py; publishing.PublishAction).

    At most one open request per organisation: a new request replaces the open one.
    """

    class Status(models.TextChoices):
        OPEN = "open", "承認待ち"
        PUBLISHED = "published", "承認・公開済"
        RETURNED = "returned", "差し戻し"
        WITHDRAWN = "withdrawn", "取り下げ"
        REPLACED = "replaced", "新しい依頼に置き換え"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="publication_requests", verbose_name="代行機関"
    )
    status = models.CharField("状態", max_length=20, choices=Status.choices, default=Status.OPEN)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="publication_requests",
        verbose_name="依頼者",
    )
    requested_at = models.DateTimeField("依頼日時")
    note = models.TextField(
        "依頼メモ",
        max_length=CHANGE_NOTE_MAX_LENGTH,
        validators=[validate_printable, *text_validators(CHANGE_NOTE_MAX_LENGTH, FREE_TEXT_MAX_LINES)],
        help_text="何を変更したか、公開責任者に伝えることを書きます。公開時の「変更内容」の初期値になります。",
    )
    # The draft as it was asked for: its digests decide whether it changed since.
    snapshot = models.JSONField("依頼時の下書き（スナップショット）")
    sheet_digest = models.CharField("依頼時の概要の内容ダイジェスト", max_length=64)
    checklist_digest = models.CharField("依頼時のチェックリストの内容ダイジェスト", max_length=64)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="対応者",
    )
    decided_at = models.DateTimeField("対応日時", null=True, blank=True)
    comment = models.TextField(
        "差し戻しコメント",
        max_length=CHANGE_NOTE_MAX_LENGTH,
        blank=True,
        validators=[
            validate_no_control_characters,
            *text_validators(CHANGE_NOTE_MAX_LENGTH, FREE_TEXT_MAX_LINES),
        ],
    )
    publication = models.OneToOneField(
        Publication,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="request",
        verbose_name="公開した版",
    )
    history = HistoricalRecords(verbose_name="公開依頼の履歴", excluded_fields=["snapshot"])

    class Meta:
        verbose_name = "公開依頼"
        verbose_name_plural = "公開依頼"
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(status="open"),
                name="one_open_request_per_organization",
            )
        ]

    def __str__(self):
        return f"{self.organization} の公開依頼（{self.get_status_display()}）"

    @property
    def is_open(self):
        return self.status == self.Status.OPEN

    @property
    def digests(self):
        return self.sheet_digest, self.checklist_digest

    def save_step(self, user, step):
        """Save one step of the request: its history row names the actor and the step."""
        self._history_user = user
        self._change_reason = step
        self.save()


class DirectoryEntry(models.Model):
    """What the directory (/) filters, searches and shows of a version, computed once
    from its snapshot when it is published (disclosures/directory_facts.py).

    Derived data, not part of the version: it can be rebuilt from the snapshot at
    any time (the data migration that introduced it did so).
    """

    publication = models.OneToOneField(
        Publication,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="directory_entry",
        verbose_name="公開版",
    )
    # Copies of the version's own columns: the directory reads this narrow table and
    # the index of versions only, never a version's row (SQLite stores it with the
    # snapshot and PDF: a page read per version).
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", verbose_name="代行機関"
    )
    number = models.PositiveIntegerField("版")
    title = models.CharField(field_label("name"), max_length=200, db_index=True)
    classification = models.CharField(
        field_label("classification"), max_length=20, choices=Classification.choices, db_index=True
    )
    sheet_updated_on = models.DateField("最終更新日（重要事項の概要）")
    checklist_updated_on = models.DateField("最終更新日（チェックリスト）")
    # Codes between bars (|insurer|institution|): a filter is a LIKE on "|insurer|".
    service_targets = models.CharField(field_label("service_targets"), max_length=100, blank=True)
    service_contents = models.CharField(field_label("service_contents"), max_length=100, blank=True)
    service_contents_other = models.CharField(
        field_label("service_contents_other"), max_length=SHORT_TEXT_MAX_LENGTH, blank=True
    )
    prefectures = models.CharField(field_label("facility_prefectures"), max_length=500, blank=True)
    compliance = models.CharField(
        field_label("guideline_compliance"), max_length=20, blank=True, db_index=True
    )
    checklist_total = models.PositiveIntegerField("チェック項目の数")
    checklist_done = models.PositiveIntegerField("実施済の項目の数")
    checklist_planned = models.PositiveIntegerField("実施予定の項目の数")
    latest_planned_time = models.CharField("最終の実施予定", max_length=200, blank=True)
    # Every published text value, normalised (NFKC, case folded), one per line.
    search_text = models.TextField("検索用の文字列", blank=True)

    class Meta:
        verbose_name = "一覧の項目"
        verbose_name_plural = "一覧の項目"

    def __str__(self):
        return str(self.publication_id)

    @classmethod
    def for_publication(cls, publication):
        """The entry of `publication` (not saved), from its snapshot and columns."""
        return cls(
            publication=publication,
            organization_id=publication.organization_id,
            number=publication.number,
            title=publication.title,
            classification=publication.classification,
            sheet_updated_on=publication.sheet_updated_on,
            checklist_updated_on=publication.checklist_updated_on,
            **directory_facts(publication.snapshot),
        )

    @property
    def checklist_summary(self):
        return ChecklistSummary(
            total=self.checklist_total,
            done=self.checklist_done,
            planned=self.checklist_planned,
            latest_planned_time=self.latest_planned_time,
        )


class ReminderDigest(models.Model):
    """The day (Asia/Tokyo) a user was last sent the reminders digest: at most one a
    day, however often `manage.py send_reminders` runs."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reminder_digest",
        verbose_name="ユーザー",
    )
    last_sent_on = models.DateField("最後に送った日")

    class Meta:
        verbose_name = "お知らせメールの送信記録"
        verbose_name_plural = "お知らせメールの送信記録"

    def __str__(self):
        return f"{self.user}: {self.last_sent_on}"
