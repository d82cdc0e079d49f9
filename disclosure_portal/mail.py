"""E-mail, always sent in the background.

A request (asking for publication, publishing, subscribing) never talks to the
mail server: `queue_email()` stores one task per recipient in the database, in the
caller's transaction (an action that is rolled back sends nothing), and
`manage.py db_worker` sends it through EMAIL_URL's server. A slow or failing
server therefore never delays or fails the action. A failed attempt is recorded
as a failed task (with its traceback, in the admin for superusers) and tried again
later, RETRY_DELAYS apart; after the last one the failure stays in the record.
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

# Seconds before the 2nd, 3rd, … attempt: a minute, five minutes, half an hour, two hours, six hours.
RETRY_DELAYS = (60, 300, 1800, 7200, 21600)


def absolute_url(path):
    """The portal's address (settings.SITE_URL) followed by a path: mail has no request."""
    return settings.SITE_URL + path


def queue_email(*, to, subject, body, headers=None):
    """Send `body` to each address of `to` (one message each: recipients never see
    one another) once the worker runs. Returns the number of messages queued."""
    addresses = sorted({address.strip() for address in ([to] if isinstance(to, str) else to) if address})
    for address in addresses:
        send_email.enqueue(to=address, subject=subject, body=body, headers=dict(headers or {}), attempt=1)
    return len(addresses)


@task()
def send_email(*, to, subject, body, headers, attempt):
    """One message to one address; a failure schedules the next attempt and fails this one."""
    message = EmailMessage(subject=subject, body=body, to=[to], headers=headers)
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:
        if attempt <= len(RETRY_DELAYS):
            retry_at = timezone.now() + timedelta(seconds=RETRY_DELAYS[attempt - 1])
            send_email.using(run_after=retry_at).enqueue(
                to=to, subject=subject, body=body, headers=headers, attempt=attempt + 1
            )
            logger.warning(
                "Mail to a recipient failed (attempt %d, next at %s): %s", attempt, retry_at, error
            )
        else:
            logger.error("Mail to a recipient failed after %d attempts: %s", attempt, error)
        raise
