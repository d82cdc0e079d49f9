"""Settings for disclosure-portal, read from the environment (django-environ).

Defaults are safe for production: DEBUG is off unless DJANGO_DEBUG asks for it,
and without DEBUG the portal refuses to start without a secret key and allowed
hosts. SQLite under var/ is the default database; DATABASE_URL switches to
PostgreSQL (postgres://user:password@host:5432/name).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env file (never committed) may hold the same variables.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-not-for-production")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    missing = [
        name
        for name, value in (("DJANGO_SECRET_KEY", SECRET_KEY), ("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS))
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            "Production settings (DJANGO_DEBUG is not set) need "
            + " and ".join(missing)
            + ". Set them in the environment, e.g. DJANGO_SECRET_KEY=$(python -c "
            "'import secrets; print(secrets.token_urlsafe(50))') "
            "DJANGO_ALLOWED_HOSTS=disclosure.example.jp; "
            "for local development run with DJANGO_DEBUG=true (make run does)."
        )

INSTALLED_APPS = [
    "disclosure_portal.apps.PortalAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    # Third-party apps under Japanese names (disclosure_portal/apps.py).
    "disclosure_portal.apps.SimpleHistoryConfig",
    "disclosure_portal.apps.AxesConfig",
    "disclosure_portal.apps.OTPConfig",
    "disclosure_portal.apps.TOTPConfig",
    "csp",
    "django_tasks",
    "disclosure_portal.apps.TasksDatabaseConfig",  # django_tasks_db: the queue and `db_worker`
    "checklist",
    "disclosures",
    "subscriptions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Anonymous GET/HEAD of a public page, JSON or PDF already built: answered from
    # the cache with the full stack's headers, nothing below runs (disclosures/public_cache.py).
    "disclosures.public_cache.PublicResponseCacheMiddleware",
    "disclosure_portal.middleware.NoCookiesOutsideTheAdminMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "disclosure_portal.urls"
# The admin's URL prefix (e.g. "staff-7f3k/"), so that it need not be guessable.
ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/").strip("/") + "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "disclosure_portal.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("TEST", {})
# Persistent connections: opening one (and, on SQLite, reading the schema) cost a
# third of a public page's time.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# The cache: local memory of each process by default; CACHE_URL=redis://host:6379/1
# shares it between processes and hosts (a publication is then seen by all of them
# on their next request). django-environ's cache URLs: locmemcache://, redis://, …
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
]

# Argon2 first; older hashes are upgraded on the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語")]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["disclosure_portal.formats"]
# Japanese for third-party apps that ship none (django-axes): locale/ja.
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Hashed, compressed file names need `collectstatic`; production always runs it,
# the test suite (pyproject.toml) and DEBUG do without.
STATIC_MANIFEST = env.bool("DJANGO_STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# The portal's signing certificate and key for the PDFs (PAdES), a PKCS#12 file.
# In development `make run` creates a self-signed one at this default path
# (manage.py create_signing_certificate); in production set both variables:
# without a certificate nothing can be published.
PDF_SIGNING_P12 = env.str(
    "DJANGO_PDF_SIGNING_P12", default=str(VAR_DIR / "pdf-signing" / "development.p12") if DEBUG else ""
)
PDF_SIGNING_PASSWORD = env.str("DJANGO_PDF_SIGNING_PASSWORD", default="development" if DEBUG else "")

# bootstrap5 in the admin; "portal" (templates/portal/) on public pages, styled by portal.css.
CRISPY_ALLOWED_TEMPLATE_PACKS = ("bootstrap5", "portal")
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security (production defaults pass `manage.py check --deploy`) ---------
# Behind a TLS-terminating proxy in production.
BEHIND_TLS_PROXY = env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Staff log in to the admin, and land there (also when a ?next= is refused).
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# Staff sessions end after 30 minutes without a request, and with the browser.
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content-Security-Policy (django-csp): nothing inline, nothing from elsewhere.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Lockout after repeated failed logins (django-axes): per user name and address.
AXES_ENABLED = env.bool("DJANGO_AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("DJANGO_AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("DJANGO_AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The address attempts are counted by, found by django-ipware. Directly exposed:
# the connection's own address (an X-Forwarded-For the client made up is
# ignored). Behind one proxy that appends the address it was connected from to
# X-Forwarded-For (nginx's $proxy_add_x_forwarded_for, most load balancers):
# the header's right-most entry. ipware counts the proxies listed after the
# client; ours is the connection, not in the list, hence 0. Not strict: entries
# a client wrote to the left are skipped, not a reason to fall back to the
# proxy's address (which every client shares).
if BEHIND_TLS_PROXY:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    AXES_IPWARE_PROXY_COUNT = 0
    IPWARE_STRICT = False
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Two-factor (django-otp, TOTP): staff may register a device; with this on,
# 公開責任者 must have logged in with their TOTP code to publish.
OTP_TOTP_ISSUER = env.str("DJANGO_OTP_ISSUER", default="重要事項開示ポータル")
PUBLISHERS_REQUIRE_OTP = env.bool("DJANGO_PUBLISHERS_REQUIRE_OTP", default=False)

# `manage.py backup` signs its file with HMAC-SHA256 under this key and `restore`
# refuses a file whose signature does not match: any row changed is then detected,
# not only a publication's. Empty: backups are hashed but not signed.
BACKUP_HMAC_KEY = env.str("DJANGO_BACKUP_HMAC_KEY", default="")

# E-mail: EMAIL_URL (django-environ) names the server, e.g.
# smtp+tls://user:password@mail.example.jp:587; development prints mail to the console.
# Mail is never sent by a request: disclosure_portal/mail.py queues a background task
# (Django's tasks API, django-tasks' database backend) that `manage.py db_worker` runs.
vars().update(env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"))
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="重要事項開示ポータル <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The portal's address as mail links to it (no request to take it from in a task).
SITE_URL = env.str(
    "DJANGO_SITE_URL",
    default="http://127.0.0.1:8000" if DEBUG else (f"https://{ALLOWED_HOSTS[0]}" if ALLOWED_HOSTS else ""),
).rstrip("/")

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# The audit trail (django-simple-history) is read-only in the admin.
SIMPLE_HISTORY_REVERT_DISABLED = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}
