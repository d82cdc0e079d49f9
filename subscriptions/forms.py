"""The public forms, laid out by django-crispy-forms with the "portal" template pack
(templates/portal/: plain markup styled by static/css/portal.css, no Bootstrap)."""

import unicodedata

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Layout, Submit
from django import forms
from django.contrib.auth.base_user import BaseUserManager

from disclosure_portal.validators import validate_no_control_characters

EMAIL_MAX_LENGTH = 254  # RFC 5321's path limit, as Django's EmailField


class PortalSubmit(Submit):
    field_classes = "button"


def portal_helper(action, submit_label):
    """Posted without a CSRF token: the views are exempt (subscriptions/views.py says why)."""
    helper = FormHelper()
    helper.template_pack = "portal"
    helper.form_action = action
    helper.disable_csrf = True
    helper.add_input(PortalSubmit("submit", submit_label))
    return helper


class EmailAddressField(forms.EmailField):
    """An address typed with the IME on (ｔａｎａｋａ＠ｅｘａｍｐｌｅ．ｊｐ) is read as half-width."""

    def to_python(self, value):
        return unicodedata.normalize("NFKC", super().to_python(value))


class SubscribeForm(forms.Form):
    email = EmailAddressField(
        label="メールアドレス",
        max_length=EMAIL_MAX_LENGTH,
        help_text="確認のメールをお送りします。メールのリンクから登録を完了するまで、アドレスは保存されません。",
        validators=[validate_no_control_characters],
        error_messages={
            "required": "メールアドレスを入力してください。",
            "invalid": "メールアドレスの形式が正しくありません（例: tanaka@example.jp）。",
            "max_length": f"メールアドレスは{EMAIL_MAX_LENGTH}文字以内で入力してください。",
            "null_characters_not_allowed": "制御文字など表示できない文字が含まれています。",
        },
    )

    def __init__(self, *args, action, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = portal_helper(action, "確認のメールを送る")
        self.helper.form_class = "subscribe-form"
        self.helper.layout = Layout(Field("email", autocomplete="email", spellcheck="false"))

    def clean_email(self):
        return BaseUserManager.normalize_email(self.cleaned_data["email"])


class ConfirmForm(forms.Form):
    """The button that completes a subscription: a link checker or a mail scanner
    that opens the link (GET) subscribes no one."""

    def __init__(self, *args, action, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = portal_helper(action, "登録する")
