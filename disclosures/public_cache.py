"""Public responses at the cost of a static file.

Once a public response (one its view marked ``Cache-Control: public``: the pages,
JSON and PDFs of published versions) has been built for an anonymous visitor, its
status, headers and body are kept in the cache as plain bytes and strings, keyed by
path and representation (gzip or not). The next anonymous GET/HEAD of that path is
answered from there by PublicResponseCacheMiddleware, placed right after WhiteNoise,
without running the session, locale, CSRF, auth, OTP, messages, CSP, history or axes
middleware nor the view; a 304 when the client's ETag or date matches. The response
carries the very headers the full stack gave (the security headers of
SecurityMiddleware, which runs before this one, are added again as for any response).

Invalidation: a generation counter in the same cache, bumped by publish() once its
transaction commits (``bump_generation``). Every stored response records the
generation read before it was built; one read (``get_many``: one round trip to Redis)
fetches both, and an entry of an older generation is never served. The view's own
current-version memo is keyed by the generation too, so with a shared cache (Redis)
every process sees a new version on its next request.

Scheduled versions go live with no process to run and nothing written: the
generation is the counter *and the latest go-live time that has come* (``generation``),
so at a version's go-live time every stored response and remembered current version
is of the past at once. The go-live times are read from the database once per
counter (scheduling and cancelling bump it) and kept in the cache beside it
(``go_live_times``). In the minute before a go-live nothing is stored or served from
here, so that the views' max-age ends at the go-live (``seconds_to_next_go_live``).

Never cached here: requests with a query string, with the session cookie (staff), or
any other method; responses that set a cookie, are not 200, or are not marked public
(drafts, the admin, /verify/ and every error are never marked public).
"""

import bisect
import hashlib
import os
import re
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import parse_http_date_safe

from disclosure_portal.middleware import shared_caches_may_store

GENERATION_KEY = "disclosure:generation"
# Bump when what is stored changes shape, or the templates change.
ENTRY_REVISION = "5"
# Headers a 304 does not carry (as views.conditional() builds one).
NOT_ON_304 = {"content-type", "content-length", "content-encoding"}
ACCEPTS_GZIP = re.compile(r"\bgzip\b")  # as django.middleware.gzip reads Accept-Encoding
# In a shared cache (Redis), entries stay until evicted or replaced: the generation
# makes old ones unused, everywhere at once. In one process's local memory the
# generation is that process's own: another process (a gunicorn worker) learns of a
# publication only when its entries expire, after LOCAL_SECONDS, as before.
SHARED_SECONDS = 24 * 3600
LOCAL_SECONDS = 5
MAX_BODY_BYTES = 5_000_000
SAFE_PATH = re.compile(r"/[-A-Za-z0-9_./]{0,200}")
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
# Bodies are stored apart, under their SHA-256, and each process keeps the ones it
# served in memory (at most BODY_MEMORY_BYTES, least recently used first out): a
# body never changes under its hash, so this memory is never stale, and a request
# fetches only the small entry (headers, hash) from the cache, not a 200 KB PDF
# to unpickle (or to carry from Redis) every time.
BODY_MEMORY_BYTES = 64 * 1024 * 1024


class BodyMemory:
    def __init__(self, limit):
        self.limit, self.size = limit, 0
        self.bodies = OrderedDict()
        self.lock = threading.Lock()

    def get(self, digest):
        body = self.bodies.get(digest)
        if body is None:
            body = cache.get(body_key(digest))
            if body is not None:
                self.put(digest, body)
        return body

    def put(self, digest, body):
        with self.lock:
            if digest in self.bodies:
                return
            self.bodies[digest] = body
            self.size += len(body)
            while self.size > self.limit and len(self.bodies) > 1:
                _, dropped = self.bodies.popitem(last=False)
                self.size -= len(dropped)


def body_key(digest):
    return f"disclosure:body:{digest}"


bodies = BodyMemory(BODY_MEMORY_BYTES)

# With a shared cache, each process also keeps the entries it served (headers and
# body hash, by path and representation) with their generation: a request then asks
# the shared cache for one small integer only, the generation, and is answered from
# this memory while the generation is the same. At most LOCAL_ENTRIES are kept.
LOCAL_ENTRIES = 1000
local_entries = {}
stored_keys = set()  # (path, representation) this process has stored


def counter():
    """The generation counter, created when the cache has none (first start, a
    flushed or evicted key): then a new, never-used value (the clock in ns), so
    entries stored under an older counter are never taken for current."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, time.time_ns(), None)
        value = cache.get(GENERATION_KEY)
    return value


def generation():
    """The current generation: the counter and the latest go-live time that has come."""
    return effective_generation(counter())


# --- Go-live times ---------------------------------------------------------------


def go_lives_key(value):
    return f"disclosure:go-lives:{value}"


# Each process keeps the go-live times of the last counter it saw. With a shared
# cache those of a counter never change (scheduling and cancelling bump it). In
# local memory each process has its own counter, which another process's scheduling
# does not bump: the times are read again after LOCAL_SECONDS.
_known_go_lives = {}


def read_go_lives(now):
    """(the latest go-live time that has come, the go-live times still to come), in
    POSIX seconds, of the scheduled versions that are or will be public (a version
    published at once bumps the counter instead): one statement, over the few
    versions ever scheduled."""
    from .models import Publication

    moments = Publication.objects.go_live_times().order_by("live_from").values_list("live_from", flat=True)
    passed, pending = 0.0, []
    for moment in moments:
        if moment <= now:
            passed = moment.timestamp()
        else:
            pending.append(moment.timestamp())
    return passed, tuple(pending)


def go_live_times(value):
    """What read_go_lives() gave for counter `value`, read once per counter (shared
    cache) or once per LOCAL_SECONDS (local memory)."""
    known = _known_go_lives.get(value)
    if known is not None and known[1] > time.monotonic():
        return known[0]
    shared = cache_is_shared()
    key = go_lives_key(value)
    times = cache.get(key)
    if times is None:
        times = read_go_lives(timezone.now())
        cache.set(key, times, None if shared else LOCAL_SECONDS)
    _known_go_lives.clear()
    _known_go_lives[value] = (times, float("inf") if shared else time.monotonic() + LOCAL_SECONDS)
    return times


# The max-age of the public responses that say which version is current.
CURRENT_MAX_AGE = 60


def generation_at(value, now=None):
    """(generation, seconds to the next go-live or None) of counter `value` at `now`.

    The generation is "<counter>.<latest go-live time that has come>": the same in
    every process for the same database, and new at each go-live time."""
    passed, pending = go_live_times(value)
    moment = (now or timezone.now()).timestamp()
    index = bisect.bisect_right(pending, moment)
    if index:
        passed = max(passed, pending[index - 1])
    remaining = pending[index] - moment if index < len(pending) else None
    return f"{value}.{passed:.6f}", remaining


def effective_generation(value, now=None):
    return generation_at(value, now)[0]


def seconds_to_next_go_live(now=None):
    """Seconds until the next go-live time of any organisation (None: none is scheduled)."""
    return generation_at(counter(), now)[1]


def current_max_age(now=None):
    """max-age for a response that says which version is current: never past the next go-live."""
    remaining = seconds_to_next_go_live(now)
    if remaining is None or remaining >= CURRENT_MAX_AGE:
        return CURRENT_MAX_AGE
    return max(0, int(remaining))


def bump_generation():
    """Every public response stored so far, and the remembered current
    versions, are of the past. Called by publish() when its transaction commits."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no counter yet (or evicted): a fresh one
        cache.set(GENERATION_KEY, time.time_ns(), None)


def cache_is_shared():
    """False for local memory (each process its own), the default."""
    return settings.CACHES["default"]["BACKEND"] != "django.core.cache.backends.locmem.LocMemCache"


# Each thread's reader of the shared generation (``shared_generation``).
_generation_reader_of_thread = threading.local()


def shared_generation():
    """The generation from the shared cache, read as cheaply as it can be: with
    Django's RedisCache, one GET on a Redis connection of the thread's own; other
    backends, cache.get."""
    return _thread_reader()()


def _thread_reader():
    reader = getattr(_generation_reader_of_thread, "read", None)
    if reader is None:
        reader = _generation_reader_of_thread.read = _generation_reader()
    return reader


def _generation_reader():
    from django.core.cache.backends.redis import RedisCache

    backend = caches_default()
    if isinstance(backend, RedisCache):
        return RedisGenerationReader(backend)
    return lambda: cache.get(GENERATION_KEY)


class RedisGenerationReader:
    """GET of the generation on one Redis connection (a thread's own), sent ready packed.

    The redis client's ``get`` (which Django's ``cache.get`` calls after its own key
    checks) costs twice the CPU of this (59 µs against 30 µs per read, measured in
    process): a client object per call, the pool's lock and its poll of the socket
    before each command. Always the primary server (the pool
    Django writes through), never a replica that might lag behind a publication.
    A connection that fails (Redis restarted, a timeout) is closed and the GET sent
    once more on a new one; a second failure is raised, as ``cache.get`` would.

    ``send()`` sends the GET ahead (``prefetch_generation``, at the start of a
    request), the call reads its reply: Redis answers while the request is parsed."""

    def __init__(self, backend):
        import redis

        self.failures = (redis.ConnectionError, redis.TimeoutError, OSError)
        self.pool = backend._cache._get_connection_pool(write=True)
        self.connection = self.pool.make_connection()
        self.command = self.connection.pack_command("GET", backend.make_and_validate_key(GENERATION_KEY))
        self.pending = False  # a GET sent whose reply is not read yet

    def send(self):
        if self.pending:
            return
        try:
            self.connection.send_packed_command(self.command, check_health=False)
            self.pending = True
        except self.failures:
            self.close()  # the read sends it again, on a new connection

    def __call__(self):
        for attempt in (1, 2):
            try:
                if not self.pending:
                    self.connection.send_packed_command(self.command, check_health=False)
                    self.pending = True
                value = self.connection.read_response()
                self.pending = False
                break
            except self.failures:
                self.close()
                if attempt == 2:
                    raise
            except BaseException:  # the reply may be half read: never reuse the socket
                self.close()
                raise
        return None if value is None else int(value)  # RedisSerializer keeps ints as text

    def discard(self):
        """Read and drop the reply of a GET sent ahead and not used (the request was
        not one the cache answers: a redirect, an error): never the next request's."""
        if self.pending:
            try:
                self.connection.read_response()
                self.pending = False
            except Exception:  # the request's own response stands; the next one reconnects
                self.close()

    def close(self):
        self.connection.disconnect()
        self.pending = False


def prefetch_generation(application):
    """The WSGI application, sending the generation's GET to Redis as soon as a request
    that the cache may answer arrives (anonymous GET/HEAD without a query string, not a
    static file), before Django parses it; PublicResponseCacheMiddleware reads the
    reply, there by then, and the thread does not wait for Redis. A reply not read
    is dropped when the request ends. Other caches: the application as it is."""

    def application_prefetching(environ, start_response):
        reader = None
        if (
            environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and not environ.get("QUERY_STRING")
            and not environ.get("PATH_INFO", "").startswith(settings.STATIC_URL)
            and settings.SESSION_COOKIE_NAME not in environ.get("HTTP_COOKIE", "")
            and cache_is_shared()
        ):
            reader = _thread_reader()
            if isinstance(reader, RedisGenerationReader):
                reader.send()
            else:
                reader = None
        try:
            return application(environ, start_response)
        finally:
            if reader is not None:
                reader.discard()

    return application_prefetching


def _forget_readers_after_fork():
    # A forked child must not use its parent's sockets: each thread of the child
    # makes its own reader (the parent's stay open in the parent).
    global _generation_reader_of_thread
    _generation_reader_of_thread = threading.local()


os.register_at_fork(after_in_child=_forget_readers_after_fork)


def caches_default():
    from django.core.cache import caches

    return caches["default"]


def remember(key, entry):
    if len(local_entries) >= LOCAL_ENTRIES:
        local_entries.clear()
    local_entries[key] = entry


def memo_seconds():
    """How long an entry (or the views' current-version memo) may be kept."""
    return SHARED_SECONDS if cache_is_shared() else LOCAL_SECONDS


def accepts_gzip(request):
    return bool(ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))


def entry_key(path, gzipped):
    return f"disclosure:response:{ENTRY_REVISION}:{'gzip' if gzipped else 'identity'}:{path}"


def eligible(request):
    return (
        request.method in ("GET", "HEAD")
        and not request.META.get("QUERY_STRING")
        # A 412 is the full stack's business (rare): only 200 and 304 are answered here.
        and "HTTP_IF_MATCH" not in request.META
        and "HTTP_IF_UNMODIFIED_SINCE" not in request.META
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        # Paths as the public URLs spell them (a cache key memcached and Redis
        # accept as it is); anything else is the full stack's (404s and all).
        and SAFE_PATH.fullmatch(request.path) is not None
    )


class PublicResponseCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not eligible(request):
            return self.get_response(request)
        # An unknown Host is refused as the full stack would (DisallowedHost: 400).
        request.get_host()
        gzipped = accepts_gzip(request)
        key = entry_key(request.path, gzipped)
        shared = cache_is_shared()
        if shared:
            value, entry = shared_generation(), None
        else:  # the cache is this process's memory: one look-up for both
            found = cache.get_many([GENERATION_KEY, key])
            value, entry = found.get(GENERATION_KEY), found.get(key)
        current, remaining = generation_at(counter() if value is None else value)
        if remaining is not None and remaining <= CURRENT_MAX_AGE:
            # A go-live within a max-age: each response is built with its own
            # max-age, which ends at the go-live (views.conditional), and not stored.
            return self.get_response(request)
        if shared:
            entry = local_entries.get(key)
            if entry is None or entry[0] != current:
                entry = cache.get(key)
                if entry is not None and entry[0] == current:
                    remember(key, entry)
        if entry is not None and entry[0] == current:
            body = bodies.get(entry[2])
            if body is not None:
                return self.answer(request, entry, body)
        # A path this process stored before is built in full without the client's
        # validators, so that the 200 can be stored again (a stream of conditional
        # requests would otherwise never refill the cache); the client still gets its
        # 304, from the stored entry. Any other path keeps them: a response that is
        # not stored (the streamed archive) answers them itself.
        validators = {}
        if key in stored_keys:
            validators = {
                name: request.META.pop(name) for name in CONDITIONAL_HEADERS if name in request.META
            }
        response = self.get_response(request)
        request.META.update(validators)
        entry = self.store(key, current, response)
        if entry is not None and validators:
            return self.answer(request, entry, response.content)
        return response

    @staticmethod
    def answer(request, entry, body):
        _, headers, _digest, etag, last_modified = entry
        meta = request.META
        if (etag or last_modified) and ("HTTP_IF_NONE_MATCH" in meta or "HTTP_IF_MODIFIED_SINCE" in meta):
            # The usual revalidation sends back the very ETag: a 304 without parsing
            # it (Django's parser and its 304 cost a third of a request); anything
            # else (a list, a weak tag, a date) as Django reads it.
            if (etag and meta.get("HTTP_IF_NONE_MATCH") == etag) or get_conditional_response(
                request, etag=etag, last_modified=last_modified
            ) is not None:
                response = HttpResponseNotModified()
                store = response.headers._store
                store.update((lower, item) for lower, item in headers.items() if lower not in NOT_ON_304)
                store["content-length"] = ("Content-Length", "0")  # as CommonMiddleware sets it
                return response
        response = HttpResponse(body)
        # The headers as the full stack set them, already validated then: copied
        # as they are stored (ResponseHeaders' own mapping, lower-case name ->
        # (name, value)), not checked again one by one.
        response.headers._store.update(headers)
        return response

    @staticmethod
    def store(key, current, response):
        if (
            response.status_code != 200
            or response.streaming
            or response.cookies
            or not shared_caches_may_store(response)
            or "private" in response.get("Cache-Control", "")
            or len(response.content) > MAX_BODY_BYTES
        ):
            stored_keys.discard(key)
            return None
        headers = dict(response.headers._store)
        etag = response.headers.get("ETag")
        last_modified = parse_http_date_safe(response.headers.get("Last-Modified", ""))
        body = bytes(response.content)
        digest = hashlib.sha256(body).hexdigest()
        entry = (current, headers, digest, etag, last_modified)
        cache.set(body_key(digest), body, memo_seconds())
        bodies.put(digest, body)
        cache.set(key, entry, memo_seconds())
        if len(stored_keys) >= LOCAL_ENTRIES:
            stored_keys.clear()
        stored_keys.add(key)
        if cache_is_shared():
            remember(key, entry)
        return entry
