"""Issue 16, point 2: anyone can verify a copy of a PDF at /verify/ (the browser
hashes it; the portal answers from the hash), as JSON at /verify/<sha256>.json,
and offline with `manage.py verify_pdf FILE`."""

import hashlib
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.utils import formats, timezone

from .test_publishing import publish_change

pytestmark = pytest.mark.django_db

NEVER_PUBLISHED = "このポータルが公開したファイルではありません。"


def when(value):
    return formats.date_format(timezone.localtime(value), "Y年n月j日 H:i")


@pytest.fixture
def version_1(example_org):
    return example_org.publications.get(number=1)


def test_json_names_the_agency_the_version_and_that_it_is_current(client, version_1):
    response = client.get(f"/verify/{version_1.pdf_sha256}.json")
    assert response.status_code == 200
    answer = response.json()
    assert answer["found"] is True
    assert answer["organization"] == {"name": "株式会社QOLead", "slug": "qolead"}
    assert answer["version"] == 1
    assert answer["published_at"] == version_1.published_at.isoformat()
    assert answer["is_current"] is True and answer["replaced_by"] is None
    assert answer["url"] == "/qolead/versions/1/" and answer["pdf_url"] == "/qolead/versions/1/pdf/"
    assert answer["lines"] == [
        "このポータルが公開したファイルです。",
        f"株式会社QOLead の 第1版（{when(version_1.published_at)}公開）です。",
        "現在の版です。",
    ]


def test_json_of_a_replaced_version_says_which_version_replaced_it_and_when(client, sheet, version_1):
    version_2 = publish_change(sheet, hours_system="24時間稼働")
    version_3 = publish_change(sheet, hours_system="平日のみ稼働")
    answer = client.get(f"/verify/{version_1.pdf_sha256}.json").json()
    assert answer["is_current"] is False
    assert answer["replaced_by"]["version"] == 2
    assert answer["replaced_by"]["published_at"] == version_2.published_at.isoformat()
    assert answer["current"]["version"] == 3
    assert f"第2版（{when(version_2.published_at)}公開）に置き換えられました。" in answer["lines"][2]
    assert answer["lines"][3] == f"現在の版は 第3版（{when(version_3.published_at)}公開）です。"


def test_json_of_an_unknown_file_says_plainly_this_portal_never_published_it(client, version_1):
    other = hashlib.sha256(bytes(version_1.pdf) + b"\n").hexdigest()
    response = client.get(f"/verify/{other}.json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    answer = response.json()
    assert answer["found"] is False and answer["lines"][0] == NEVER_PUBLISHED
    assert "organization" not in answer


def test_uppercase_hash_is_the_same_hash(client, version_1):
    answer = client.get(f"/verify/{version_1.pdf_sha256.upper()}.json").json()
    assert answer["found"] is True and answer["sha256"] == version_1.pdf_sha256


@pytest.mark.parametrize(
    "bad",
    ["abc", "0" * 63, "0" * 65, "g" * 64, "0" * 64 + "/", "%00" * 22, "../" * 22],
)
def test_a_malformed_hash_is_a_404_never_a_500(client, bad):
    response = client.get(f"/verify/{bad}.json")
    assert response.status_code == 404


def test_only_pdf_hashes_of_published_versions_are_answered(client, version_1):
    # The snapshot's hash is no file the portal serves as such: never revealed as one.
    answer = client.get(f"/verify/{version_1.snapshot_sha256}.json").json()
    assert answer["found"] is False


def test_verify_page_uses_a_static_script_and_no_inline_script(client, version_1):
    page = client.get("/verify/").content.decode()
    assert re.search(r'<script src="/static/js/verify\.js" defer></script>', page)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert 'type="file"' in page and 'id="verify-file"' in page
    assert 'data-json-url="/verify/' + "0" * 64 + '.json"' in page


def test_verify_page_answers_a_pasted_hash_without_javascript(client, sheet, version_1):
    publish_change(sheet, hours_system="24時間稼働")
    page = client.get("/verify/", {"sha256": version_1.pdf_sha256}).content.decode()
    assert "株式会社QOLead の 第1版" in page
    assert "第2版（" in page and "に置き換えられました" in page
    page = client.get("/verify/", {"sha256": "f" * 64}).content.decode()
    assert NEVER_PUBLISHED in page


def test_verify_page_explains_a_malformed_pasted_hash_in_japanese(client, db):
    response = client.get("/verify/", {"sha256": "not-a-hash"})
    assert response.status_code == 400
    assert "64 桁の16進数" in response.content.decode()


def test_verify_page_tells_how_to_hash_a_file_without_javascript(client, db):
    page = client.get("/verify/").content.decode()
    assert "certutil -hashfile" in page and "shasum -a 256" in page and "sha256sum" in page


def test_public_pages_link_the_verify_page_from_their_footer(client, version_1):
    for url in ("/qolead/", "/qolead/versions/", "/qolead/versions/1/"):
        footer = client.get(url).content.decode().split('<footer class="site-footer">', 1)[1]
        assert 'href="/verify/"' in footer, url


def test_an_organisation_cannot_take_the_slug_verify(db):
    from django.core.exceptions import ValidationError

    from disclosures.models import validate_slug_not_reserved

    with pytest.raises(ValidationError):
        validate_slug_not_reserved("verify")


# ------------------------------------------------------------------------ verify_pdf


@pytest.fixture
def signed_version_1(example_org):
    """Under real_signing: version 1 is a real (blank-page) PDF signed by the test key."""
    return example_org.publications.get(number=1)


@pytest.mark.real_signing
def test_verify_pdf_reports_a_valid_signature_and_the_version_of_an_untouched_file(
    signed_version_1, tmp_path
):
    path = tmp_path / "copy.pdf"
    path.write_bytes(bytes(signed_version_1.pdf))
    out = io.StringIO()
    call_command("verify_pdf", str(path), stdout=out)
    text = out.getvalue()
    assert signed_version_1.pdf_sha256 in text
    assert "株式会社QOLead の 第1版" in text and "現在の版です。" in text
    assert "署名は有効です" in text
    assert "このポータルに設定された証明書と同じです" in text


@pytest.mark.real_signing
def test_verify_pdf_reports_a_broken_signature_on_a_file_altered_by_one_byte(signed_version_1, tmp_path):
    data = bytearray(bytes(signed_version_1.pdf))
    position = data.index(b"for version 1")
    data[position] = ord("F")  # one byte of the signed content (the document's subject)
    path = tmp_path / "altered.pdf"
    path.write_bytes(bytes(data))
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("verify_pdf", str(path), stdout=out)
    text = out.getvalue()
    assert NEVER_PUBLISHED in text
    assert "署名が壊れています" in text
    assert "署名が壊れています" in str(raised.value)


@pytest.mark.real_signing
def test_verify_pdf_says_a_file_that_is_no_pdf_cannot_be_checked(db, tmp_path):
    path = tmp_path / "note.pdf"
    path.write_bytes(b"hello")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_pdf", str(path), stdout=out)
    assert NEVER_PUBLISHED in out.getvalue()


def test_verify_pdf_of_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="ファイルを読めません"):
        call_command("verify_pdf", str(tmp_path / "missing.pdf"), stdout=io.StringIO())


def test_answers_are_never_served_from_a_cache(client, version_1):
    # Whether a version is current changes with the next publication.
    for url in (f"/verify/{version_1.pdf_sha256}.json", f"/verify/?sha256={version_1.pdf_sha256}"):
        assert "no-cache" in client.get(url)["Cache-Control"], url
