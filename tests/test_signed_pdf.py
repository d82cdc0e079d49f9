"""Issue 16, points 1 and 4: every version published from now on is signed by the
portal's key (PAdES B-B, pyHanko), and the PDF is tagged (structure tree, language)
while remaining PDF/A-3b with its fonts embedded."""

import hashlib
import io
import os
import re
import stat

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from disclosures.models import Publication
from disclosures.publishing import PublishError, publish
from disclosures.signing import check_signatures, signer_certificate_sha256

from .test_publishing import change_sheet, new_organization, publish_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_pdf(example_org):
    """Version 1 of the example, rendered by WeasyPrint and signed, as stored."""
    return bytes(example_org.publications.get(number=1).pdf)


def struct_types(reader):
    """Every structure element type (/S) of the structure tree, in document order."""
    found = []

    def walk(node):
        node = node.get_object()
        if "/S" in node:
            found.append(str(node["/S"]))
        kids = node.get("/K")
        if kids is None:
            return
        for kid in kids if isinstance(kids, list) else [kids]:
            kid = kid.get_object() if hasattr(kid, "get_object") else kid
            if isinstance(kid, dict) and "/MCID" not in kid or isinstance(kid, dict) and "/S" in kid:
                walk(kid)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


# ------------------------------------------------------------------ signing, real PDF


@pytest.mark.real_pdf
def test_published_pdf_is_signed_by_the_portal_key_and_its_hash_is_of_the_signed_file(example_org, real_pdf):
    publication = example_org.publications.get(number=1)
    assert publication.pdf_sha256 == hashlib.sha256(real_pdf).hexdigest()
    checks = check_signatures(real_pdf)
    assert len(checks) == 1
    assert checks[0].ok, checks[0]
    assert checks[0].certificate_sha256 == signer_certificate_sha256()
    # PAdES: the ETSI subfilter, not adbe.pkcs7.detached.
    signature = PdfReader(io.BytesIO(real_pdf)).trailer["/Root"]["/AcroForm"]["/Fields"][0].get_object()["/V"]
    assert signature["/SubFilter"] == "/ETSI.CAdES.detached"


@pytest.mark.real_pdf
def test_signed_pdf_keeps_pdf_a_3b_identification_and_embedded_fonts(real_pdf):
    reader = PdfReader(io.BytesIO(real_pdf))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part(="|>)3', xmp) and re.search(r'pdfaid:conformance(="|>)B', xmp), xmp[:2000]
    assert reader.trailer["/Root"]["/OutputIntents"]
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor
    # The information dictionary still says what the XMP metadata says.
    info = reader.trailer["/Info"].get_object()
    assert f'pdf:Producer="{info["/Producer"]}"' in xmp or f"<pdf:Producer>{info['/Producer']}<" in xmp
    assert reader.metadata.title in xmp
    # The signature is an incremental update: the rendered file is kept in front of it.
    assert real_pdf.count(b"%%EOF") >= 2


@pytest.mark.real_pdf
def test_pdf_is_tagged_with_headings_tables_header_cells_lists_and_its_language(real_pdf):
    reader = PdfReader(io.BytesIO(real_pdf))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "ja"
    types = struct_types(reader)
    assert "/Table" in types and "/TH" in types and "/TD" in types and "/TR" in types
    assert any(re.fullmatch(r"/H[1-6]?", t) for t in types), sorted(set(types))
    assert "/L" in types and "/LI" in types
    # Still PDF/A-3b after tagging.
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert re.search(r'pdfaid:part(="|>)3', xmp)


@pytest.mark.real_pdf
@pytest.mark.real_signing
def test_the_examples_signed_pdf_weighs_at_most_200_kb(real_pdf):
    """Issue 13, point 4 (228,904 B before: the bold face's subset, a Span per text box,
    the signature's zero padding; README "PDF render")."""
    assert len(real_pdf) <= 200_000, len(real_pdf)


@pytest.mark.real_pdf
def test_text_is_tagged_on_its_element_and_every_marked_content_maps_back_to_it(real_pdf):
    """No Span structure element per text box: the marked content (MCID) sits in its
    element's kids (a cell, a list body, a heading), and the parent tree names that
    element for it, page by page."""
    reader = PdfReader(io.BytesIO(real_pdf))
    root = reader.trailer["/Root"]["/StructTreeRoot"]
    nums = root["/ParentTree"]["/Nums"]
    checked = 0
    for index in range(0, len(nums), 2):
        page_number, elements = nums[index], nums[index + 1].get_object()
        if page_number >= len(reader.pages):
            continue  # the annotations' entries
        page = reader.pages[page_number]
        mcids = [int(mcid) for mcid in re.findall(rb"/MCID (\d+)", page.get_contents().get_data())]
        assert sorted(mcids) == list(range(len(elements)))
        for mcid, reference in enumerate(elements):
            element = reference.get_object()
            kids = element["/K"] if isinstance(element["/K"], list) else [element["/K"]]
            assert mcid in [kid for kid in kids if isinstance(kid, int)], (page_number, mcid)
            assert element.raw_get("/Pg").idnum == page.indirect_reference.idnum
            checked += 1
            # A Span is left only where it groups more than text (an HTML <span> with a
            # footnote mark in it, say).
            if element["/S"] == "/Span":
                assert not all(isinstance(kid, int) for kid in kids), (page_number, mcid)
    assert checked > 500


@pytest.mark.real_pdf
def test_the_signature_takes_only_the_space_it_needs(real_pdf):
    contents = re.search(rb"/Contents <([0-9A-Fa-f]+)>", real_pdf)[1]
    padding = len(contents) - len(contents.rstrip(b"0"))
    assert padding < 16, padding  # pyHanko's default reserves half as much again: 1,894 zeros


# ------------------------------------------------------- signing, stand-in PDF (fast)


@pytest.mark.real_signing
def test_every_new_version_is_signed_and_its_stored_hash_is_of_the_signed_bytes(sheet):
    publication = publish_change(sheet, hours_system="24時間稼働")
    pdf = bytes(publication.pdf)
    assert publication.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert [check.ok for check in check_signatures(pdf)] == [True]


@pytest.mark.real_signing
def test_signature_is_pades_baseline_b(sheet):
    from pyhanko.pdf_utils.reader import PdfFileReader

    publication = publish_change(sheet, hours_system="24時間稼働")
    (signature,) = PdfFileReader(io.BytesIO(bytes(publication.pdf))).embedded_signatures
    attributes = {attribute["type"].native for attribute in signature.signer_info["signed_attrs"]}
    # ETSI EN 319 142-1 B-B: the signing certificate bound by signing-certificate-v2,
    # the time in the signature dictionary's /M, not in a CMS signing-time attribute.
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert {"content_type", "message_digest", "signing_certificate_v2"} <= attributes
    assert "signing_time" not in attributes
    assert "/M" in signature.sig_object


@pytest.mark.real_signing
def test_wrong_certificate_password_publishes_nothing(sheet, settings):
    settings.PDF_SIGNING_PASSWORD = "not-the-password"
    change_sheet(sheet, hours_system="24時間稼働")
    before = Publication.objects.count()
    with pytest.raises(PublishError) as raised:
        publish(sheet, change_note="変更")
    assert "署名用証明書" in raised.value.problems[0]
    assert Publication.objects.count() == before


@pytest.mark.real_signing
def test_production_without_a_certificate_refuses_to_publish_in_japanese(sheet, settings):
    settings.PDF_SIGNING_P12 = ""
    change_sheet(sheet, hours_system="24時間稼働")
    before = Publication.objects.count()
    with pytest.raises(PublishError) as raised:
        publish(sheet, change_note="変更")
    assert "DJANGO_PDF_SIGNING_P12" in raised.value.problems[0]
    assert "公開できません" in raised.value.problems[0]
    assert Publication.objects.count() == before


@pytest.mark.real_signing
def test_a_pdf_that_cannot_be_signed_publishes_nothing(sheet, monkeypatch):
    monkeypatch.setattr(
        "disclosures.publishing.render_publication_pdf",
        lambda snapshot, **kwargs: b"%PDF-1.7 not a PDF at all",
    )
    change_sheet(sheet, hours_system="24時間稼働")
    before = Publication.objects.count()
    with pytest.raises(PublishError) as raised:
        publish(sheet, change_note="変更")
    assert raised.value.problems == ["PDFに署名できませんでした。"]
    assert Publication.objects.count() == before


@pytest.mark.real_signing
def test_versions_published_before_signing_stay_as_they_are(official_template, monkeypatch):
    organization = new_organization("kenshin", "健診代行株式会社")
    with monkeypatch.context() as before_signing:
        before_signing.setattr("disclosures.publishing.sign_pdf", lambda pdf: pdf)
        version_1 = publish(organization.sheet, change_note="初版")
    unsigned = bytes(version_1.pdf)
    assert check_signatures(unsigned) == []
    version_2 = publish_change(organization.sheet, hours_system="24時間稼働")
    assert [check.ok for check in check_signatures(bytes(version_2.pdf))] == [True]
    version_1.refresh_from_db()
    assert bytes(version_1.pdf) == unsigned
    assert version_1.pdf_sha256 == hashlib.sha256(unsigned).hexdigest()


# ------------------------------------------------------------- the development certificate


def test_create_signing_certificate_makes_one_on_the_first_run_only_and_says_so(settings, tmp_path):
    settings.PDF_SIGNING_P12 = str(tmp_path / "dev" / "portal.p12")
    settings.PDF_SIGNING_PASSWORD = "dev-password"
    out = io.StringIO()
    call_command("create_signing_certificate", stdout=out)
    assert "自己署名証明書を作成しました" in out.getvalue()
    path = tmp_path / "dev" / "portal.p12"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    fingerprint = signer_certificate_sha256()
    assert fingerprint and len(fingerprint) == 64
    content = path.read_bytes()
    out = io.StringIO()
    call_command("create_signing_certificate", stdout=out)
    assert "作成済み" in out.getvalue()
    assert path.read_bytes() == content


def test_an_image_without_alternative_text_is_refused_in_the_tagged_pdf():
    from disclosures.pdf import PdfRenderError

    from .test_pdf_rendering import document, render

    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
        "nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    )
    with pytest.raises(PdfRenderError, match="alt"):
        render(document(f'<p>画像 <img src="{png}" width="10" height="10"></p>'))


def test_make_run_creates_the_development_certificate_before_loading_the_example():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    example = makefile.split("\nexample:", 1)[1].split("\n\n", 1)[0]
    assert "manage.py create_signing_certificate" in example
    assert example.index("create_signing_certificate") < example.index("load_example")
    assert "$(DEV)" in example.split("create_signing_certificate")[0].splitlines()[-1]  # DEBUG: var/ default


def test_the_certificate_defaults_under_var_only_in_debug_and_production_has_none():
    from .test_example_and_setup import run_django

    code = "from django.conf import settings; print(repr(settings.PDF_SIGNING_P12))"
    development = run_django({"DJANGO_DEBUG": "true"}, "shell", "--no-imports", "-c", code)
    production = run_django(
        {"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "a"}, "shell", "--no-imports", "-c", code
    )
    configured = run_django(
        {"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "a", "DJANGO_PDF_SIGNING_P12": "/etc/p.p12"},
        "shell",
        "--no-imports",
        "-c",
        code,
    )
    assert development.stdout.strip().endswith("/var/pdf-signing/development.p12'")
    assert production.stdout.strip() == "''"
    assert configured.stdout.strip() == "'/etc/p.p12'"


@pytest.mark.real_signing
def test_load_example_without_a_certificate_stops_with_a_clear_message_and_keeps_nothing(
    official_template, settings
):
    from disclosures.models import Organization

    settings.PDF_SIGNING_P12 = ""
    with pytest.raises(
        CommandError, match="記入例を公開できませんでした: PDFに署名する証明書が設定されていない"
    ):
        call_command("load_example", stdout=io.StringIO())
    assert not Organization.objects.filter(slug="qolead").exists()


@pytest.mark.real_signing
def test_an_ecdsa_signature_longer_than_its_trial_one_still_signs(settings, tmp_path):
    """The space for the signature is sized on a trial signature; ECDSA signatures vary by
    a byte or two, so a longer one must get pyHanko's default space instead of failing."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID
    from pypdf import PdfWriter

    from disclosures.signing import sign_pdf

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ECDSA テスト")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ecdsa.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"ecdsa", key, certificate, None, serialization.BestAvailableEncryption(b"pw")
        )
    )
    settings.PDF_SIGNING_P12, settings.PDF_SIGNING_PASSWORD = str(path), "pw"
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    # A P-256 signature is 70-72 bytes in DER: in 24 tries some are longer than their trial.
    for _ in range(24):
        assert [check.ok for check in check_signatures(sign_pdf(buffer.getvalue()))] == [True]
