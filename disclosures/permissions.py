"""Who may do what with an organisation's drafts and versions.

Superusers: everything. Members: 編集者 edit the drafts, 公開責任者 edit and
publish, each only for the organisations they belong to.
"""

from django.conf import settings

from .models import Membership


def roles_of(user):
    """{organization id: role} for the user, read once per user object (request)."""
    if not user.is_authenticated:
        return {}
    if not hasattr(user, "_portal_roles"):
        user._portal_roles = dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))
    return user._portal_roles


def is_member(user, organization_id=None):
    """Member of that organisation, or of any when organization_id is None."""
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    roles = roles_of(user)
    return bool(roles) if organization_id is None else organization_id in roles


def may_publish(user, organization_id):
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or roles_of(user).get(organization_id) == Membership.Role.PUBLISHER


def publish_refusal(user, organization_id):
    """Why `user` may not publish for the organisation, or None when they may."""
    if not may_publish(user, organization_id):
        return "この代行機関の公開権限（公開責任者）がありません。"
    if settings.PUBLISHERS_REQUIRE_OTP and not getattr(user, "is_verified", lambda: False)():
        return (
            "公開するには二段階認証（確認コード）でログインしてください。"
            "認証アプリの登録は管理者に依頼してください。"
        )
    return None
