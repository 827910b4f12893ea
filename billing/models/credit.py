"""Client credit (art. 9.1-9.2; issue 12 §6): money the provider holds for a client beyond what
its invoices ask, an overpayment or a payment that names no invoice. Never absorbed: the client
and staff see it, it is set off against open invoices or refunded by staff."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Client

from .prepaid import money_field


class ClientCredit(models.Model):
    """A client's credit in one currency; `balance` is the running sum of its entries, written
    with each entry under this row's lock (as a wallet's)."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="credits")
    currency = models.CharField(max_length=3)
    balance = money_field(default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["client", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "currency"],
                name="one_client_credit_per_currency",
                violation_error_message="This client already has a credit in this currency.",
            ),
            models.CheckConstraint(
                condition=Q(balance__gte=0),
                name="client_credit_not_negative",
                violation_error_message="A client's credit never goes below zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.currency} {self.balance}"


class ClientCreditEntry(models.Model):
    """An append-only movement of a client's credit, with its idempotency key (art. 9.1)."""

    class Kind(models.TextChoices):
        OVERPAYMENT = "overpayment", _("Overpayment of an invoice")
        UNAPPLIED = "unapplied", _("Payment without an invoice")
        SET_OFF = "set_off", _("Set off against an invoice")
        REFUND = "refund", _("Refunded to the client")

    credit = models.ForeignKey(ClientCredit, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = money_field(help_text=_("positive adds credit, negative takes it away"))
    currency = models.CharField(max_length=3)
    balance_after = money_field()
    idempotency_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cause = models.CharField(max_length=300)
    received_on = models.DateField(null=True, blank=True)
    invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_entries",
        help_text=_("the invoice overpaid, or the one a set-off went against"),
    )
    set_off = models.OneToOneField(
        "billing.SetOff",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_entry",
    )
    reference = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit", "idempotency_key"],
                name="client_credit_key_unique",
                violation_error_message="A credit entry with this idempotency key already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="client_credit_entry_not_zero",
                violation_error_message="A credit entry moves money.",
            ),
        ]
        indexes = [models.Index(fields=["credit", "-id"], name="credit_entry_list_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.currency} {self.amount} ({self.idempotency_key})"
