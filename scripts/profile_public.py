#!/usr/bin/env python3
"""Where a cached public read spends its time: pyinstrument over the full stack, in process.

    .venv/bin/python scripts/profile_public.py [--requests 2000] [--database var/bench/db.sqlite3]

Production settings (DEBUG off), against the bench's database (run `make bench` once
first): each URL is requested once to fill the cache, then N times under the profiler
through django.test.Client (every middleware and the view, no HTTP server). Prints the
CPU microseconds per request and pyinstrument's call tree per URL.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
URLS = ["/qolead/", "/qolead/pdf/", "/qolead/current.json", "/qolead/versions/1/", "/static-304/"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--database", default=str(ROOT / "var" / "bench" / "db.sqlite3"))
    parser.add_argument("--tree", action="store_true", help="print pyinstrument's call tree too")
    args = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="disclosure_portal.settings",
        DJANGO_DEBUG="false",
        DJANGO_STATIC_MANIFEST=os.environ.get("DJANGO_STATIC_MANIFEST", "true"),
        DJANGO_SECRET_KEY="profile-only",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=f"sqlite:///{Path(args.database).resolve()}",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.test import Client
    from pyinstrument import Profiler

    URLS.append(staticfiles_storage.url("css/portal.css"))
    client = Client()
    headers = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
    for url in URLS:
        conditional = url == "/static-304/"
        path = "/qolead/" if conditional else url
        first = client.get(path, **headers)
        if first.status_code != 200:
            sys.exit(f"{path}: {first.status_code} (run make bench once to create the database)")
        extra = dict(headers, HTTP_IF_NONE_MATCH=first["ETag"]) if conditional else headers
        if hasattr(first, "streaming_content"):
            b"".join(first.streaming_content)
        client.get(path, **extra)
        profiler = Profiler(interval=0.0002)
        cpu = time.process_time()
        profiler.start()
        for _ in range(args.requests):
            response = client.get(path, **extra)
            if hasattr(response, "streaming_content"):  # WhiteNoise's file: read it, as a server would
                for _chunk in response.streaming_content:
                    pass
                response.close()
        profiler.stop()
        per_request_us = (time.process_time() - cpu) / args.requests * 1e6
        label = f"{path} (If-None-Match: 304)" if conditional else path
        print(f"== {label}: {per_request_us:.0f} µs CPU per request (under the profiler, django.test.Client)")
        if args.tree:
            print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
