"""Which version of an organisation is current, remembered in the cache.

The public views ask this module (so a cached page costs no query at all) and
publish() makes it forget; nothing else reads or writes these cache keys. What is
remembered is keyed by the cache's generation (public_cache.py), which publish()
bumps before and again after its commit: with a shared cache (Redis) every process
sees a new version on its next request; with per-process memory another process
within a few seconds, well within the max-age=60 the public responses promise.
The generation includes the latest go-live time that has come, so a scheduled
version is current from its go-live time on, in every process, with nothing run.
"""

from django.core.cache import cache

from . import public_cache
from .models import Publication


def cache_key(slug):
    return f"disclosure:current:{slug}"


def current_publication(slug):
    """The organisation's current version (snapshot and PDF deferred), knowing its
    own number as latest_number: one query at most, none while remembered. None
    if the organisation has published nothing."""
    # The generation is read first: a version read before a publish commits is
    # remembered under the generation that publish ends.
    key = f"{cache_key(slug)}:{public_cache.generation()}"
    publication = cache.get(key)
    if publication is None:
        publication = Publication.objects.for_slug(slug).current().defer("pdf", "snapshot").first()
        if publication is not None:
            publication.latest_number = publication.number
            publication.latest_live_from = publication.live_from
            cache.set(key, publication, public_cache.memo_seconds())
    return publication


def forget_current_version(slug):
    """Every stored public response and remembered current version is of the past
    (a generation per cache, not per organisation: publishing is rare)."""
    public_cache.bump_generation()
