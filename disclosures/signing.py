"""The portal's signature on its PDFs (PAdES baseline B-B, with pyHanko).

publish() signs every new version's PDF right after rendering it, so the stored
``pdf_sha256`` is the SHA-256 of the signed file. The signature is added as an
incremental update: the rendered PDF (PDF/A-3b, embedded fonts, structure tree)
is kept byte for byte in front of it, and the signature covers the whole file.

The certificate and its key come from a PKCS#12 file (settings.PDF_SIGNING_P12,
DJANGO_PDF_SIGNING_P12, with DJANGO_PDF_SIGNING_PASSWORD). In development
``manage.py create_signing_certificate`` (run by ``make run``) makes a self-signed
one; in production the operator names a certificate issued to the agency or host.

pyHanko is imported inside the functions: management commands and Django start-up
need not pay for it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path

SIGNATURE_FIELD = "PortalSignature"
SIGNATURE_REASON = "代行機関 重要事項の開示ポータルが公開した版であることの証明"


class PdfSigningError(Exception):
    """The PDF could not be signed; ``message`` says why, in Japanese."""

    def __init__(self, message: str, detail: str = ""):
        self.message = message
        self.detail = detail
        super().__init__(f"{message}\n--\n{detail}" if detail else message)


def _outside_event_loop(function, *args, **kwargs):
    """Call one of pyHanko's synchronous functions, which run asyncio.run() inside:
    in a thread of its own when this thread already runs an event loop (an ASGI
    server, Playwright's sync API in the browser tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(function, *args, **kwargs).result()


def configured_p12() -> tuple[str, str]:
    from django.conf import settings

    return settings.PDF_SIGNING_P12 or "", settings.PDF_SIGNING_PASSWORD or ""


@functools.lru_cache(maxsize=4)
def _load_signer(path: str, modified_ns: int, password: str):
    # Keyed on the file's modification time: a replaced certificate is read again.
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12(path, passphrase=password.encode() if password else None)
    if signer is None:  # pyHanko logs the reason and returns None
        raise PdfSigningError(
            "署名用証明書（PKCS#12）を読み込めませんでした。ファイルとパスワード"
            "（DJANGO_PDF_SIGNING_P12、DJANGO_PDF_SIGNING_PASSWORD）を確認してください。",
            f"pyHanko could not load {path}",
        )
    return signer


def load_signer():
    """The portal's signer, from the configured PKCS#12 file."""
    path, password = configured_p12()
    if not path:
        raise PdfSigningError(
            "PDFに署名する証明書が設定されていないため、公開できません。"
            "環境変数 DJANGO_PDF_SIGNING_P12（PKCS#12 ファイル）と DJANGO_PDF_SIGNING_PASSWORD を設定してください。"
        )
    try:
        modified_ns = os.stat(path).st_mtime_ns
    except OSError as error:
        raise PdfSigningError(
            f"署名用証明書のファイル {path} を読めないため、公開できません。"
            "開発環境では `python manage.py create_signing_certificate` で作成できます。",
            repr(error),
        ) from error
    return _load_signer(path, modified_ns, password)


def _keep_producer_consistent(writer) -> None:
    """PDF/A wants the document information dictionary to say what the XMP metadata
    says. pyHanko writes its own name as the XMP producer but appends it to the
    info dictionary's (``WeasyPrint …; pyHanko …``): name the same producer in both.
    (It updates the modification date in both consistently.)"""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    reference = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if isinstance(reference, generic.IndirectObject):
        info = reference.get_object()
        info["/Producer"] = generic.TextStringObject(VENDOR)
        writer.mark_update(reference)


def sign_pdf(pdf: bytes) -> bytes:
    """``pdf`` with the portal's PAdES B-B signature appended (incremental update).

    Raises :class:`PdfSigningError`; never returns an unsigned file.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import SigningError

    signer = load_signer()

    def sign(tight: bool) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        _keep_producer_consistent(writer)
        metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=SIGNATURE_REASON,
            tight_size_estimates=tight,
        )
        return _outside_event_loop(signers.sign_pdf, writer, metadata, signer=signer).getvalue()

    try:
        try:
            # The space for the signature as large as a trial signature (no time-stamp server
            # answers here): pyHanko's default adds half as much again, zeros (1.9 KB).
            signed = sign(tight=True)
        except SigningError:
            # A signature longer than the trial one (ECDSA's vary by a few bytes).
            signed = sign(tight=False)
    except PdfSigningError:
        raise
    except Exception as error:  # pyHanko raises many kinds (PdfReadError, SigningError, ...)
        raise PdfSigningError("PDFに署名できませんでした。", repr(error)) from error
    return signed


def signer_certificate_sha256() -> str | None:
    """SHA-256 fingerprint (hex) of the configured certificate, None if none can be read."""
    try:
        signer = load_signer()
    except PdfSigningError:
        return None
    return signer.signing_cert.sha256.hex()


# ----------------------------------------------------------------- verification


@dataclass
class SignatureCheck:
    """One signature of a PDF, as checked offline against its own certificate."""

    field_name: str
    intact: bool  # the signed bytes are unchanged
    valid: bool  # and the signature over them verifies with the embedded certificate
    covers_whole_file: bool
    signer_subject: str
    certificate_sha256: str
    signed_at: datetime.datetime | None

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.covers_whole_file


class UnreadablePdf(Exception):
    pass


def check_signatures(pdf: bytes) -> list[SignatureCheck]:
    """Every signature of ``pdf``, each checked for integrity.

    The embedded signer certificate is taken as its own trust anchor: this says
    whether the file is unchanged since it was signed by that key, and reports the
    certificate's fingerprint so that it can be compared with the portal's. Raises
    :class:`UnreadablePdf` when the file cannot be parsed as a PDF at all.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception as error:
        raise UnreadablePdf(repr(error)) from error
    checks = []
    for embedded in signatures:
        try:
            certificate = embedded.signer_cert
            subject, fingerprint = certificate.subject.human_friendly, certificate.sha256.hex()
        except Exception:
            certificate, subject, fingerprint = None, "(不明)", ""
        try:
            context = ValidationContext(trust_roots=[certificate] if certificate else [])
            status = _outside_event_loop(validate_pdf_signature, embedded, context)
            intact, valid = bool(status.intact), bool(status.valid)
            whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
            signed_at = status.signer_reported_dt
        except Exception:  # a CMS blob or byte range that does not even parse: broken
            intact = valid = whole = False
            signed_at = None
        checks.append(
            SignatureCheck(
                field_name=embedded.field_name,
                intact=intact,
                valid=valid,
                covers_whole_file=whole,
                signer_subject=subject,
                certificate_sha256=fingerprint,
                signed_at=signed_at,
            )
        )
    return checks


# ------------------------------------------------------- development certificate


def create_self_signed_p12(path: Path | str, password: str, *, common_name: str, days: int = 3650) -> Path:
    """Write a new self-signed certificate and key as PKCS#12 to ``path`` (mode 0600).

    For development and tests only: a verifier trusts it only by its fingerprint.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    data = pkcs12.serialize_key_and_certificates(common_name.encode(), key, certificate, None, encryption)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
    return path
