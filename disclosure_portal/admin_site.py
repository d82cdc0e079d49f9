"""The admin site: Japanese, with an optional TOTP code at login (django-otp).

A staff member who registered a TOTP device must give its code to log in;
one who has none logs in with the password alone. Whether publishing needs a
verified login is disclosures.publishing's decision (PUBLISHERS_REQUIRE_OTP).
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
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

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": "二段階認証の確認コードを入力してください。",
        "invalid_token": "確認コードが正しくありません。もう一度入力してください。",
        "n_failed_attempts": "確認コードの誤りが続いたため、しばらく入力できません。時間をおいて再度お試しください。",
        "verification_not_allowed": "確認コードを検証できません。時間をおいて再度お試しください。",
        "device_required": "二段階認証の端末が登録されていません。管理者にお問い合わせください。",
    }

    def _chosen_device(self, user):
        # The form asks for no device: a staff member's TOTP device is used.
        return super()._chosen_device(user) or next(
            iter(TOTPDevice.objects.devices_for_user(user, confirmed=True)), None
        )

    def clean(self):
        cleaned_data = super().clean()
        user = self.get_user()
        if user is not None and any(devices_for_user(user, confirmed=True)):
            self.clean_otp(user)
        return cleaned_data


class PortalAdminSite(admin.AdminSite):
    site_header = "重要事項開示ポータル 管理"
    site_title = "重要事項開示ポータル"
    index_title = "管理メニュー"
    login_form = PortalAuthenticationForm
    login_template = "admin/portal_login.html"
