#!/usr/bin/env python3
"""Benchmark of the directory at / with 1,000 organisations (`make bench`): a script, not a test.

1. A fresh SQLite database (var/bench/directory.sqlite3), migrated, with N organisations
   made by ``manage.py generate_directory_bench`` (published versions; stand-in PDFs).
2. The directory's pages requested in this process through django.test.Client with the
   production settings (DJANGO_DEBUG off; static file names unhashed, so no collectstatic
   is needed), unfiltered and filtered: the time from request to response is the server
   time (the whole Django stack: middleware, view, queries, template; no network, no
   gzip of the client's choosing). Each URL once to warm up, then ``--rounds`` rounds,
   the URLs interleaved, ``--requests`` requests per URL and round.

Prints, per URL, the median over all requests, the spread of the rounds' medians
(min–max), the rows shown and the SQL queries, against the target (< 50 ms), and the
load average (a busy machine inflates every figure); MISSED and exit status 1 when a
median misses it.
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_PATH = ROOT / "var" / "bench" / "directory.sqlite3"
TARGET_MS = 50.0

URLS = (
    ("unfiltered, page 1", "/"),
    ("unfiltered, page 10", "/?page=10"),
    (
        "健診機関グループ in 東京都, 遵守済",
        "/?classification=institution_group&prefecture=東京都&compliance=complied",
    ),
    ("対象 保険者向け, 内容 請求・支払", "/?target=insurer&content=billing"),
    ("search 「健診」", "/?q=健診"),
    ("search 2 terms, no match", "/?q=健診+存在しない語"),
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="organisations (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the URLs (default 3, at least 3)")
    parser.add_argument("--requests", type=int, default=20, help="requests per URL and round (default 20)")
    args = parser.parse_args(argv)
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    return args


def setup_django():
    DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    if DB_PATH.exists():
        DB_PATH.unlink()
    os.environ.pop("DJANGO_DEBUG", None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="disclosure_portal.settings",
        DATABASE_URL=f"sqlite:///{DB_PATH}",
        DJANGO_SECRET_KEY="bench-directory-not-a-secret-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_STATIC_MANIFEST="false",
        CACHE_URL="locmemcache://",
    )
    sys.path.insert(0, str(ROOT))
    # WhiteNoise's: var/staticfiles is not needed here (no static file is requested).
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


def main(argv=None):
    args = parse_args(argv)
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    call_command("generate_directory_bench", count=args.count, verbosity=0)
    print(f"generate_directory_bench --count {args.count}: {time.perf_counter() - started:.1f} s")

    client = Client()
    info = {}
    for _name, url in URLS:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, secure=True)  # production settings redirect plain HTTP
        if response.status_code != 200:
            print(f"{url}: status {response.status_code}")
            return 1
        info[url] = (len(queries), response.content.decode().count('class="directory-entry"'))

    load_before = os.getloadavg()[0]
    times = {url: [] for _name, url in URLS}
    round_medians = {url: [] for _name, url in URLS}
    for _round in range(args.rounds):
        for _name, url in URLS:
            taken = []
            for _ in range(args.requests):
                start = time.perf_counter()
                client.get(url, secure=True)
                taken.append((time.perf_counter() - start) * 1000)
            times[url] += taken
            round_medians[url].append(statistics.median(taken))

    print(
        f"\nDirectory server time with {args.count} organisations "
        f"({args.rounds} rounds × {args.requests} requests per URL; target < {TARGET_MS:.0f} ms)"
    )
    print(
        f"1-minute load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after ({os.cpu_count()} cores)"
    )
    print(f"{'page':<40} {'median':>8} {'rounds (min–max)':>18} {'rows':>5} {'queries':>8}")
    missed = False
    for name, url in URLS:
        median = statistics.median(times[url])
        low, high = min(round_medians[url]), max(round_medians[url])
        queries, rows = info[url]
        verdict = "ok" if median < TARGET_MS else "MISSED"
        missed |= median >= TARGET_MS
        print(f"{name:<40} {median:>6.1f}ms {low:>8.1f}–{high:<6.1f}ms {rows:>5} {queries:>8}  {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
