"""Who may do what with an organisation's drafts and versions.

Superusers: everything. Members: 編集者 edit the drafts, 公開責任者 edit and
publish, each only for the organisations they belong to. An organisation with
four eyes (Organization.four_eyes) publishes only from another person's request.
"""

from django.conf import settings

from .models import Membership, Organization


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


FOUR_EYES_OWN_REQUEST = (
    "自分の依頼は自分で承認・公開できません（4つの目）。この代行機関の別の公開責任者が承認してください。"
)
FOUR_EYES_NO_REQUEST = (
    "この代行機関では、公開は別の担当者の公開依頼を承認して行います（4つの目）。"
    "「公開を依頼」から依頼し、別の公開責任者が承認してください。"
)


def four_eyes_refusal(user, organization_id, request=None):
    """Why four eyes forbid `user` to publish (from `request`, a PublicationRequest,
    or from none), or None. Superusers too: the rule is the organisation's."""
    if user is None or not Organization.objects.filter(pk=organization_id, four_eyes=True).exists():
        return None
    if request is None:
        return FOUR_EYES_NO_REQUEST
    if request.requested_by_id == user.pk:
        return FOUR_EYES_OWN_REQUEST
    return None
