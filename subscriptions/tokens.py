"""The signed links of the mails (django.core.signing, under the SECRET_KEY).

Confirmation: the address and the organisation asked for, signed with a time
stamp; nothing is stored until the link is followed, and it expires after
CONFIRMATION_MAX_AGE. Unsubscribe: the subscription's id, signed, without expiry
(an old mail's link still works). Each kind has its own salt, so that one token
is never accepted as the other.
"""

from datetime import timedelta

from django.core import signing

CONFIRMATION_SALT = "subscriptions.confirm"
UNSUBSCRIBE_SALT = "subscriptions.unsubscribe"
CONFIRMATION_MAX_AGE = timedelta(hours=48)
# What a token may look like in a URL (base64url, ":" between its parts): anything
# else, or longer, is a 404 before any signature check.
TOKEN_PATTERN = "[-A-Za-z0-9_:]{1,600}"


class InvalidLink(Exception):
    """A link that cannot be used; `message` says why, in Japanese."""

    def __init__(self, message):
        self.message = message
        super().__init__(message)


EXPIRED = (
    f"この確認用リンクは有効期限（{CONFIRMATION_MAX_AGE.days * 24}時間）が切れています。"
    "お手数ですが、もう一度登録してください。"
)
TAMPERED = "このリンクは正しくありません。メールに記載されたリンクを、途中で切れたり変わったりしないよう、そのまま開いてください。"


def confirmation_token(email, organization):
    """The link's token: `email` asks for the versions of `organization` (None: all)."""
    payload = {"e": email, "o": organization.pk if organization else None}
    return signing.TimestampSigner(salt=CONFIRMATION_SALT).sign_object(payload)


def read_confirmation_token(token):
    """(email, organisation id or None); InvalidLink if expired or not ours."""
    try:
        payload = signing.TimestampSigner(salt=CONFIRMATION_SALT).unsign_object(
            token, max_age=CONFIRMATION_MAX_AGE
        )
    except signing.SignatureExpired as error:
        raise InvalidLink(EXPIRED) from error
    except (signing.BadSignature, ValueError) as error:  # ValueError: signed but not our JSON
        raise InvalidLink(TAMPERED) from error
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), str):
        raise InvalidLink(TAMPERED)
    organization_id = payload.get("o")
    if organization_id is not None and not isinstance(organization_id, int):
        raise InvalidLink(TAMPERED)
    return payload["e"], organization_id


def unsubscribe_token(subscription):
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(subscription.pk))


def read_unsubscribe_token(token):
    """The subscription's id; InvalidLink if the token is not ours."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token)
    except signing.BadSignature as error:
        raise InvalidLink(TAMPERED) from error
    if not value.isdigit():
        raise InvalidLink(TAMPERED)
    return int(value)
