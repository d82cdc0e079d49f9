"""Included before disclosures.urls: "subscribe" is no organisation's URL name
(disclosures.models.validate_slug_not_reserved)."""

from django.urls import path, register_converter

from disclosures.urls import OrganizationSlugConverter

from . import views
from .tokens import TOKEN_PATTERN


class SignedTokenConverter:
    regex = TOKEN_PATTERN

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(SignedTokenConverter, "signed")
register_converter(OrganizationSlugConverter, "organization")

app_name = "subscriptions"
urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe_all"),
    path("subscribe/confirm/<signed:token>/", views.confirm, name="confirm"),
    path("subscribe/stop/<signed:token>/", views.unsubscribe, name="unsubscribe"),
    path("<organization:slug>/subscribe/", views.subscribe, name="subscribe"),
]
