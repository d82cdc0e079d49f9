"""App configurations: our admin site, and Japanese names for third-party apps.

Staff read every app and model name in the admin, so the apps we install are
listed here under a Japanese verbose_name (INSTALLED_APPS names these classes).
"""

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPAppConfig
from django_tasks_db.apps import TasksAppConfig


class PortalAdminConfig(AdminConfig):
    default_site = "disclosure_portal.admin_site.PortalAdminSite"


class AxesConfig(AxesAppConfig):
    verbose_name = "ログイン試行の記録"  # its models are translated in locale/ja


class OTPConfig(AppConfig):
    name = "django_otp"
    verbose_name = "二段階認証"


# django-otp names TOTPDevice and its fields in plain English strings, which
# gettext cannot translate. Migrations read Meta's and each field's original
# arguments (Options.original_attrs, Field._verbose_name), so renaming here
# changes what the admin shows and nothing in the schema.
TOTP_DEVICE_NAMES = {
    "verbose_name": "二段階認証の端末（TOTP）",
    "verbose_name_plural": "二段階認証の端末（TOTP）",
}
TOTP_FIELD_NAMES = {
    "user": "ユーザー",
    "name": "端末名",
    "confirmed": "確認済み",
    "throttling_failure_timestamp": "最後に確認コードを誤った日時",
    "throttling_failure_count": "確認コードの連続誤り回数",
    "created_at": "登録日時",
    "last_used_at": "最終使用日時",
    "key": "秘密鍵",
    "step": "時間間隔（秒）",
    "t0": "開始時刻（Unix時間）",
    "digits": "桁数",
    "tolerance": "許容する時間間隔の数",
    "drift": "時刻のずれ",
    "last_t": "最後に確認した時間間隔",
}


class TOTPConfig(TOTPAppConfig):
    verbose_name = "二段階認証（TOTP）"

    def ready(self):
        super().ready()
        device = self.get_model("TOTPDevice")
        for attribute, name in TOTP_DEVICE_NAMES.items():
            setattr(device._meta, attribute, name)
        for field_name, name in TOTP_FIELD_NAMES.items():
            device._meta.get_field(field_name).verbose_name = name


class SimpleHistoryConfig(AppConfig):
    name = "simple_history"
    verbose_name = "変更履歴"


class TasksDatabaseConfig(TasksAppConfig):
    """django_tasks_db: background tasks (mail), shown to superusers only."""

    verbose_name = "バックグラウンド処理"

    def ready(self):
        super().ready()
        result = self.get_model("DBTaskResult")
        result._meta.verbose_name = "処理の記録"
        result._meta.verbose_name_plural = "処理の記録（メール送信など）"
