"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd), and the worker run.

The `smtp_server` fixture (tests/conftest.py) starts it, points EMAIL_BACKEND at it
and yields an Inbox; `run_queued_tasks()` runs `manage.py db_worker --batch`, as the
worker beside the server does, so that queued mail is actually sent over SMTP.
"""

import email
import email.policy
import socket
import threading
from unittest import mock

from django.core.management import call_command


class Inbox:
    """aiosmtpd handler keeping every message received, parsed, with its envelope."""

    def __init__(self):
        self.messages = []
        self.refuse = False
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Requested action aborted: local error in processing"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message.envelope_recipients = list(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address):
        return [m for m in self.messages if address in m.envelope_recipients]

    def recipients(self):
        return sorted(r for m in self.messages for r in m.envelope_recipients)

    @staticmethod
    def body(message):
        return message.get_body(preferencelist=("plain",)).get_content()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_queued_tasks():
    """Every task due now, as `manage.py db_worker` runs them; returns nothing.

    The worker's close_old_connections() would close the test's connection, which
    is inside the test's transaction (autocommit off): on PostgreSQL the test would
    lose its connection (SQLite's in-memory test database is never closed). A test
    keeps its connection; the worker's own runs still check theirs."""
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0, reload=False)
