from django import template
from django.urls import reverse

from ..forms import SubscribeForm

register = template.Library()


@register.inclusion_tag("subscriptions/_agency_form.html")
def subscribe_form(organization):
    """The form on an agency's pages (one cached body for all: no per-visitor content)."""
    action = reverse("subscriptions:subscribe", kwargs={"slug": organization.slug})
    return {"form": SubscribeForm(action=action), "organization": organization}
