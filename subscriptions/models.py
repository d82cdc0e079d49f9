"""Confirmed subscriptions only: an address is stored once its owner confirmed it
(double opt-in, subscriptions/tokens.py) and deleted when it unsubscribes."""

from django.db import models
from django.db.models.functions import Lower

from disclosures.models import Organization


class Subscription(models.Model):
    """One address that receives a mail for each new version of one organisation,
    or of every organisation (organization empty)."""

    email = models.EmailField("メールアドレス", max_length=254)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name="代行機関",
        help_text="空欄: すべての代行機関の更新を受け取る。",
    )
    confirmed_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        verbose_name = "更新のお知らせの登録"
        verbose_name_plural = "更新のお知らせの登録"
        ordering = ["organization", "email"]
        constraints = [
            # An address subscribes once to an organisation and once to all of them
            # (NULLs are distinct in a plain unique constraint, hence two).
            models.UniqueConstraint(
                Lower("email"),
                "organization",
                condition=models.Q(organization__isnull=False),
                name="one_subscription_per_address_and_organization",
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(organization__isnull=True),
                name="one_subscription_per_address_to_all",
            ),
        ]

    def __str__(self):
        return f"{self.email} / {self.organization or 'すべての代行機関'}"

    @classmethod
    def matching(cls, email, organization):
        """The subscription of `email` (in any case) to `organization` (None: all)."""
        return cls.objects.filter(email__iexact=email, organization=organization)
