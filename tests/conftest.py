import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from disclosures.models import Membership, Organization
from disclosures.snapshot import sha256_of

from . import factories


def pytest_configure(config):
    config.addinivalue_line("markers", "real_pdf: publish with the real WeasyPrint rendering")
    config.addinivalue_line("markers", "real_password_hashing: keep the configured (Argon2) hashers")
    config.addinivalue_line("markers", "real_signing: sign the (stand-in) PDF with the test certificate")


TEST_SIGNING_PASSWORD = "test-signing-password"


@pytest.fixture(scope="session")
def signing_p12(tmp_path_factory):
    """A throwaway self-signed certificate, made once per session."""
    from disclosures.signing import create_self_signed_p12

    return create_self_signed_p12(
        tmp_path_factory.mktemp("signing") / "test.p12",
        TEST_SIGNING_PASSWORD,
        common_name="テスト用 署名証明書",
    )


@pytest.fixture(autouse=True)
def pdf_signing(request, settings, monkeypatch, signing_p12):
    """Every test has the test certificate configured; tests that are neither
    real_pdf nor real_signing skip signing (the stand-in PDF is no real PDF)."""
    settings.PDF_SIGNING_P12 = str(signing_p12)
    settings.PDF_SIGNING_PASSWORD = TEST_SIGNING_PASSWORD
    if not (request.node.get_closest_marker("real_pdf") or request.node.get_closest_marker("real_signing")):
        monkeypatch.setattr("disclosures.publishing.sign_pdf", lambda pdf: pdf)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The official checklist template, loaded once right after the test database is
    created: every test's transaction starts with it. A transactional test empties
    the tables when it ends; `factories.official_template()` loads it again then."""
    with django_db_blocker.unblock():
        factories.load_official_template()


# The real renderings of the session, by their inputs: the same snapshot, number and
# dates give the same PDF, so tests that publish the same version (the example's
# version 1, above all) render it once.
_real_pdfs = {}


@pytest.fixture(autouse=True)
def fast_publication_pdf(request, monkeypatch):
    """WeasyPrint takes about a second a version; tests of publishing that are not
    about the PDF get a stand-in, tests marked real_pdf the real rendering (once per
    session for the same inputs)."""
    from disclosures import publishing

    real = publishing.render_publication_pdf
    if request.node.get_closest_marker("real_pdf"):

        def render_once(snapshot, *, number, **dates):
            key = (sha256_of(snapshot), number, tuple(sorted((k, str(v)) for k, v in dates.items())))
            if key not in _real_pdfs:
                _real_pdfs[key] = real(snapshot, number=number, **dates)
            return _real_pdfs[key]

        monkeypatch.setattr("disclosures.publishing.render_publication_pdf", render_once)
        return

    def stand_in(snapshot, *, number, **_dates):
        return f"%PDF-1.7\n% stand-in for version {number} of {sha256_of(snapshot)}\n".encode()

    if request.node.get_closest_marker("real_signing"):
        # A real (one blank page) PDF that pyHanko can sign, still without WeasyPrint.
        def stand_in(snapshot, *, number, **_dates):  # noqa: F811
            import io

            from pypdf import PdfWriter

            writer = PdfWriter()
            writer.add_blank_page(width=595, height=842)
            writer.add_metadata({"/Subject": f"stand-in for version {number} of {sha256_of(snapshot)}"})
            buffer = io.BytesIO()
            writer.write(buffer)
            return buffer.getvalue()

    monkeypatch.setattr("disclosures.publishing.render_publication_pdf", stand_in)


@pytest.fixture(autouse=True)
def fast_password_hashing(request, settings):
    """Argon2 is slow by design; tests that are not about it hash with MD5."""
    if not request.node.get_closest_marker("real_password_hashing"):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """The public views cache rendered bodies by ETag: start (and end) every test without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def official_template(db):
    return factories.official_template()


@pytest.fixture
def example_org(db):
    """The example organisation as load_example makes it (factories.example_organization)."""
    return factories.example_organization()


@pytest.fixture
def sheet(example_org):
    return example_org.sheet


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.jp", "pw-for-tests-123")
    client.force_login(user)
    return client


@pytest.fixture
def other_org(example_org):
    """A second organisation (its draft not filled in) that the members below do not belong to."""
    return Organization.create_with_drafts(slug="other-agency", name="他機関株式会社")


@pytest.fixture
def editor(django_user_model, example_org):
    return factories.member(django_user_model, example_org, Membership.Role.EDITOR, "editor")


@pytest.fixture
def publisher(django_user_model, example_org):
    return factories.member(django_user_model, example_org, Membership.Role.PUBLISHER, "publisher")


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that the portal's mail goes to:
    yields the Inbox of every message it received (tests/smtp.py)."""
    from aiosmtpd.controller import Controller

    from .smtp import Inbox, free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://disclosure.example.jp"
    try:
        yield inbox
    finally:
        controller.stop()


# The 実施時期 the tests plan (2027年3月 and later) must lie ahead when they publish:
# publishing refuses a month that has passed. Until this day the real clock decides;
# after it, the rule is judged as on this day, so that the suite keeps its meaning
# (and passes) in later years. Tests of the rule freeze the clock before this day.
PLANNED_MONTHS_JUDGED_ON_OR_BEFORE = datetime.date(2027, 2, 1)


@pytest.fixture(autouse=True)
def planned_months_stay_ahead(monkeypatch):
    from disclosures import publishing

    real_this_month = publishing.this_month

    def this_month(today=None):
        today = today or timezone.localdate()
        return real_this_month(min(today, PLANNED_MONTHS_JUDGED_ON_OR_BEFORE))

    monkeypatch.setattr(publishing, "this_month", this_month)
