"""Which version of an organisation is current, remembered for a few seconds.

The public views ask this module (so a cached page costs no query at all) and
publish() makes it forget at once; nothing else reads or writes the cache key.
A few seconds stay well within the max-age=60 the public responses promise.
"""

from django.core.cache import cache

from .models import Publication

CURRENT_VERSION_SECONDS = 5


def cache_key(slug):
    return f"disclosure:current:{slug}"


def current_publication(slug):
    """The organisation's current version (snapshot and PDF deferred), knowing its
    own number as latest_number: one query at most, none while remembered. None
    if the organisation has published nothing."""
    publication = cache.get(cache_key(slug))
    if publication is None:
        publication = Publication.objects.for_slug(slug).current().defer("pdf", "snapshot").first()
        if publication is not None:
            publication.latest_number = publication.number
            publication.latest_published_at = publication.published_at
            cache.set(cache_key(slug), publication, CURRENT_VERSION_SECONDS)
    return publication


def forget_current_version(slug):
    cache.delete(cache_key(slug))
