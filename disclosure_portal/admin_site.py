"""The admin site: Japanese, with an optional TOTP code at login (django-otp),
and no 500 from a hand-made admin URL, for every registered admin.

A staff member who registered a TOTP device must give its code to log in;
one who has none logs in with the password alone. A wrong or missing code
gets the same answer as a wrong password (the page must not confirm that a
password is right) and counts as a failed login for django-axes. Whether
publishing needs a verified login is disclosures.publishing's decision
(PUBLISHERS_REQUIRE_OTP).
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import EmptyResultSet, SuspiciousOperation, ValidationError
from django.http import Http404
from django_otp import devices_for_user
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice


class PortalAuthenticationForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):
    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_token = forms.CharField(
        label="確認コード（二段階認証）",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text="二段階認証を設定している場合は、認証アプリに表示される6桁のコードを入力してください。",
    )
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        # One message for every failure: wrong password, not staff, wrong or missing code.
        "invalid_login": "ユーザー名、パスワード、確認コード（二段階認証を設定している場合）を正しく入力してください。"
        "大文字と小文字は区別されます。",
    }

    def _chosen_device(self, user):
        # The form asks for no device: a staff member's TOTP device is used.
        return super()._chosen_device(user) or next(
            iter(TOTPDevice.objects.devices_for_user(user, confirmed=True)), None
        )

    def _update_form(self, user):
        # django-otp would list the user's devices and send the password back in
        # the page: both would tell a wrong code from a wrong password.
        pass

    def clean(self):
        cleaned_data = super().clean()
        user = self.get_user()
        if user is not None and any(devices_for_user(user, confirmed=True)):
            try:
                self.clean_otp(user)
            except ValidationError:
                # What authenticate() does for a wrong password: django-axes counts it.
                user_login_failed.send(
                    sender=type(self),
                    credentials={"username": self.cleaned_data.get("username")},
                    request=self.request,
                )
                self.user_cache = None
                raise self.get_invalid_login_error() from None
        return cleaned_data


class PortalAdminSite(admin.AdminSite):
    site_header = "重要事項開示ポータル 管理"
    site_title = "重要事項開示ポータル"
    index_title = "管理メニュー"
    login_form = PortalAuthenticationForm
    login_template = "admin/portal_login.html"

    index_template = "admin/portal_index.html"

    def index(self, request, extra_context=None):
        """The admin index, with what each of the user's organisations should be
        reminded of above the applications (disclosures.reminders)."""
        from disclosures.reminders import dashboard_context

        return super().index(request, extra_context={**dashboard_context(request), **(extra_context or {})})

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin registered here, whoever wrote it, gets the safe
        lookups (and, with a change history, the safe history ids)."""
        from simple_history.admin import SimpleHistoryAdmin

        admin_class = admin_class or admin.ModelAdmin
        mixins = [SafeLookupsAdmin]
        if issubclass(admin_class, SimpleHistoryAdmin):
            mixins.append(SafeHistoryIdsAdmin)
        mixins = [mixin for mixin in mixins if not issubclass(admin_class, mixin)]
        if mixins:
            admin_class = type(
                admin_class.__name__, (*mixins, admin_class), {"__module__": admin_class.__module__}
            )
        super().register(model_or_iterable, admin_class, **options)

    def get_urls(self):
        """「サイト上で表示」 redirects only to objects the user may view in this admin."""
        from django.urls import path

        urls = super().get_urls()
        for index, pattern in enumerate(urls):
            if getattr(pattern, "name", None) == "view_on_site":
                urls[index] = path(
                    str(pattern.pattern), self.admin_view(self.view_on_site), name="view_on_site"
                )
        return urls

    def view_on_site(self, request, content_type_id, object_id):
        """Django's shortcut redirects to any object's get_absolute_url(): it would tell
        a staff member the public address (slug) of another organisation. Only an
        object the registered ModelAdmin shows this user is redirected to."""
        from django.contrib.contenttypes.models import ContentType
        from django.contrib.contenttypes.views import shortcut

        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except (ContentType.DoesNotExist, ValueError):
            raise Http404("見つかりません。") from None
        model_admin = self._registry.get(model)
        obj = model_admin.get_object(request, unquote(object_id)) if model_admin else None
        if obj is None or not model_admin.has_view_permission(request, obj):
            raise Http404("見つかりません。")
        return shortcut(request, content_type_id, object_id)


# --- no 500 from a hand-made admin URL ---------------------------------------

# SQLite stores integers in 64 bits and PostgreSQL's largest is bigint: a value
# outside reaches neither (SQLite raises OverflowError while binding it).
DATABASE_INTEGERS = range(-(2**63), 2**63)


class OutOfRangeLookup(SuspiciousOperation):
    """A list's query string holds a value no database column can: answered with 400."""


def refuse_values_no_database_holds(queryset):
    """Raise OutOfRangeLookup when the queryset's SQL would carry an integer outside
    64 bits (?organization__id__in=<20 digits>, ?groups__in=…) or a NUL character
    (PostgreSQL refuses it in text)."""
    try:
        _sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    except EmptyResultSet:
        return  # Django already knows nothing matches (?id=<20 digits>)
    for value in params:
        if isinstance(value, int) and value not in DATABASE_INTEGERS:
            raise OutOfRangeLookup(f"Lookup value out of range: {value}")
        if isinstance(value, str) and "\x00" in value:
            raise OutOfRangeLookup("Lookup value with a NUL character")


class ChangeListOfSafeLookups:
    """Mixed into each admin's ChangeList: a date hierarchy date Python cannot
    hold (year 10**20, or the year after 9999 that Django computes as the end
    of year 9999) is a bad lookup like any other, and values no database holds
    are refused before they reach it (the facet counts go through get_queryset
    too)."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            if not (self.date_hierarchy and f"{self.date_hierarchy}__year" in self.params):
                raise
            raise IncorrectLookupParameters(error) from error

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        refuse_values_no_database_holds(queryset)
        return queryset


class SafeLookupsAdmin:
    """Mixed into every registered ModelAdmin (ours, Django's, third-party ones)."""

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        if issubclass(changelist, ChangeListOfSafeLookups):
            return changelist
        return type(changelist.__name__, (ChangeListOfSafeLookups, changelist), {})


class SafeHistoryIdsAdmin:
    """Mixed into every registered SimpleHistoryAdmin: an object or version id that
    is not one (`abc`, `1.5`) is a 404, not a ValueError from the database."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        history_model = getattr(self.model, self.model._meta.simple_history_manager_attribute).model
        for field, value in ((self.model._meta.pk, unquote(object_id)), (history_model._meta.pk, version_id)):
            try:
                value = field.to_python(value)
            except ValidationError:
                raise Http404("見つかりません。") from None
            if isinstance(value, int) and value not in DATABASE_INTEGERS:
                raise Http404("見つかりません。")
        return super().history_form_view(request, object_id, version_id, extra_context)
