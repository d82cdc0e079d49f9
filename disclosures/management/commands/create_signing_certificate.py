"""Create the self-signed certificate that signs the PDFs on a development setup.

Run by `make run` (the Makefile's example target): the first run creates
settings.PDF_SIGNING_P12 (var/pdf-signing/development.p12 with DJANGO_DEBUG) and
says so; later runs leave it as it is. In production the operator names a
certificate issued to the agency or the host instead (README, Configuration).
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from disclosures.signing import create_self_signed_p12


class Command(BaseCommand):
    help = "PDF署名用の自己署名証明書（開発用、PKCS#12）を DJANGO_PDF_SIGNING_P12 の場所に作成します（既にあれば何もしません）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--common-name",
            default="重要事項の開示ポータル（開発用）",
            help="証明書の主体者名（CN）",
        )
        parser.add_argument("--days", type=int, default=3650, help="有効期間（日数）")

    def handle(self, *args, common_name, days, **options):
        path = settings.PDF_SIGNING_P12
        if not path:
            raise CommandError(
                "DJANGO_PDF_SIGNING_P12 が設定されていません。作成する場所（例: var/pdf-signing/portal.p12）"
                "と DJANGO_PDF_SIGNING_PASSWORD を設定してください。"
            )
        if os.path.exists(path):
            self.stdout.write(f"PDF署名用の証明書 {path} は作成済みです。")
            return
        create_self_signed_p12(path, settings.PDF_SIGNING_PASSWORD, common_name=common_name, days=days)
        self.stdout.write(
            self.style.WARNING(
                f"PDF署名用の自己署名証明書を作成しました: {path}\n"
                "これは開発用です。本番では運営者に発行された証明書を DJANGO_PDF_SIGNING_P12 に指定してください。"
            )
        )
