"""Subscribing is throttled, so that the form cannot be used to flood a mailbox
(per address) or to send mail in bulk (per client).

Counted in the cache (CACHE_URL: with Redis, across processes and hosts; with the
default local memory, each process counts its own), in fixed windows. The client
is found as django-axes finds it for the login lockout (its helper, with the
AXES_IPWARE_* settings that DJANGO_BEHIND_TLS_PROXY sets). Keys hold an HMAC of the
address, never the address itself.
"""

from axes.helpers import get_client_ip_address
from django.core.cache import cache
from django.utils.crypto import salted_hmac

PER_ADDRESS = 3  # confirmation mails to one address…
ADDRESS_WINDOW = 24 * 3600  # …a day
PER_CLIENT = 20  # subscriptions asked by one client…
CLIENT_WINDOW = 3600  # …an hour


def _key(kind, value):
    return f"subscriptions:throttle:{kind}:{salted_hmac('subscriptions.throttle', value).hexdigest()}"


def _over(key, limit, window):
    cache.add(key, 0, window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        count = 1
    return count > limit


def client_address(request):
    return get_client_ip_address(request) or "unknown"


def throttled(request, email):
    """Count one more confirmation mail for this client and this address; True if
    either is over its limit (then nothing is to be sent)."""
    if _over(_key("client", client_address(request)), PER_CLIENT, CLIENT_WINDOW):
        return True
    return _over(_key("address", email.lower()), PER_ADDRESS, ADDRESS_WINDOW)
