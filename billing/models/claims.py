"""Loss claims both ways and their payouts (art. 13; CX 13): the register, the 13.6 reporting
window, the exclusions of 13.3 and the exceptions of 13.5 recorded per claim."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Client

from .prepaid import money_field


class LossClaim(models.Model):
    """A loss reported in writing by one party to the other (art. 13.6): no right to
    compensation unless reported within 10 working days after it arose; the other party then
    has 10 working days to remedy it."""

    class Against(models.TextChoices):
        PROVIDER = "provider", _("Client against the provider")
        CLIENT = "client", _("Provider against the client (art. 13.2)")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REMEDIED = "remedied", _("Remedied")
        CLOSED = "closed", _("Closed")

    # art. 13.3 (i)-(xi) and the beta releases of 13.6 (first paragraph; CX 13.6)
    class Exclusion(models.TextChoices):
        PROFITS = "profits", _("(i) loss of profits, revenues or sales")
        BARGAIN = "bargain", _("(ii) loss of bargain")
        OPPORTUNITY = "opportunity", _("(iii) loss of opportunity")
        USE = "use", _("(iv) loss of use of any service or any computer equipment")
        STAFF_TIME = "staff_time", _("(v) loss of time on the part of management or other staff")
        FEES = "fees", _("(vi) professional fees or expenses")
        INTERRUPTION = "interruption", _("(vii) business interruption")
        RATES = (
            "rates",
            _(
                "(viii) loss of income because the Client did not set up correct rates for the Traffic"
            ),
        )
        DATA = "data", _("(ix) damage to or loss of data")
        GOODWILL = "goodwill", _("(x) loss of goodwill or reputation")
        INDIRECT = (
            "indirect",
            _("(xi) any other indirect, special, incidental or consequential damages"),
        )
        BETA = "beta", _("a beta release the Client explicitly accepted (13.6)")

    # art. 13.5: the limitations of 13.3 and 13.4 cease to apply
    class LimitException(models.TextChoices):
        INTENT = "intent", _("wilful intent of the liable party")
        GROSS_NEGLIGENCE = "gross_negligence", _("gross negligence of the liable party")
        BODILY_HARM = "bodily_harm", _("damage to life, body and health")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="loss_claims"
    )
    against = models.CharField(verbose_name=_("against"), max_length=16, choices=Against.choices)
    description = models.TextField(verbose_name=_("description"))
    arose_at = models.DateTimeField(verbose_name=_("arose at"), help_text=_("when the loss arose"))
    reported_at = models.DateTimeField(
        verbose_name=_("reported at"), default=timezone.now, help_text=_("the written report")
    )
    report_deadline = models.DateTimeField(
        verbose_name=_("report deadline"), help_text=_("10 working days after it arose (13.6)")
    )
    late = models.BooleanField(
        verbose_name=_("late"),
        default=False,
        help_text=_("reported after the deadline: no right to compensation (13.6)"),
    )
    remedy_deadline = models.DateTimeField(
        verbose_name=_("remedy deadline"), help_text=_("10 working days after the report (13.6)")
    )
    amount_claimed = money_field(null=True, blank=True)
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    exclusions = models.JSONField(verbose_name=_("exclusions"), default=list, blank=True)
    exceptions = models.JSONField(verbose_name=_("exceptions"), default=list, blank=True)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    remedied_at = models.DateTimeField(verbose_name=_("remedied at"), null=True, blank=True)
    remedy_note = models.TextField(verbose_name=_("remedy note"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("loss claim")
        verbose_name_plural = _("loss claims")
        ordering = ["-reported_at", "-pk"]
        indexes = [
            models.Index(fields=["client", "-reported_at", "-id"], name="claim_client_keyset"),
            models.Index(fields=["-reported_at", "-id"], name="claim_keyset"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_claimed__isnull=True) | Q(amount_claimed__gte=0),
                name="claim_amount_not_negative",
                violation_error_message=_("A claimed amount cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"Loss claim #{self.pk}"

    def exclusion_labels(self) -> list[str]:
        return [str(self.Exclusion(c).label) for c in self.exclusions]

    def exception_labels(self) -> list[str]:
        return [str(self.LimitException(c).label) for c in self.exceptions]


class ClaimPayout(models.Model):
    """Compensation paid on a claim: an amount with its currency, recorded once per idempotency
    key (append-only; the claim's history and these rows are the record)."""

    claim = models.ForeignKey(
        LossClaim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="payouts"
    )
    amount = money_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    paid_on = models.DateField(verbose_name=_("paid on"))
    idempotency_key = models.CharField(
        verbose_name=_("idempotency key"), max_length=200, unique=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("claim payout")
        verbose_name_plural = _("claim payouts")
        ordering = ["paid_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="claim_payout_positive",
                violation_error_message=_("A payout must be more than zero."),
            )
        ]

    def __str__(self) -> str:
        return f"Payout #{self.pk}"
