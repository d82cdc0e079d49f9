"""Check a PDF offline: was it published here (its SHA-256 against the database),
and is its signature intact (pyHanko, against the certificate embedded in it)?

    python manage.py verify_pdf copy.pdf

Exit status 0 only when the file is a version published here and every signature
in it is intact and covers the whole file; 1 otherwise (the reasons are printed).
"""

import hashlib

from django.core.management.base import BaseCommand, CommandError

from disclosures.signing import UnreadablePdf, check_signatures, signer_certificate_sha256
from disclosures.verification import verdict


class Command(BaseCommand):
    help = "PDFがこのポータルの公開したものか（SHA-256）と、電子署名が壊れていないかを確認します。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="確認するPDFファイル")

    def handle(self, *args, file, **options):
        try:
            with open(file, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise CommandError(f"ファイルを読めません: {file} ({error.strerror or error})") from error
        digest = hashlib.sha256(data).hexdigest()
        self.stdout.write(f"ファイル: {file}")
        self.stdout.write(f"SHA-256: {digest}")

        answer = verdict(digest)
        problems = []
        self.stdout.write("")
        self.stdout.write("【公開記録との照合】")
        for line in answer["lines"]:
            self.stdout.write(f"  {line}")
        if not answer["found"]:
            problems.append("このポータルが公開したファイルではありません")

        self.stdout.write("")
        self.stdout.write("【電子署名】")
        portal_fingerprint = signer_certificate_sha256()
        try:
            checks = check_signatures(data)
        except UnreadablePdf:
            checks = None
            self.stdout.write("  PDFとして読み取れないため、署名を確認できません（壊れたファイルです）。")
            problems.append("PDFとして読み取れません")
        if checks == []:
            self.stdout.write(
                "  署名がありません（署名機能の導入前に公開された版か、署名が取り除かれたファイルです）。"
            )
            if answer["found"]:
                self.stdout.write("  公開記録と一致するため、このポータルが公開したファイルそのものです。")
            else:
                problems.append("署名がありません")
        for check in checks or []:
            self.stdout.write(f"  署名者: {check.signer_subject}")
            self.stdout.write(f"  証明書の SHA-256 指紋: {check.certificate_sha256}")
            if check.signed_at:
                self.stdout.write(f"  署名日時: {check.signed_at.isoformat()}")
            if check.ok:
                self.stdout.write(
                    self.style.SUCCESS("  署名は有効です: 署名後に変更されていません（ファイル全体を対象）。")
                )
            elif check.intact and check.valid:
                self.stdout.write(
                    self.style.WARNING("  署名は有効ですが、署名の後にファイルへ追記があります。")
                )
                problems.append("署名の後に追記があります")
            else:
                self.stdout.write(
                    self.style.ERROR("  署名が壊れています: 署名後にファイルが変更されています。")
                )
                problems.append("署名が壊れています")
            if portal_fingerprint and check.certificate_sha256 == portal_fingerprint:
                self.stdout.write("  署名者の証明書は、このポータルに設定された証明書と同じです。")
            elif portal_fingerprint:
                self.stdout.write(
                    "  署名者の証明書は、このポータルに現在設定されている証明書とは異なります。"
                )

        self.stdout.write("")
        if problems:
            raise CommandError("確認できませんでした: " + "、".join(problems) + "。")
        self.stdout.write(
            self.style.SUCCESS("確認しました: このポータルが公開したファイルで、改ざんされていません。")
        )
