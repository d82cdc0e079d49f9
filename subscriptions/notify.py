"""A mail to each subscriber when a version becomes public.

publish() calls notify_subscribers() inside its transaction: one background task
is enqueued with the version (a rolled-back publish enqueues nothing), and a failure
to enqueue is logged, never a failed publish. The task runs in the worker at
`run_after` (a scheduled version's go-live; None: at once) and first checks that
the version is public then, through the public querysets: a version whose
publication was cancelled, or is not live, mails nothing. It then queues one mail
per address (disclosure_portal.mail), subscribers of the organisation and of all
organisations alike; an address subscribed to both gets one mail.
"""

import logging

from django.db import transaction
from django.db.models import Q
from django_tasks import task

from disclosures.models import Publication

from .mails import queue_new_version
from .models import Subscription

logger = logging.getLogger(__name__)


def notify_subscribers(publication, run_after=None):
    """Have the subscribers of `publication`'s organisation (and of all) mailed at
    `run_after` (None: as soon as the worker runs), if it is public by then."""
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves publish()'s transaction intact
            notice = (
                send_new_version_notices.using(run_after=run_after) if run_after else send_new_version_notices
            )
            notice.enqueue(publication_id=publication.pk)
    except Exception:  # the version is published all the same: mail is secondary
        logger.exception(
            "Could not enqueue the subscribers' mail for %s version %s",
            publication.organization.slug,
            publication.number,
        )


def public_publication(publication_id):
    """The version if visitors can see it now (as the public pages decide), else None."""
    publication = Publication.objects.filter(pk=publication_id).select_related("organization").first()
    if publication is None:
        return None
    public = Publication.objects.for_slug(publication.organization.slug).defer("snapshot", "pdf")
    return public.filter(pk=publication_id).first()


@task()
def send_new_version_notices(*, publication_id):
    """Queue one mail per subscribed address; returns how many were queued."""
    publication = public_publication(publication_id)
    if publication is None:
        logger.info("Version %s is not public: no mail to its subscribers", publication_id)
        return 0
    subscriptions = Subscription.objects.filter(
        Q(organization=publication.organization_id) | Q(organization__isnull=True)
    ).order_by("email")
    by_address = {}
    for subscription in subscriptions:
        by_address.setdefault(subscription.email.lower(), []).append(subscription)
    with transaction.atomic():  # all mails queued, or none (the task is then recorded as failed)
        for group in by_address.values():
            group.sort(key=lambda subscription: subscription.organization_id is None)  # its own first
            queue_new_version(publication, group[0].email, group)
    return len(by_address)
