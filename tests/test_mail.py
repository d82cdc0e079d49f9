"""Mail goes out through a background task and a real SMTP server, never from the request."""

import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from disclosure_portal.mail import RETRY_DELAYS, absolute_url, queue_email

from .smtp import free_port, run_queued_tasks

pytestmark = pytest.mark.django_db


def test_queued_mail_is_sent_by_the_worker_over_smtp_one_message_per_recipient(smtp_server):
    queued = queue_email(
        to=["a@example.jp", "b@example.jp", "a@example.jp", ""],
        subject="公開を依頼しました",
        body=f"第2版の公開依頼があります。\n{absolute_url('/qolead/')}\n",
    )

    assert queued == 2
    assert smtp_server.messages == [], "nothing is sent before the worker runs"
    run_queued_tasks()

    assert smtp_server.recipients() == ["a@example.jp", "b@example.jp"]
    for message in smtp_server.messages:
        assert message["Subject"] == "公開を依頼しました"
        assert message["To"] in ("a@example.jp", "b@example.jp"), "no one sees the other recipients"
        assert "https://disclosure.example.jp/qolead/" in smtp_server.body(message)
        assert "第2版の公開依頼があります。" in smtp_server.body(message)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_extra_headers_are_sent(smtp_server):
    queue_email(to="a@example.jp", subject="件名", body="本文", headers={"List-Unsubscribe": "<https://x/>"})
    run_queued_tasks()
    assert smtp_server.messages[0]["List-Unsubscribe"] == "<https://x/>"


def test_an_action_rolled_back_sends_nothing(smtp_server):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(to="a@example.jp", subject="件名", body="本文")
        raise RuntimeError("the action failed")
    run_queued_tasks()
    assert smtp_server.messages == []
    assert not DBTaskResult.objects.exists()


def test_a_failing_server_fails_the_task_not_the_action_and_it_is_retried(smtp_server, settings):
    settings.EMAIL_PORT = free_port()  # nobody listens there: connection refused
    queue_email(to="a@example.jp", subject="件名", body="本文")  # the action itself succeeds
    run_queued_tasks()

    failed = DBTaskResult.objects.get(status="FAILED")
    assert "ConnectionRefusedError" in failed.traceback
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.args_kwargs["kwargs"]["attempt"] == 2
    assert retry.run_after > timezone.now() + timedelta(seconds=RETRY_DELAYS[0] - 5)

    run_queued_tasks()  # not due yet: nothing happens
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    settings.EMAIL_PORT = smtp_server.port
    later = timezone.now() + timedelta(seconds=RETRY_DELAYS[0] + 1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        run_queued_tasks()
    assert smtp_server.recipients() == ["a@example.jp"]
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 1


def test_a_server_refusing_the_message_is_retried_too(smtp_server):
    smtp_server.refuse = True
    queue_email(to="a@example.jp", subject="件名", body="本文")
    run_queued_tasks()
    assert DBTaskResult.objects.filter(status="FAILED").count() == 1
    assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_after_the_last_attempt_no_more_retries(smtp_server, settings):
    from disclosure_portal.mail import send_email

    settings.EMAIL_PORT = free_port()
    send_email.enqueue(
        to="a@example.jp", subject="件名", body="本文", headers={}, attempt=len(RETRY_DELAYS) + 1
    )
    run_queued_tasks()
    assert DBTaskResult.objects.filter(status="FAILED").count() == 1
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_superusers_see_the_task_record_in_the_admin_and_editors_do_not(staff_client, client, editor):
    queue_email(to="a@example.jp", subject="件名", body="本文")
    url = "/admin/django_tasks_database/dbtaskresult/"
    page = staff_client.get(url)
    assert page.status_code == 200
    assert "処理の記録" in page.content.decode()
    assert "send_email" in page.content.decode()

    client.force_login(editor)
    assert client.get(url).status_code == 403
    assert "処理の記録" not in client.get("/admin/").content.decode()


@pytest.mark.parametrize(
    "email_url, expected",
    [
        ("smtp+tls://user:secret@mail.example.jp:587", "smtp.EmailBackend mail.example.jp 587 True user"),
        ("consolemail://", "console.EmailBackend"),
    ],
)
def test_email_url_configures_the_server(email_url, expected):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "b = s.EMAIL_BACKEND.rsplit('.', 2); name = '.'.join(b[-2:]); "
        "print(name, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_USER) "
        "if name.startswith('smtp') else print(name)"
    )
    env = {
        "EMAIL_URL": email_url,
        "DJANGO_SETTINGS_MODULE": "disclosure_portal.settings",
        "DJANGO_DEBUG": "true",
    }
    import os

    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected
