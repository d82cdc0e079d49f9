"""Mail each organisation's members one digest of their reminders, at most once a
day per person: run it from cron every hour (README, "Reminders")."""

from django.core.management.base import BaseCommand

from disclosures.reminders import send_digests


class Command(BaseCommand):
    help = "担当の代行機関にお知らせがある担当者に、お知らせのメールを1日1通まで送ります。"

    def handle(self, *args, **options):
        queued = send_digests()
        self.stdout.write(f"お知らせのメールを{queued}通送信待ちにしました。")
