"""Public reads answered from the cache (disclosures/public_cache.py): the same
headers and body as the full stack, never a draft, never stale after a publish."""

import datetime
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings

from disclosures import public_cache

from .test_publishing import publish_change

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URLS = [
    "/qolead/",
    "/qolead/pdf/",
    "/qolead/current.json",
    "/qolead/versions/1/",
    "/qolead/versions/1/pdf/",
    "/qolead/xlsx/",
    "/qolead/versions/1/xlsx/",
]


@pytest.fixture
def production_headers(settings):
    """The security headers production sends, HSTS included (the client asks over https)."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


@pytest.fixture
def view_must_not_run(monkeypatch):
    def arm():
        def refuse(*args, **kwargs):
            raise AssertionError("the view ran: the response was not served from the public cache")

        monkeypatch.setattr("disclosures.views.get_publication", refuse)

    return arm


@pytest.mark.parametrize("url", PUBLIC_URLS)
@pytest.mark.parametrize("encoding", ["gzip, deflate, br", ""])
def test_cached_public_response_has_the_full_stacks_headers_and_body(
    client, example_org, production_headers, view_must_not_run, url, encoding
):
    first = client.get(url, secure=True, HTTP_ACCEPT_ENCODING=encoding)
    assert first.status_code == 200
    view_must_not_run()
    again = client.get(url, secure=True, HTTP_ACCEPT_ENCODING=encoding)
    assert again.status_code == 200
    assert dict(again.headers) == dict(first.headers)
    assert again.content == first.content
    for header in (
        "Content-Security-Policy",
        "X-Frame-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "ETag",
        "Cache-Control",
    ):
        assert header in again.headers, header
    assert not again.cookies


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_cached_304_has_the_headers_of_the_full_stacks_304(
    client, example_org, production_headers, view_must_not_run, settings, url
):
    etag = client.get(url, secure=True, HTTP_ACCEPT_ENCODING="gzip")["ETag"]
    # The full stack's own 304, without the public cache's middleware.
    with override_settings(MIDDLEWARE=[name for name in settings.MIDDLEWARE if "public_cache" not in name]):
        slow = client.get(url, secure=True, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag)
    view_must_not_run()
    fast = client.get(url, secure=True, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag)
    assert slow.status_code == fast.status_code == 304
    assert dict(fast.headers) == dict(slow.headers)
    assert fast.content == b""


def test_a_revalidation_with_the_very_etag_is_answered_without_parsing_it(
    client, example_org, view_must_not_run, monkeypatch
):
    """The usual revalidation (the ETag sent back as it came) is a 304 without Django's
    ETag parser; every other validator is read by it, as the full stack would."""
    etag = client.get("/qolead/")["ETag"]
    last_modified = client.get("/qolead/")["Last-Modified"]
    view_must_not_run()
    read_by_django = []
    real = public_cache.get_conditional_response

    def counted(*args, **kwargs):
        read_by_django.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(public_cache, "get_conditional_response", counted)
    assert client.get("/qolead/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert read_by_django == []
    for validators, status in (
        ({"HTTP_IF_NONE_MATCH": f'"other", {etag}'}, 304),
        ({"HTTP_IF_NONE_MATCH": f"W/{etag}"}, 304),
        ({"HTTP_IF_NONE_MATCH": "*"}, 304),
        ({"HTTP_IF_NONE_MATCH": '"other"'}, 200),
        ({"HTTP_IF_NONE_MATCH": '"other"', "HTTP_IF_MODIFIED_SINCE": last_modified}, 200),
        ({"HTTP_IF_MODIFIED_SINCE": last_modified}, 304),
        ({"HTTP_IF_MODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"}, 200),
    ):
        read_by_django.clear()
        assert client.get("/qolead/", **validators).status_code == status, validators
        assert read_by_django == [1], validators


def test_new_version_is_served_on_the_next_request_after_publish(client, sheet):
    assert client.get("/qolead/current.json").json()["publication"]["version"] == 1
    assert client.get("/qolead/current.json").json()["publication"]["version"] == 1  # from the cache
    publish_change(sheet, hours_system="24時間")
    assert client.get("/qolead/current.json").json()["publication"]["version"] == 2
    assert "24時間" in client.get("/qolead/").content.decode()


def test_staff_with_a_session_never_get_the_public_cache(staff_client, example_org, view_must_not_run):
    staff_client.get("/qolead/")
    view_must_not_run()
    with pytest.raises(AssertionError, match="the view ran"):
        staff_client.get("/qolead/")


def test_query_strings_are_neither_stored_nor_served(client, example_org, view_must_not_run):
    client.get("/qolead/?x=1")
    client.get("/qolead/?x=1")
    view_must_not_run()
    with pytest.raises(AssertionError, match="the view ran"):
        client.get("/qolead/?x=1")


def test_responses_not_marked_public_are_never_stored(client, example_org, view_must_not_run):
    assert client.get("/qolead/versions/9/").status_code == 404
    view_must_not_run()
    with pytest.raises(AssertionError, match="the view ran"):
        client.get("/qolead/versions/9/")


def test_unknown_host_is_refused_from_the_cache_too(client, example_org):
    assert client.get("/qolead/").status_code == 200
    assert client.get("/qolead/", HTTP_HOST="evil.example").status_code == 400


# --- Two server processes sharing Redis ------------------------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def redis_available():
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url, attempts=1):
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                import json

                return json.loads(response.read())
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def test_two_processes_sharing_redis_agree_on_the_current_version_at_once(tmp_path):
    if not redis_available():
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"no Redis at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL} (.ci/run starts one)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        DJANGO_DEBUG="true",
        DJANGO_STATIC_MANIFEST="false",
        DJANGO_SECRET_KEY="two-processes",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CACHE_URL=REDIS_URL,
        DJANGO_PDF_SIGNING_P12=str(tmp_path / "signing.p12"),
        DJANGO_PDF_SIGNING_PASSWORD="two-processes",
    )
    manage = [sys.executable, "manage.py"]

    def run(*args):
        subprocess.run(manage + list(args), cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)

    run("migrate", "--verbosity", "0")
    run("create_signing_certificate")
    run("load_example")
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            manage + ["runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        urls = [f"http://127.0.0.1:{port}/qolead/current.json" for port in ports]
        for url in urls:  # both remember version 1 (and the cache holds its responses)
            assert get_json(url, attempts=60)["publication"]["version"] == 1
            assert get_json(url)["publication"]["version"] == 1
        # Publish through a third process against the same database and cache, while
        # both servers keep answering (each keeps what it read fresh); the publisher
        # says when the version is committed, and waits until the test has asked.
        publisher = subprocess.Popen(
            manage
            + [
                "shell",
                "-c",
                "import sys; from disclosures.models import Organization; "
                "from disclosures.publishing import publish; "
                "sheet = Organization.objects.get(slug='qolead').sheet; sheet.hours_system = '24時間'; "
                "sheet.save(); publish(sheet, change_note='受付時間を変更しました。'); "
                "print('published', flush=True); sys.stdin.readline()",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        committed = threading.Event()

        def listen():
            for line in publisher.stdout:
                if line.strip() == "published":
                    committed.set()

        threading.Thread(target=listen, daemon=True).start()
        try:
            while not committed.is_set():
                assert publisher.poll() is None, publisher.stderr.read()
                for url in urls:  # 2 only once the version is committed
                    assert get_json(url)["publication"]["version"] in (1, 2)
                committed.wait(0.02)
            # The next request of each process: the new version, at once.
            assert [get_json(url)["publication"]["version"] for url in urls] == [2, 2]
        finally:
            publisher.communicate("\n", timeout=60)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)
        redis.Redis.from_url(REDIS_URL).flushdb()


def test_a_stream_of_conditional_requests_fills_the_cache(client, example_org, view_must_not_run):
    etag = client.get("/qolead/current.json")["ETag"]
    cache.clear()  # as when a local entry expires: only conditional requests come
    assert client.get("/qolead/current.json", HTTP_IF_NONE_MATCH=etag).status_code == 304
    view_must_not_run()
    assert client.get("/qolead/current.json", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get("/qolead/current.json").status_code == 200


def test_responses_not_stored_answer_the_clients_validators_themselves(client, example_org):
    etag = client.get("/qolead/archive.zip")["ETag"]  # streamed: never stored here
    assert client.get("/qolead/archive.zip", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_if_match_is_left_to_the_full_stack(client, example_org):
    client.get("/qolead/")
    assert client.get("/qolead/", HTTP_IF_MATCH='"not-this-one"').status_code == 412


# --- Scheduled versions (.ci/run runs this file with Redis too) ------------------------


def test_responses_warm_before_a_go_live_are_never_served_after_it(client, sheet, view_must_not_run):
    """Stored responses and the remembered current version (in local memory, or in
    Redis with each process's own memory of the entries) end at the go-live time,
    with nothing run then."""
    from .test_scheduled_publication import GO_LIVE, NOW, get, schedule

    schedule(sheet)
    urls = ["/qolead/", "/qolead/current.json", "/qolead/pdf/"]
    for url in urls:
        assert get(client, url, NOW).status_code == 200
    before = GO_LIVE - datetime.timedelta(minutes=5)
    served = {url: get(client, url, before) for url in urls}  # warm: the view does not run
    view_must_not_run()
    for url in urls:
        again = get(client, url, before)
        assert again.content == served[url].content
    assert get(client, "/qolead/current.json", before).json()["publication"]["version"] == 1
    with pytest.raises(AssertionError, match="the view ran"):
        get(client, "/qolead/current.json", GO_LIVE)


def test_the_version_scheduled_is_served_at_its_go_live_from_a_warm_cache(client, sheet):
    from .test_scheduled_publication import GO_LIVE, NEW_HOURS, NOW, get, schedule

    schedule(sheet)
    for at in (NOW, NOW, GO_LIVE - datetime.timedelta(minutes=5)):
        assert get(client, "/qolead/current.json", at).json()["publication"]["version"] == 1
        assert NEW_HOURS not in get(client, "/qolead/", at).content.decode()
    assert get(client, "/qolead/current.json", GO_LIVE).json()["publication"]["version"] == 2
    assert NEW_HOURS in get(client, "/qolead/", GO_LIVE).content.decode()
    assert "-v2-" in get(client, "/qolead/pdf/", GO_LIVE)["Content-Disposition"]
    # And from the cache again after the go-live.
    later = GO_LIVE + datetime.timedelta(minutes=1)
    assert get(client, "/qolead/current.json", later).json()["publication"]["version"] == 2


def test_no_response_is_stored_or_served_from_the_cache_in_the_minute_before_a_go_live(
    client, sheet, view_must_not_run
):
    from .test_scheduled_publication import GO_LIVE, get, schedule

    schedule(sheet)
    near = GO_LIVE - datetime.timedelta(seconds=30)
    first = get(client, "/qolead/current.json", near)
    assert "max-age=30" in first["Cache-Control"]
    view_must_not_run()
    with pytest.raises(AssertionError, match="the view ran"):
        get(client, "/qolead/current.json", near)


def count_cache_calls(monkeypatch, shared):
    """Calls to the cache backend (local memory) or commands sent to Redis (on any
    connection: the pool's or the generation reader's own)."""
    from django.core.cache import caches

    calls = []
    if shared:
        from redis.connection import AbstractConnection

        send = AbstractConnection.send_packed_command

        def counted_command(connection, command, *args, **kwargs):
            packed = command if isinstance(command, bytes) else b"".join(command)
            calls.append(packed.split(b"\r\n")[2].decode())  # *<n>, $<len>, the name
            return send(connection, command, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted_command)
    else:
        backend = caches["default"]
        inside = []  # get_many calls get: count the outer call only
        for name in ("get", "get_many", "set", "set_many", "add", "incr", "delete", "has_key"):
            method = getattr(backend, name)

            def counted(*args, _method=method, _name=name, **kwargs):
                if not inside:
                    calls.append(_name)
                inside.append(_name)
                try:
                    return _method(*args, **kwargs)
                finally:
                    inside.pop()

            monkeypatch.setattr(backend, name, counted)
    return calls


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request, monkeypatch):
    """The public cache on local memory, then on Redis (skipped when there is none)."""
    from disclosures import public_cache

    for name, fresh in (
        ("local_entries", {}),
        ("stored_keys", set()),
        ("_generation_reader_of_thread", threading.local()),
    ):
        monkeypatch.setattr(public_cache, name, fresh)
    monkeypatch.setattr(public_cache, "bodies", public_cache.BodyMemory(public_cache.BODY_MEMORY_BYTES))
    if request.param == "locmem":
        # Local memory even where the suite runs with CACHE_URL=redis://… (.ci/run).
        with override_settings(
            CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        ):
            yield False
        return
    if not redis_available():
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail(f"no Redis at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    ):
        yield True
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_a_version_page_is_served_as_the_current_page_is_with_one_cache_call(
    client, sheet, cache_backend, monkeypatch, django_assert_num_queries
):
    """The version page (of the current version, then of an older one) costs what the
    current page costs: one look-up in local memory (generation and entry at once), one
    GET of the generation from Redis (entry and body kept in the process); no query."""
    publish_change(sheet, "第2版です。", hours_system="24時間")
    urls = ["/qolead/", "/qolead/versions/2/", "/qolead/versions/1/", "/qolead/current.json"]
    for url in urls:
        assert client.get(url).status_code == 200  # built once, stored
    calls = count_cache_calls(monkeypatch, cache_backend)
    for url in urls:
        calls.clear()
        with django_assert_num_queries(0):
            response = client.get(url)
        assert response.status_code == 200
        assert calls == (["GET"] if cache_backend else ["get_many"]), url


# --- The generation's reader on Redis ----------------------------------------------------


@pytest.fixture
def redis_generation(cache_backend):
    """(shared_generation, bump, the Redis client) with the cache on Redis."""
    if not cache_backend:
        pytest.skip("Redis only")
    import redis

    from disclosures import public_cache

    public_cache.bump_generation()
    return public_cache.shared_generation, public_cache.bump_generation, redis.Redis.from_url(REDIS_URL)


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_the_generation_reader_sends_one_get_on_a_connection_of_its_own(redis_generation):
    from redis.connection import ConnectionPool

    read, bump, _ = redis_generation
    first = read()
    # Not through the pool (its lock and its poll of the socket before each command).
    with pytest.MonkeyPatch.context() as patch:  # undone alone, not the fixtures' patches
        patch.setattr(ConnectionPool, "get_connection", lambda *a, **k: pytest.fail("the pool was used"))
        calls = count_cache_calls(patch, True)
        assert read() == first
        assert calls == ["GET"]
    bump()
    assert read() == first + 1


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_the_generation_reader_reconnects_when_its_connection_is_gone(redis_generation):
    read, bump, server = redis_generation
    first = read()
    readers = [c for c in server.client_list() if c["cmd"] == "get"]
    assert readers
    for found in readers:  # as a Redis restart or a proxy's idle timeout would
        server.client_kill_filter(_id=found["id"])
    bump()
    assert read() == first + 1  # one GET on a new connection, no error
    assert read() == first + 1


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_the_generation_reader_raises_when_redis_cannot_be_reached(redis_generation, monkeypatch):
    import redis

    from disclosures import public_cache

    read, _, _ = redis_generation
    read()
    reader = public_cache._generation_reader_of_thread.read
    reader.connection.disconnect()
    monkeypatch.setattr(reader.connection, "port", free_port())  # nothing listens there
    with pytest.raises(redis.ConnectionError):
        read()


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_threads_read_the_generation_each_on_its_own_connection(redis_generation):
    from disclosures import public_cache

    read, bump, _ = redis_generation
    expected = read()
    connections, wrong = set(), []

    def reads():
        for _ in range(300):
            if read() != expected:
                wrong.append(1)
        connections.add(id(public_cache._generation_reader_of_thread.read.connection))

    threads = [threading.Thread(target=reads) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []  # replies never crossed between threads
    assert len(connections) == 6


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_a_forked_process_reads_the_generation_on_a_connection_of_its_own(redis_generation):
    read, bump, _ = redis_generation
    before = read()
    bump()
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if it reads the new generation
        try:
            os._exit(0 if read() == before + 1 and read() == before + 1 else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert read() == before + 1  # the parent's connection was left as it was


def test_the_generation_is_read_from_the_primary_never_from_a_replica(monkeypatch):
    """With LOCATION listing a primary and replicas, Django reads from a replica, which
    may lag behind a publication: the generation is read from the primary."""
    if not redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}")
    import redis

    from disclosures import public_cache

    replica = REDIS_URL.rsplit("/", 1)[0] + "/14"  # a database with no generation in it
    monkeypatch.setattr(public_cache, "_generation_reader_of_thread", threading.local())
    redis.Redis.from_url(REDIS_URL).flushdb()
    redis.Redis.from_url(replica).flushdb()
    backend = "django.core.cache.backends.redis.RedisCache"
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": [REDIS_URL, replica]}}):
        public_cache.bump_generation()  # written to the primary
        expected = int(redis.Redis.from_url(REDIS_URL).get(":1:" + public_cache.GENERATION_KEY))
        assert [public_cache.shared_generation() for _ in range(5)] == [expected] * 5
    redis.Redis.from_url(REDIS_URL).flushdb()


# --- The generation's GET sent as a request arrives (WSGI) ------------------------------


def wsgi_get(path, **extra):
    """(status, body) of a request through the WSGI application gunicorn serves."""
    import io

    from disclosure_portal.wsgi import application

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    environ.update(extra)
    started = []
    # As Django's test client does: the handler's signals must not close the test's
    # database connection (its transaction, on PostgreSQL).
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = application(environ, lambda status, headers, exc_info=None: started.append(status))
        content = b"".join(body)
        body.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started[0], content


@pytest.fixture
def watch_django(monkeypatch):
    """Whether the generation's GET was already sent when Django got each request."""
    from disclosure_portal import wsgi

    seen = []
    django_application = wsgi.django_application

    def watched(environ, start_response):
        reader = getattr(public_cache._generation_reader_of_thread, "read", None)
        seen.append(getattr(reader, "pending", False))
        return django_application(environ, start_response)

    monkeypatch.setattr(wsgi, "application", public_cache.prefetch_generation(watched))
    return seen


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_the_generation_is_asked_of_redis_before_django_parses_the_request(
    example_org, cache_backend, watch_django, monkeypatch
):
    assert wsgi_get("/qolead/")[0].startswith("200")  # built and stored
    calls = count_cache_calls(monkeypatch, True)
    status, body = wsgi_get("/qolead/")
    assert status.startswith("200") and "代行機関" in body.decode()
    assert watch_django == [True, True]  # sent ahead, both times
    assert calls == ["GET"]  # one GET, its reply read by the cache's middleware
    assert public_cache._generation_reader_of_thread.read.pending is False


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_a_reply_not_used_is_dropped_and_never_read_by_the_next_request(sheet, cache_backend, watch_django):
    assert wsgi_get("/qolead/current.json")[0].startswith("200")
    # Refused before the cache's middleware reads the generation (unknown Host: 400).
    assert wsgi_get("/qolead/current.json", HTTP_HOST="evil.example")[0].startswith("400")
    assert watch_django[-1] is True
    assert public_cache._generation_reader_of_thread.read.pending is False
    publish_change(sheet, "第2版です。", hours_system="24時間")
    status, body = wsgi_get("/qolead/current.json")
    assert json.loads(body)["publication"]["version"] == 2


@pytest.mark.parametrize("cache_backend", ["redis", "locmem"], indirect=True)
@pytest.mark.parametrize(
    "extra",
    [
        {"QUERY_STRING": "a=1"},
        {"REQUEST_METHOD": "POST"},
        {"PATH_INFO": "/static/css/portal.css"},
        {"HTTP_COOKIE": "sessionid=abc"},
    ],
)
def test_nothing_is_sent_ahead_for_requests_the_cache_never_answers(
    example_org, cache_backend, watch_django, extra
):
    path = extra.pop("PATH_INFO", "/qolead/")
    wsgi_get(path, **extra)
    assert watch_django == [False]


@pytest.mark.parametrize("cache_backend", ["locmem"], indirect=True)
def test_nothing_is_sent_ahead_with_local_memory(example_org, cache_backend, watch_django):
    assert wsgi_get("/qolead/")[0].startswith("200")
    assert wsgi_get("/qolead/")[0].startswith("200")
    assert watch_django == [False, False]


@pytest.mark.parametrize("cache_backend", ["redis"], indirect=True)
def test_a_get_that_cannot_be_sent_ahead_is_sent_again_when_read(
    example_org, cache_backend, watch_django, monkeypatch
):
    from redis.connection import AbstractConnection

    assert wsgi_get("/qolead/")[0].startswith("200")
    reader = public_cache._generation_reader_of_thread.read
    real_send, failures = AbstractConnection.send_packed_command, []

    def fails_once(connection, *args, **kwargs):
        if not failures:
            failures.append(1)
            raise ConnectionError("connection reset")
        return real_send(connection, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", fails_once)
    status, _ = wsgi_get("/qolead/")
    assert status.startswith("200")
    assert failures == [1] and watch_django[-1] is False  # closed, not pending
    assert reader.pending is False
