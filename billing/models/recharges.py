"""Sums the client owes besides its usage: credit used from a charged-back top-up and the
chargeback fee (art. 29.4), the costs of assistance and audits (art. 21.5.2, 21.6, 21.7.2) and
activation costs on resumption (art. 7.3). Each is recorded once per source and billed on the
client's next invoice (postpaid) or on an invoice of its own, due at once (prepaid)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Client

from .invoicing import Invoice, InvoiceLine
from .prepaid import money_field


class Recharge(models.Model):
    """One sum owed by the client for a source elsewhere in the portal (a chargeback, a DSR, an
    assistance request, an audit, a suspension), named by `source_kind` and `source_id`."""

    class Kind(models.TextChoices):
        CHARGEBACK_DEBT = "chargeback_debt", _("Credit used from a charged-back top-up")
        CHARGEBACK_FEE = "chargeback_fee", _("Chargeback fee")
        DSR_ASSISTANCE = "dsr_assistance", _("Assistance with a data-subject request")
        COMPLIANCE_ASSISTANCE = (
            "compliance_assistance",
            _("Assistance with an impact assessment or prior consultation"),
        )
        AUDIT_TIME = "audit_time", _("Time spent on an audit")
        ACTIVATION = "activation", _("Activation costs on resumption")

    class Status(models.TextChoices):
        PENDING = "pending", _("To be invoiced")
        INVOICED = "invoiced", _("Invoiced")

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="recharges")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    amount = money_field(help_text=_("excluding VAT"))
    currency = models.CharField(max_length=3)
    vat_applies = models.BooleanField(
        default=True, help_text=_("a supply (VAT at the client's rate) or a sum owed (0 %)")
    )
    source_kind = models.CharField(max_length=40, help_text=_("e.g. dataprocessing.audit"))
    source_id = models.CharField(max_length=64)
    description = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="recharges"
    )
    invoice_line = models.OneToOneField(
        InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="recharge"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source_kind", "source_id"],
                name="one_recharge_per_kind_and_source",
                violation_error_message="This source has already been recharged.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="recharge_amount_positive",
                violation_error_message="A recharged amount must be positive.",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "-recorded_at", "-id"], name="recharge_client_list_idx"),
            models.Index(fields=["-recorded_at", "-id"], name="recharge_list_idx"),
            models.Index(
                fields=["client", "id"],
                condition=Q(status="pending"),
                name="recharge_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Recharge #{self.pk}: {self.kind} {self.currency} {self.amount}"
