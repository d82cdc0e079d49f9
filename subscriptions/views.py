"""Subscribe, confirm, unsubscribe: public pages without a cookie.

CSRF: public pages never carry a cookie (NoCookiesOutsideTheAdminMiddleware) and
the agency page that holds the form is one cached body for every visitor, so there
is neither a CSRF cookie nor a per-visitor token to check. These views are
csrf_exempt, which forging a request from another site gains nothing from: a
subscribe POST only sends a confirmation mail to the address typed (what anyone
can do by posting the form), throttled per address and per client; the confirm
POST needs the signed link that went to that mailbox; an unsubscribe removes only
the one subscription its signed link names, as RFC 8058 asks (a POST from the
mail client, which has no cookie either). The pages are never cached (no-store).

The form's answer is the same page whether or not the address is subscribed
already; only the mail differs, and only its owner reads it.
"""

from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from disclosures.current_version import current_publication
from disclosures.models import Organization

from . import throttle
from .forms import ConfirmForm, SubscribeForm
from .mails import forget_address, queue_confirmation, scope_name
from .models import Subscription
from .tokens import CONFIRMATION_MAX_AGE, InvalidLink, read_confirmation_token, read_unsubscribe_token

public_form_view = require_http_methods(["GET", "HEAD", "POST"])


def public_version(*, slug=None, organization_id=None):
    """The organisation's current public version (its title is the name visitors
    know); Http404 if it has none: only published organisations can be subscribed to."""
    if slug is None:
        slug = Organization.objects.filter(pk=organization_id).values_list("slug", flat=True).first()
    publication = current_publication(slug) if slug else None
    if publication is None:
        raise Http404("公開された版が見つかりません。")
    return publication


def invalid_link(request, error):
    return render(request, "subscriptions/invalid_link.html", {"message": error.message}, status=400)


@csrf_exempt
@never_cache
@public_form_view
def subscribe(request, slug=None):
    """/subscribe/ (every organisation) or /<slug>/subscribe/ (one)."""
    publication = public_version(slug=slug) if slug is not None else None
    organization = publication.organization if publication else None
    title = publication.title if publication else None
    form = SubscribeForm(request.POST if request.method == "POST" else None, action=request.path)
    context = {"form": form, "publication": publication, "scope": scope_name(title)}
    if request.method != "POST":
        return render(request, "subscriptions/subscribe.html", context)
    if not form.is_valid():
        return render(request, "subscriptions/subscribe.html", context, status=400)
    email = form.cleaned_data["email"]
    if throttle.throttled(request, email):
        context.update(per_address=throttle.PER_ADDRESS, per_client=throttle.PER_CLIENT)
        response = render(request, "subscriptions/throttled.html", context, status=429)
        response.headers["Retry-After"] = str(throttle.CLIENT_WINDOW)
        return response
    existing = Subscription.matching(email, organization).first()
    queue_confirmation(email, organization, title, existing)
    context["hours"] = int(CONFIRMATION_MAX_AGE.total_seconds() // 3600)
    return render(request, "subscriptions/sent.html", context)


@csrf_exempt
@never_cache
@public_form_view
def confirm(request, token):
    """The mail's link: a page with the button that subscribes (a POST)."""
    try:
        email, organization_id = read_confirmation_token(token)
    except InvalidLink as error:
        return invalid_link(request, error)
    publication = public_version(organization_id=organization_id) if organization_id is not None else None
    organization = publication.organization if publication else None
    context = {"publication": publication, "scope": scope_name(publication.title if publication else None)}
    if request.method != "POST":
        context["form"] = ConfirmForm(action=request.path)
        return render(request, "subscriptions/confirm.html", context)
    if not Subscription.matching(email, organization).exists():  # a second click changes nothing
        try:
            with transaction.atomic():
                Subscription.objects.create(email=email, organization=organization)
        except IntegrityError:  # the same link followed twice at once: subscribed all the same
            pass
    return render(request, "subscriptions/confirmed.html", context)


@csrf_exempt
@never_cache
@public_form_view
def unsubscribe(request, token):
    """The mail's link (GET) or its List-Unsubscribe one-click POST (RFC 8058):
    the subscription, and its address with it, is deleted at once."""
    try:
        subscription_id = read_unsubscribe_token(token)
    except InvalidLink as error:
        return invalid_link(request, error)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") != "One-Click":
        error = InvalidLink("配信停止のリクエストの内容が正しくありません（List-Unsubscribe=One-Click）。")
        return invalid_link(request, error)
    subscription = Subscription.objects.filter(pk=subscription_id).select_related("organization").first()
    scope = None
    if subscription is not None:
        title = None  # every organisation
        if subscription.organization is not None:
            publication = current_publication(subscription.organization.slug)
            title = publication.title if publication else subscription.organization.name
        scope = scope_name(title)
        if request.method != "HEAD":  # a HEAD only looks
            with transaction.atomic():
                subscription.delete()
                forget_address(subscription.email)
    return render(request, "subscriptions/unsubscribed.html", {"scope": scope})
