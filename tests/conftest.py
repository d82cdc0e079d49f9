import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from checklist.models import Answer, ChecklistTemplate, Item, Note, Section
from disclosures.models import Organization
from disclosures.snapshot import sha256_of

ROOT = Path(__file__).resolve().parent.parent
SEED_TEXT = (ROOT / "fixtures/seed/disclosure-sheet-and-checklist.txt").read_text(encoding="utf-8")
EXAMPLE = json.loads((ROOT / "fixtures/example_qolead.json").read_text(encoding="utf-8"))


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


@pytest.fixture(autouse=True)
def fast_publication_pdf(request, monkeypatch):
    """WeasyPrint takes about a second a version; tests of publishing that are not
    about the PDF get a stand-in, tests marked real_pdf the real rendering."""
    if request.node.get_closest_marker("real_pdf"):
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
    """Rendered pages are cached per version; each test starts without them."""
    cache.clear()


@pytest.fixture
def official_template(db):
    call_command("loaddata", "checklist_guideline_v2", verbosity=0)
    return ChecklistTemplate.objects.get(code="guideline-v2")


@pytest.fixture
def example_org(db):
    call_command("load_example", verbosity=0, stdout=open("/dev/null", "w"))
    return Organization.objects.select_related("sheet__checklist").get(slug="qolead")


@pytest.fixture
def sheet(example_org):
    return example_org.sheet


def make_template(code, sections=2, items_per_section=3):
    """A small checklist edition of its own, for tests that vary the size."""
    template = ChecklistTemplate.objects.create(
        code=code, guideline_title="テスト用ガイドライン", title="テスト用チェックリスト"
    )
    note = Note.objects.create(template=template, number=1, text="テスト用の注")
    for order in range(1, sections + 1):
        section = Section.objects.create(template=template, order=order, title=f"区分{order}")
        for number in range(1, items_per_section + 1):
            Item.objects.create(
                section=section,
                number=number,
                text=f"項目{order}-{number}",
                note=note if number == 1 else None,
            )
    return template


def answer_all(checklist, status=Answer.Status.DONE, planned_time=""):
    for answer in checklist.answers.all():
        answer.status = status
        answer.planned_time = planned_time
        answer.save()


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.jp", "pw-for-tests-123")
    client.force_login(user)
    return client
