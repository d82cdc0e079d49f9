#!/usr/bin/env python3
"""Benchmark of the public portal (`make bench`): a script, not a test.

One run, from a fresh SQLite database under var/bench/:

1. ``manage.py migrate``, ``load_example`` (publishes qolead version 1 with its PDF, which
   needs no static file: the renderer reads its own assets) and ``collectstatic`` (a few
   seconds: no font is a static file), with the production settings: DJANGO_DEBUG off,
   hashed and compressed static files (WhiteNoise).
2. In a separate Python process with Django set up against that database: the SQL
   queries of each public page through django.test.Client, with a cleared cache and again
   warm. In another, kept for the run (the render worker): the example's PDF rendered
   when asked: once cold, then warm once before the load, before each round and after the
   last, so that the warm median, like the URLs' figures, spans the whole run (a render
   is ~1 s; a spell of a minute in which the machine is slower moved a median of renders
   made one after the other). Two more cold renders, each the first of a new process,
   before the middle round and after the last: the cold figure is their median with the
   first.
3. The portal under gunicorn on 127.0.0.1 (a free port), driven by ``wrk`` for a bounded
   time per URL, the URLs interleaved over 5 rounds (a median of 5 is not moved by two
   rounds that cost more by chance): ``/qolead/`` (also with If-None-Match: a 304),
   ``/qolead/pdf/``, ``/qolead/current.json``, ``/qolead/versions/1/`` and two static
   files served by the same server (the ceilings): ``css/portal.css`` and a file of the
   published PDF's size. Before the load, the bytes a first visit to ``/qolead/`` transfers.
   gunicorn is always stopped, also on errors and Ctrl-C. ``--cache redis`` runs the portal
   with CACHE_URL on a flushed Redis database (15).

It prints, per URL, the median round and the spread (min–max) of requests/s and of the
server's CPU per request, and the CPU ratio to its ceiling against the target (≥ 0.8); the
PDF figures and the queries per page. Missed targets are printed as MISSED. The load
average before and during the run is printed; a run on a busy machine (1-minute load above
half the cores, or more than half of them busy over 3 s before the start, or other programs
using more than a quarter of them during the load) is flagged BUSY and exits with status 3;
status 1 when the benchmark itself could not run.

Loopback only: the only network target is the gunicorn started here on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import html.parser
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
DB_PATH = BENCH_DIR / "db.sqlite3"
STATIC_ROOT = ROOT / "var" / "staticfiles"
MANIFEST = STATIC_ROOT / "staticfiles.json"
GUNICORN_LOG = BENCH_DIR / "gunicorn.log"
HOST = "127.0.0.1"
SLUG = "qolead"
STATIC_NAME = "css/portal.css"

# Targets of issue #13.
CPU_RATIO_TARGET = 0.80  # each public read: its ceiling's server CPU per request ÷ its own
RENDER_TARGET_S = 1.0  # PDF render (warm median)
COLD_RENDER_TARGET_S = 2.0  # PDF render, the first in a process
SIZE_TARGET_BYTES = 200_000  # PDF size: 200 KB, 1 KB = 1000 bytes
# A run is flagged BUSY (exit status 3) when, before it starts, the 1-minute load average
# exceeds this share of the cores or the rest of the machine keeps more than this share
# of them busy; or when, during the load, other programs used more than that share.
BUSY_SHARE = 0.5
# The Redis database the bench flushes and uses with --cache redis.
BENCH_REDIS_URL = "redis://127.0.0.1:6379/15"
# A static file of the published PDF's size (random bytes, incompressible like a PDF):
# the PDF download's own ceiling.
PDF_SIZE_STATIC = "bench-pdf-size.pdf"
FIRST_VISIT_TARGET_BYTES = 60_000  # issue #11: a first visit to the current page, all it loads
# What a browser accepts (Chromium sends br over HTTPS only; WhiteNoise has .br and .gz).
BROWSER_ACCEPT_ENCODING = "gzip, deflate, br"

LOAD_URLS = [  # (label, path, expected content type, has a CPU target, its ceiling, conditional)
    ("current page", f"/{SLUG}/", "text/html", True, "css", False),
    ("current page, 304", f"/{SLUG}/", "text/html", True, "css", True),
    ("PDF download", f"/{SLUG}/pdf/", "application/pdf", True, "pdf", False),
    ("current JSON", f"/{SLUG}/current.json", "application/json", True, "css", False),
    ("version 1 page", f"/{SLUG}/versions/1/", "text/html", True, "css", False),
]
QUERY_PATHS = [
    f"/{SLUG}/",
    f"/{SLUG}/versions/1/",
    f"/{SLUG}/current.json",
    f"/{SLUG}/pdf/",
    f"/{SLUG}/versions/",
    f"/{SLUG}/feed/",
]

# wrk reports through this Lua hook: one JSON line, latencies in microseconds.
WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, '
    .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, '
    .. '"status_errors": %d, "timeout_errors": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


class BenchError(Exception):
    """The benchmark could not run (not a missed target)."""


class Terminated(Exception):
    """SIGTERM/SIGHUP: stop like on Ctrl-C."""


def _on_signal(signum, _frame):
    raise Terminated(signal.Signals(signum).name)


def say(text: str = "") -> None:
    print(text, flush=True)


# ----------------------------------------------------------------------- environment


def base_env(*, allowed_hosts: str) -> dict[str, str]:
    """Production settings against the bench database, plain HTTP on loopback."""
    env = dict(os.environ)
    for name in ("DJANGO_SETTINGS_MODULE", "DJANGO_BEHIND_TLS_PROXY", "PYTHONSTARTUP"):
        env.pop(name, None)
    env.update(
        # Production settings: DEBUG off. Set explicitly (not merely unset) so that a local
        # .env file asking for DEBUG cannot turn the bench into a development server.
        DJANGO_DEBUG="false",
        DJANGO_STATIC_MANIFEST="true",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=allowed_hosts,
        # Plain HTTP on loopback: no redirect to https, no HSTS.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DATABASE_URL=f"sqlite:///{DB_PATH}",  # sqlite:////abs/path
        # A self-signed certificate of the bench's own (create_signing_certificate) signs the PDF.
        DJANGO_PDF_SIGNING_P12=str(BENCH_DIR / "pdf-signing.p12"),
        DJANGO_PDF_SIGNING_PASSWORD="bench",
        PYTHONUNBUFFERED="1",
    )
    return env


def python() -> str:
    venv_python = ROOT / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def run(cmd: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def prepare_database(env: dict[str, str]) -> str:
    """A fresh database with the example published; the static files collected.

    Returns the hashed URL path of the static file used as the ceiling."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    manage = [python(), "manage.py"]

    t0 = time.perf_counter()
    run(manage + ["migrate", "--noinput", "--verbosity", "0"], env, "migrate")
    say(f"  migrate (fresh {DB_PATH.relative_to(ROOT)}): {time.perf_counter() - t0:.1f} s")

    run(manage + ["create_signing_certificate"], env, "create_signing_certificate")
    # Publishing needs no collected static file (the PDF's fonts and CSS are the renderer's
    # own), so the example is published first, as on a fresh production install.
    t0 = time.perf_counter()
    run(manage + ["load_example"], env, "load_example")
    say(f"  load_example (publishes version 1 with its PDF): {time.perf_counter() - t0:.1f} s")

    # For gunicorn: the pages' style sheet under its hashed name (WhiteNoise). A few seconds,
    # every file compressed again on each run.
    t0 = time.perf_counter()
    run(manage + ["collectstatic", "--noinput", "--verbosity", "0"], env, "collectstatic")
    say(f"  collectstatic: {time.perf_counter() - t0:.1f} s")
    try:
        paths = json.loads(MANIFEST.read_text(encoding="utf-8"))["paths"]
        hashed = paths[STATIC_NAME]
    except (OSError, ValueError, KeyError) as error:
        raise BenchError(f"no {STATIC_NAME} in {MANIFEST}: {error!r}") from error
    return "/static/" + hashed


# -------------------------------------------------------------------- in-process part


def pdf_pages(pdf: bytes) -> int | None:
    """The page count, with pypdf (a test dependency) if it is there: only informative."""
    import io

    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(io.BytesIO(pdf)).pages)


def font_subsetter() -> str:
    """Which library WeasyPrint subsets the embedded fonts with: HarfBuzz when Debian's
    libharfbuzz-subset0 is installed, fontTools otherwise (measured: 1.3 s against
    0.85 s for the example's render; `make bench` installs the library)."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return "HarfBuzz"
    return "fontTools (libharfbuzz-subset0 is missing)"


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "disclosure_portal.settings"
    import django

    django.setup()
    from django.conf import settings

    if settings.DEBUG:
        raise BenchError("the settings have DEBUG on; the bench needs the production settings")
    from disclosures.models import Publication

    return Publication.objects.select_related("organization").filter(organization__slug=SLUG).latest("number")


def render_worker() -> None:
    """Run in a child process: for each line read, one render of the example's PDF, its
    wall and CPU time written back as a line of JSON (with the size, pages and subsetter
    after the first, cold one)."""
    publication = setup_django()
    from disclosures.pdf.document import render_publication_pdf

    for number, _line in enumerate(sys.stdin):
        cpu_started = time.process_time()
        started = time.perf_counter()
        pdf = render_publication_pdf(
            publication.snapshot,
            number=publication.number,
            published_at=publication.published_at,
            sheet_updated_on=publication.sheet_updated_on,
            checklist_updated_on=publication.checklist_updated_on,
        )
        result = {"s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu_started}
        if number == 0:
            result.update(size_bytes=len(pdf), pages=pdf_pages(pdf), subsetter=font_subsetter())
        print(json.dumps(result), flush=True)


class RenderWorker:
    """The render worker's process (see :func:`render_worker`), asked for a render at a time."""

    def __init__(self, env: dict[str, str]):
        self.errors = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(
            [python(), str(Path(__file__).resolve()), "--render-worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )
        self.renders: list[dict] = []

    def render(self) -> dict:
        try:
            self.process.stdin.write("render\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except OSError:
            line = ""
        if not line:
            self.process.wait(timeout=10)
            self.errors.seek(0)
            raise BenchError(
                f"the render worker stopped (exit {self.process.returncode}):\n{self.errors.read()}"
            )
        self.renders.append(json.loads(line))
        return self.renders[-1]

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.errors.close()

    def figures(self, stored_size_bytes: int, colds: list[dict]) -> dict:
        """The PDF's figures for the report: this worker's first render cold, its others
        warm; ``colds``: the first renders of other render workers, cold too."""
        first, warm = self.renders[0], self.renders[1:]
        cold = [first, *colds]
        return {
            "warm_times_s": [render["s"] for render in warm],
            "warm_median_s": statistics.median(render["s"] for render in warm),
            "warm_median_cpu_s": statistics.median(render["cpu_s"] for render in warm),
            "cold_times_s": [render["s"] for render in cold],
            "cold_s": statistics.median(render["s"] for render in cold),
            "cold_cpu_s": statistics.median(render["cpu_s"] for render in cold),
            "size_bytes": first["size_bytes"],
            "stored_size_bytes": stored_size_bytes,
            "pages": first["pages"],
            "subsetter": first["subsetter"],
        }


def in_process(out_path: str) -> None:
    """Run in a child process: the published PDF's size, queries per page."""
    publication = setup_django()
    result: dict = {"stored_size_bytes": len(bytes(publication.pdf))}

    # Queries per page, with a cleared cache, then warm.
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    pages = []
    for path in QUERY_PATHS:
        row = {"path": path}
        cache.clear()
        for state in ("cold", "warm"):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise BenchError(f"GET {path} answered {response.status_code} in process")
            row[state] = {
                "queries": len(queries),
                "ms": elapsed * 1000,
                "bytes": len(response.content),
                "sql": [query["sql"] for query in queries.captured_queries],
            }
        pages.append(row)
    result["pages"] = pages
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


def measure_in_process(env: dict[str, str]) -> dict:
    out = BENCH_DIR / "in_process.json"
    out.unlink(missing_ok=True)
    run(
        [python(), str(Path(__file__).resolve()), "--in-process", str(out)],
        env,
        "the in-process measurements",
    )
    return json.loads(out.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def fetch(url: str, timeout: float = 10.0) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "bench.py"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


class _Resources(html.parser.HTMLParser):
    """The URLs a page makes a browser load at once: style sheets, scripts, images, icons."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rel = (attrs.get("rel") or "").lower().split()
        if tag == "link" and attrs.get("href") and ({"stylesheet", "icon", "preload"} & set(rel)):
            self.urls.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])


def first_visit(base: str, path: str) -> dict[str, int]:
    """What a browser with an empty cache transfers to show `path`: every response
    (status line, headers and body as sent, compressed where the server compresses)
    of the page, what it links to and what its style sheets import or use."""
    sizes: dict[str, int] = {}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(url: str) -> tuple[bytes, str]:
        request = urllib.request.Request(
            url, headers={"User-Agent": "bench.py", "Accept-Encoding": BROWSER_ACCEPT_ENCODING}
        )
        with opener.open(request, timeout=10) as response:
            body = response.read()
            head = (
                f"HTTP/1.1 {response.status} {response.reason}\r\n"
                + "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
                + "\r\n"
            )
            sizes[urllib.parse.urlsplit(url).path] = len(head.encode("latin-1", "replace")) + len(body)
            encoding = response.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding:  # br: only its size matters; the text is fetched again plainly
            with opener.open(
                urllib.request.Request(url, headers={"User-Agent": "bench.py"}), timeout=10
            ) as plain:
                body = plain.read()
        return body, response.headers.get("Content-Type", "")

    queue = [urllib.parse.urljoin(base, path)]
    while queue:
        url = queue.pop(0)
        if urllib.parse.urlsplit(url).path in sizes:
            continue
        body, content_type = get(url)
        if content_type.startswith("text/html"):
            parser = _Resources()
            parser.feed(body.decode("utf-8", "replace"))
            queue.extend(urllib.parse.urljoin(url, found) for found in parser.urls)
        elif content_type.startswith("text/css"):
            for found in re.findall(r"""url\(\s*['"]?([^'")]+)""", body.decode("utf-8", "replace")):
                queue.append(urllib.parse.urljoin(url, found))
    return sizes


# With --pin (the default on 2 cores or more) wrk runs on the first core and gunicorn
# (master and workers) on the others: the load generator and the server never take
# turns on one core, which otherwise made the CPU per request of a URL flip between
# two levels (up to +50 %) from round to round, the static file's too.
PIN = {"wrk": [], "server": []}


def pin_to_cores(enabled):
    cores = sorted(os.sched_getaffinity(0))
    if not enabled or len(cores) < 2 or shutil.which("taskset") is None:
        return None
    PIN["wrk"] = ["taskset", "-c", str(cores[0])]
    PIN["server"] = ["taskset", "-c", ",".join(str(core) for core in cores[1:])]
    return f"wrk on CPU {cores[0]}, gunicorn on CPU {','.join(str(core) for core in cores[1:])} (taskset)"


class Gunicorn:
    """gunicorn started in its own session, stopped by its pid in `stop()`."""

    def __init__(self, env, port, workers, threads, worker_class):
        self.env, self.port = env, port
        self.cmd = [
            *PIN["server"],
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "disclosure_portal.wsgi",
            "-b",
            f"{HOST}:{port}",
            "-w",
            str(workers),
            "-k",
            worker_class,
            "--threads",
            str(threads),
            "--log-level",
            "warning",  # to stderr, which goes to var/bench/gunicorn.log
            "--graceful-timeout",
            "5",
        ]
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0, probe: str = "/") -> None:
        with open(GUNICORN_LOG, "wb") as log:
            self.process = subprocess.Popen(
                self.cmd,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, not it: we stop it
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with {self.process.returncode}\n{self.log_tail()}")
            try:
                fetch(f"http://{HOST}:{self.port}{probe}", timeout=2)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within {timeout:.0f} s\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(GUNICORN_LOG.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no gunicorn log)"


def wrk(url: str, *, duration: int, connections: int, threads: int, lua: str, headers=()) -> dict:
    cmd = [
        *PIN["wrk"],
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "5s",
        "-s",
        lua,
        *[arg for header in headers for arg in ("-H", header)],
        url,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            figures = json.loads(line[len("BENCH_JSON ") :])
            break
    else:
        raise BenchError(
            f"wrk gave no figures for {url} (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )
    if figures["requests"] == 0:
        raise BenchError(f"wrk completed no request on {url}:\n{result.stdout}")
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = sum(figures[k] for k in figures if k.endswith("_errors"))
    return figures


def server_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by gunicorn's master and its workers.

    Less sensitive than requests/s to other programs busy on the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(entry) == master_pid or int(fields[1]) == master_pid:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_busy_seconds() -> float:
    """CPU time used so far by everything on the machine (all cores, /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk after each run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def combine(rounds: list[dict]) -> dict:
    """One URL's rounds: the median round and the spread (min–max) of requests/s and
    server CPU per request; the median round's p50, the worst p99."""
    requests = sum(r["requests"] for r in rounds)
    return {
        "rps": spread([r["rps"] for r in rounds]),
        "cpu_ms": spread([1000 * r["cpu_s"] / r["requests"] for r in rounds]),
        "requests": requests,
        "p50_us": statistics.median(r["p50_us"] for r in rounds),
        "p99_us": max(r["p99_us"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "status_errors": sum(r["status_errors"] for r in rounds),
    }


def response_headers(url: str, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"User-Agent": "bench.py", **(headers or {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            response.read()
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def load(env, static_paths, args, between_rounds) -> tuple[list[dict], dict]:
    """The URLs under load, interleaved over the rounds; ``between_rounds(number)`` (PDF
    renders, returning what to print) is called before each round (1, 2, …) and after the
    last (0), the server idle."""
    port = free_port()
    pinned = pin_to_cores(args.pin)
    server = Gunicorn(env, port, args.workers, args.threads, args.worker_class)
    base = f"http://{HOST}:{port}"
    targets = [
        ("static file", static_paths["css"], "text/css", False, None, False),
        ("static file, PDF's size", static_paths["pdf"], "application/pdf", False, None, False),
    ] + LOAD_URLS
    rows = []
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-", delete=False) as lua:
        lua.write(WRK_LUA)
    try:
        say(f"  gunicorn on {base}: {args.workers} workers × {args.threads} threads ({args.worker_class})")
        say(
            f"  wrk: {args.wrk_threads} thread, {args.connections} connections; per URL {args.warmup} s warm-up, "
            f"then {args.rounds} round(s) of {args.duration} s, the URLs interleaved"
        )
        server.start(probe=static_paths["css"])
        # Every URL must answer 200 with its content type (wrk would count a redirect
        # as a success); the conditional one 304 to the ETag of its 200.
        for label, path, content_type, has_target, ceiling, conditional in targets:
            status, got_type, body = fetch(base + path)
            if status != 200 or not got_type.startswith(content_type) or not body:
                raise BenchError(
                    f"GET {path} answered {status} {got_type!r} ({len(body)} bytes), "
                    f"expected 200 {content_type}\n{server.log_tail()}"
                )
            if path.endswith("/pdf/") and not body.startswith(b"%PDF-"):
                raise BenchError(f"GET {path} is not a PDF")
            headers = []
            if conditional:
                etag = response_headers(base + path)[1].get("ETag")
                status_304, _ = response_headers(base + path, {"If-None-Match": etag or ""})
                if not etag or status_304 != 304:
                    raise BenchError(f"GET {path} with If-None-Match: {etag} answered {status_304}, not 304")
                headers = [f"If-None-Match: {etag}"]
            rows.append(
                {
                    "label": label,
                    "path": path,
                    "body_bytes": 0 if conditional else len(body),
                    "has_target": has_target,
                    "ceiling": ceiling,
                    "headers": headers,
                    "key": f"{path} 304" if conditional else path,
                }
            )
        visit = first_visit(base, f"/{SLUG}/")
        say(
            f"  first visit to /{SLUG}/: {sum(visit.values()):,} bytes ("
            + ", ".join(f"{path} {size:,}" for path, size in visit.items())
            + ")"
        )
        server_info_visit = visit
        options = {"connections": args.connections, "threads": args.wrk_threads, "lua": lua.name}
        if args.warmup > 0:  # fills each worker's cache, opens its database connection
            for row in rows:
                wrk(base + row["path"], duration=args.warmup, headers=row["headers"], **options)
        rounds: dict[str, list[dict]] = {row["key"]: [] for row in rows}
        others_cpu = measured_s = 0.0
        loads_during = []
        for number in range(1, args.rounds + 1):
            figures = [between_rounds(number)]
            for row in rows:
                machine_before, wrk_before = machine_busy_seconds(), children_cpu_seconds()
                cpu_before = server_cpu_seconds(server.process.pid)
                result = wrk(base + row["path"], duration=args.duration, headers=row["headers"], **options)
                result["cpu_s"] = server_cpu_seconds(server.process.pid) - cpu_before
                wrk_cpu = children_cpu_seconds() - wrk_before
                # What the rest of the machine used meanwhile: the noise in requests/s.
                others_cpu += machine_busy_seconds() - machine_before - result["cpu_s"] - wrk_cpu
                measured_s += result["duration_us"] / 1e6
                rounds[row["key"]].append(result)
                figures.append(
                    f"{row['label']} {result['rps']:.0f}/s {1000 * result['cpu_s'] / result['requests']:.2f} ms"
                )
            loads_during.append(os.getloadavg()[0])
            say(f"    round {number} (load {loads_during[-1]:.2f}): " + ", ".join(figures))
        if server.process is None or server.process.poll() is not None:
            raise BenchError(f"gunicorn died during the load\n{server.log_tail()}")
        say(f"    after the last round: {between_rounds(0)}")
        for row in rows:
            row.update(combine(rounds[row["key"]]))
        server_info = {
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": args.worker_class,
            "pinned": pinned,
            "others_cores": max(0.0, others_cpu / measured_s),
            "first_visit": server_info_visit,
            "loads_during": loads_during,
        }
        # The ceilings first while measuring, last in the table.
        return rows[2:] + rows[:2], server_info
    finally:
        server.stop()
        os.unlink(lua.name)


def flush_redis() -> None:
    try:
        import redis
    except ImportError as error:
        raise BenchError("--cache redis needs the redis package (pyproject.toml)") from error
    try:
        redis.Redis.from_url(BENCH_REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as error:
        raise BenchError(f"no Redis at {BENCH_REDIS_URL}: {error}") from error


def idle_check(seconds: float = 3.0) -> float:
    """Cores the machine keeps busy now, measured over `seconds` (/proc/stat)."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / seconds


# -------------------------------------------------------------------------- report


def tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "?"


def machine_line() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {system}"


def git_revision() -> str:
    try:

        def git(*words):
            return subprocess.run(
                ["git", *words], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()

        rev = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (rev or "?") + (" + uncommitted changes" if dirty else "")


def yes_no(met: bool) -> str:
    return "yes" if met else "**MISSED**"


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"


def report(rows, server_info, in_proc, started_at, args, loads, busy) -> list[str]:
    ceilings = {"css": rows[-2], "pdf": rows[-1]}
    missed = []
    say()
    say(f"## Benchmark {started_at:%Y-%m-%d %H:%M %Z}, cache: {args.cache}")
    say()
    if busy:
        say("**BUSY: " + "; ".join(busy) + ". The figures below are not comparable with a quiet run.**")
        say()
    say(
        f"- machine: {machine_line()}; CPU used by the rest of the machine during the load: "
        f"{server_info['others_cores']:.2f} cores; load average before {loads[0]}, "
        f"during (1 min, after each round) {', '.join(f'{value:.2f}' for value in server_info['loads_during'])}, "
        f"after {loads[1]}"
    )
    say(
        f"- code: {git_revision()}; production settings (DEBUG off), SQLite, the example data; "
        f"cache {args.cache}{' (' + BENCH_REDIS_URL + ')' if args.cache == 'redis' else ' (each process its own)'}"
    )
    say(
        f"- server: {tool_version([str(ROOT / '.venv' / 'bin' / 'gunicorn'), '--version'])}, "
        f"{server_info['workers']} workers × {server_info['threads']} threads ({server_info['worker_class']}), "
        f"127.0.0.1; {server_info['pinned'] or 'not pinned to cores (--no-pin)'}"
    )
    say(
        f"- load: {tool_version(['wrk', '--version']).split(' Copyright')[0]}, {args.wrk_threads} thread, "
        f"{args.connections} connections, {args.rounds} × {args.duration} s per URL (interleaved) after "
        f"{args.warmup} s warm-up; no Accept-Encoding; the 304 row sends If-None-Match"
    )
    say()
    say(
        f"| url (body) | requests/s median (min–max) | p50 ms | p99 ms | server CPU ms/request median (min–max) "
        f"| ceiling | CPU ratio | target ≥ {CPU_RATIO_TARGET:.2f} |"
    )
    say("|---|---:|---:|---:|---:|---|---:|---|")
    for row in rows:
        ceiling = ceilings.get(row["ceiling"])
        cpu = row["cpu_ms"]["median"]
        if ceiling is None:
            ratio_text, target, ceiling_text = "1.00", "(ceiling)", "—"
        else:
            ratio = ceiling["cpu_ms"]["median"] / cpu if cpu else float("nan")
            ratio_text = f"{ratio:.2f}"
            ceiling_text = ceiling["label"]
            met = ratio >= CPU_RATIO_TARGET
            target = yes_no(met)
            if not met:
                missed.append(f"{row['label']} at CPU ratio {ratio:.2f}")
        errors = f" ({row['errors']} errors!)" if row["errors"] else ""
        rps, cpu_ms = row["rps"], row["cpu_ms"]
        name = f"`{row['path']}`" + (
            " If-None-Match → 304" if row["headers"] else f" ({row['body_bytes']:,} B)"
        )
        say(
            f"| {name} | {rps['median']:,.0f} ({rps['min']:,.0f}–{rps['max']:,.0f}){errors} "
            f"| {row['p50_us'] / 1000:.2f} | {row['p99_us'] / 1000:.2f} "
            f"| {cpu_ms['median']:.3f} ({cpu_ms['min']:.3f}–{cpu_ms['max']:.3f}) | {ceiling_text} "
            f"| {ratio_text} | {target} |"
        )
    by_label = {row["label"]: row for row in rows}
    not_modified, full = by_label.get("current page, 304"), by_label.get("current page")
    if not_modified and full:
        met = not_modified["cpu_ms"]["median"] <= full["cpu_ms"]["median"] * 1.05
        say()
        say(
            f"304 against 200 from the cache (`/{SLUG}/`): {not_modified['cpu_ms']['median']:.3f} ms vs "
            f"{full['cpu_ms']['median']:.3f} ms CPU per request: no more (±5 %): {yes_no(met)}"
        )
        if not met:
            missed.append("a 304 costs more CPU than a 200 from the cache")
    say()
    say(
        "Per URL, the median of the rounds and their spread (min–max). Server CPU: gunicorn's user + system time "
        "per request (master and workers, /proc); CPU ratio = the ceiling's CPU per request ÷ this URL's (the "
        "static stylesheet for pages and JSON, a static file of the PDF's size for the PDF): what the "
        "requests/s ratio would be on an otherwise idle, saturated server, and the figure that holds best "
        "when other programs run."
    )
    others = server_info["others_cores"]
    if others > 0.25:
        say(
            f"NOTE: other programs kept {others:.1f} of the {os.cpu_count()} cores busy during the load: "
            "requests/s and latencies are lower than on an idle machine; the CPU ratio is less affected."
        )
    say()
    pdf = in_proc["pdf"]
    render_met = pdf["warm_median_s"] <= RENDER_TARGET_S
    cold_met = pdf["cold_s"] <= COLD_RENDER_TARGET_S
    size_met = pdf["stored_size_bytes"] <= SIZE_TARGET_BYTES
    if not render_met:
        missed.append(f"PDF render {pdf['warm_median_s']:.2f} s")
    if not cold_met:
        missed.append(f"PDF cold render {pdf['cold_s']:.2f} s")
    if not size_met:
        missed.append(f"PDF size {pdf['stored_size_bytes'] / 1000:.0f} KB")
    if pdf["subsetter"] != "HarfBuzz":
        missed.append("fonts subset with fontTools: install libharfbuzz-subset0")
    warms = pdf["warm_times_s"]
    say("| PDF of the example (render_publication_pdf, in process) | figure | target |")
    say("|---|---:|---|")
    say(
        f"| render, warm median of {len(warms)} (before the load, each round and after) "
        f"| {pdf['warm_median_s']:.2f} s (CPU {pdf['warm_median_cpu_s']:.2f} s) "
        f"(min–max {min(warms):.2f}–{max(warms):.2f} s) "
        f"| ≤ {RENDER_TARGET_S:g} s: {yes_no(render_met)} |"
    )
    subsetter_met = pdf["subsetter"] == "HarfBuzz"
    say(f"| font subsetting | {pdf['subsetter']} | HarfBuzz: {yes_no(subsetter_met)} |")
    colds = pdf["cold_times_s"]
    say(
        f"| render, cold: a process's first (imports WeasyPrint), median of {len(colds)} "
        f"(at the start, before the middle round, after the last) | {pdf['cold_s']:.2f} s "
        f"(CPU {pdf['cold_cpu_s']:.2f} s) (min–max {min(colds):.2f}–{max(colds):.2f} s) "
        f"| ≤ {COLD_RENDER_TARGET_S:g} s: {yes_no(cold_met)} |"
    )
    say(
        f"| size, rendered (unsigned) | {pdf['size_bytes']:,} B = {pdf['size_bytes'] / 1000:.0f} KB, "
        f"{pdf['pages'] or '?'} pages | |"
    )
    say(
        f"| size of the published PDF (signed, served) | {pdf['stored_size_bytes']:,} B "
        f"| ≤ {SIZE_TARGET_BYTES / 1000:.0f} KB: {yes_no(size_met)} |"
    )
    say()
    visit = server_info["first_visit"]
    visit_total = sum(visit.values())
    visit_met = visit_total <= FIRST_VISIT_TARGET_BYTES
    if not visit_met:
        missed.append(f"first visit {visit_total / 1000:.0f} KB")
    say(
        f"| first visit to `/{SLUG}/` (empty cache, Accept-Encoding: {BROWSER_ACCEPT_ENCODING}) | bytes | target |"
    )
    say("|---|---:|---|")
    for path, size in visit.items():
        say(f"| `{path}` (headers + body as sent) | {size:,} B | |")
    say(
        f"| first visit bytes, in all | {visit_total:,} B = {visit_total / 1000:.1f} KB "
        f"| ≤ {FIRST_VISIT_TARGET_BYTES / 1000:.0f} KB: {yes_no(visit_met)} |"
    )
    say()
    say(
        "| page (django.test.Client, in process) | queries, cache cleared | queries, warm | ms cleared | ms warm |"
    )
    say("|---|---:|---:|---:|---:|")
    for page in in_proc["pages"]:
        say(
            f"| `{page['path']}` | {page['cold']['queries']} | {page['warm']['queries']} "
            f"| {page['cold']['ms']:.1f} | {page['warm']['ms']:.1f} |"
        )
    say()
    if missed:
        say("Targets MISSED: " + "; ".join(missed) + ".")
    else:
        say("All targets met.")
    return missed


# ---------------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=int, default=4, help="seconds of load per URL and round (default 4)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds over the URLs, interleaved (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per URL (default 1)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2: one per core)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wrk on the first core, gunicorn on the others (taskset; default on with 2 cores or more)",
    )
    parser.add_argument(
        "--cache",
        choices=["locmem", "redis"],
        default="locmem",
        help=f"the portal's cache: local memory per process (default) or Redis ({BENCH_REDIS_URL}, flushed)",
    )
    parser.add_argument("--in-process", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--render-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (
        1 <= args.duration <= 60
        and 1 <= args.rounds <= 9
        and 0 <= args.warmup <= 10
        and 1 <= args.connections <= 64
        and 1 <= args.wrk_threads <= 4
    ):
        parser.error(
            "bounded runs only: duration 1–60 s, 1–9 rounds, warm-up 0–10 s, 1–64 connections, "
            "1–4 wrk threads"
        )
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.in_process:
        in_process(args.in_process)
        return 0
    if args.render_worker:
        render_worker()
        return 0
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    started_at = datetime.datetime.now().astimezone()
    try:
        if shutil.which("wrk") is None:
            raise BenchError("wrk is not installed (apt-get install wrk; `make bench` does)")
        if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
            raise BenchError("no .venv/bin/gunicorn: run `make install` first")
        cores = os.cpu_count() or 1
        load_at_start = load_average()
        busy_cores = idle_check()
        say(
            f"Benchmark of the portal, {started_at:%Y-%m-%d %H:%M:%S %Z}, cache {args.cache}, "
            f"load average {load_at_start}, {busy_cores:.2f} of {cores} cores busy over 3 s"
        )
        busy = []
        # The cores measured busy over 3 s decide, not the load average: a 1-minute
        # average still carries the previous run's load (make bench's second run,
        # right after the first, on an idle machine), so it is printed only.
        if busy_cores > BUSY_SHARE * cores:
            busy.append(f"{busy_cores:.2f} of {cores} cores busy before the start")
        if busy:
            say("BUSY: " + "; ".join(busy) + " — measuring anyway, the run is flagged")
        server_env = base_env(allowed_hosts=f"{HOST},localhost")
        if args.cache == "redis":
            server_env["CACHE_URL"] = BENCH_REDIS_URL
            flush_redis()
        static_path = prepare_database(server_env)
        say("  queries per page, in process…")
        in_env = base_env(allowed_hosts=f"{HOST},localhost,testserver")
        in_env.update({k: v for k, v in server_env.items() if k in ("CACHE_URL", "DATABASE_URL")})
        in_proc = measure_in_process(in_env)
        renderer, colds = RenderWorker(in_env), []

        def cold_render() -> float:
            """The first render of a new render worker (a fresh process)."""
            worker = RenderWorker(in_env)
            try:
                colds.append(worker.render())
            finally:
                worker.close()
            return colds[-1]["s"]

        def between_rounds(number: int) -> str:
            """A warm render before each round and after the last; a cold one in a new
            process before the middle round and after the last."""
            text = f"PDF render {renderer.render()['s']:.2f} s"
            if number in (0, args.rounds // 2 + 1):
                text += f", cold in a new process {cold_render():.2f} s"
            return text

        try:
            cold, warm = renderer.render()["s"], renderer.render()["s"]
            say(f"  PDF render (render worker, in process): cold {cold:.2f} s, warm {warm:.2f} s")
            # The PDF's ceiling: a static file of its size, written before gunicorn starts
            # (WhiteNoise lists the files at start).
            (STATIC_ROOT / PDF_SIZE_STATIC).write_bytes(os.urandom(in_proc["stored_size_bytes"]))
            if args.cache == "redis":
                flush_redis()  # the load starts from an empty cache too
            load_before = load_average()
            rows, server_info = load(
                server_env,
                {"css": static_path, "pdf": "/static/" + PDF_SIZE_STATIC},
                args,
                between_rounds=between_rounds,
            )
        finally:
            renderer.close()
        in_proc["pdf"] = renderer.figures(in_proc["stored_size_bytes"], colds)
        others = server_info["others_cores"]
        if others > BUSY_SHARE * cores / 2:
            busy.append(f"other programs used {others:.2f} of {cores} cores during the load")
        report(rows, server_info, in_proc, started_at, args, (load_before, load_average()), busy)
        if busy:
            say("BUSY run: exit status 3.")
            return 3
    except BenchError as error:
        say(f"\nbench: FAILED: {error}")
        return 1
    except (KeyboardInterrupt, Terminated) as stop:
        say(f"\nbench: interrupted ({str(stop) or 'Ctrl-C'}); gunicorn stopped")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
