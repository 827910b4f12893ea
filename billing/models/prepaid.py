"""Prepaid: wallets, credit lots and the ledger (art. 29), usage, message limits (art. 26)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.kernel.money import DECIMAL_PLACES, MAX_DIGITS
from accounts.models import Client


def money_field(**kwargs):
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


# --- Prepaid: wallet, lots, ledger (art. 29) -----------------------------------------------
class Wallet(models.Model):
    """One wallet per client in its provider's currency (art. 29.1).

    `balance` is the running sum of the ledger, written in the same transaction as each entry
    under this row's lock; tests and `wallet_check` prove it equals the ledger's sum.
    """

    client = models.OneToOneField(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="wallet"
    )
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    balance = money_field(default=Decimal("0"))
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    # art. 29.7: when the account was last charged and when its credit ran out
    last_charged_at = models.DateTimeField(verbose_name=_("last charged at"), null=True, blank=True)
    credit_exhausted_at = models.DateTimeField(
        verbose_name=_("credit exhausted at"), null=True, blank=True
    )
    inactivity_warned_at = models.DateTimeField(
        verbose_name=_("inactivity warned at"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Wallet of {self.client} ({self.currency})"


class CreditLot(models.Model):
    """One top-up: usable from the next local day, expires 12 months after purchase (art. 29.3)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXHAUSTED = "exhausted", _("Used up")
        EXPIRED = "expired", _("Expired")
        REVERSED = "reversed", _("Reversed (chargeback)")

    wallet = models.ForeignKey(
        Wallet, verbose_name=_("wallet"), on_delete=models.PROTECT, related_name="lots"
    )
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    amount = money_field()
    remaining = money_field()
    reference = models.CharField(
        verbose_name=_("reference"), max_length=200, blank=True, help_text=_("payment reference")
    )
    received_at = models.DateTimeField(verbose_name=_("received at"))
    purchase_date = models.DateField(
        verbose_name=_("purchase date"),
        help_text=_("local date of receipt in the provider's time zone"),
    )
    usable_from = models.DateTimeField(verbose_name=_("usable from"))
    expires_on = models.DateField(
        verbose_name=_("expires on"),
        help_text=_("first local day on which the credit is no longer usable"),
    )
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    expiry_reminded_at = models.DateTimeField(
        verbose_name=_("expiry reminded at"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("credit lot")
        verbose_name_plural = _("credit lots")
        ordering = ["expires_at", "received_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0),
                name="lot_remaining_not_negative",
                violation_error_message=_("A credit lot's remaining amount never goes below zero."),
            ),
            models.CheckConstraint(
                condition=Q(remaining__lte=F("amount")),
                name="lot_remaining_at_most_amount",
                violation_error_message=_("A credit lot never holds more than was topped up."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="lot_amount_positive",
                violation_error_message=_("A top-up amount must be positive."),
            ),
        ]
        indexes = [
            # the expiry job: active lots past their expiry, walked by keyset (expires_at, id)
            models.Index(
                fields=["expires_at", "id"],
                condition=Q(status="active"),
                name="lot_active_expiry_id_idx",
            ),
            models.Index(fields=["wallet", "status", "expires_at"], name="lot_wallet_fifo_idx"),
            models.Index(
                fields=["wallet", "expires_at", "received_at", "id"], name="lot_wallet_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Lot #{self.pk}: {self.currency} {self.remaining} of {self.amount}, expires {self.expires_on}"


class LedgerEntry(models.Model):
    """An append-only movement of a wallet; the balance is the sum of these (art. 29).

    Ordered by id, the entries of a wallet read like a bank statement: each id is drawn under
    the wallet's lock, in the order the running `balance_after` is computed."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        DEBIT = "debit", _("Debit (usage)")
        EXPIRY = "expiry", _("Expiry")
        CHARGEBACK = "chargeback", _("Chargeback")
        RESTITUTION = "restitution", _("Restitution")
        ADJUSTMENT = "adjustment", _("Adjustment")

    wallet = models.ForeignKey(
        Wallet, verbose_name=_("wallet"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=Kind.choices)
    amount = money_field(help_text=_("positive adds credit, negative takes it away"))
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    balance_after = money_field()
    idempotency_key = models.CharField(verbose_name=_("idempotency key"), max_length=200)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cause = models.CharField(
        verbose_name=_("cause"),
        max_length=200,
        help_text=_("who or what caused it: a person, a usage record, a job"),
    )
    lot = models.ForeignKey(
        CreditLot,
        verbose_name=_("lot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    memo = models.TextField(verbose_name=_("memo"), blank=True)

    class Meta:
        # The statement order: ids are drawn under the wallet lock, in balance order.
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "idempotency_key"],
                name="ledger_idempotency_key_unique_per_wallet",
                violation_error_message=_(
                    "A ledger entry with this idempotency key already exists."
                ),
            )
        ]
        indexes = [
            models.Index(fields=["wallet", "created_at"], name="ledger_wallet_time_idx"),
            models.Index(fields=["wallet", "id"], name="ledger_wallet_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.currency} {self.amount} ({self.idempotency_key})"


class LedgerAllocation(models.Model):
    """How much of which lot one entry consumed (debits, restitution)."""

    entry = models.ForeignKey(
        LedgerEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="allocations"
    )
    lot = models.ForeignKey(
        CreditLot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="allocations"
    )
    amount = money_field(help_text=_("positive: taken from the lot"))

    class Meta:
        verbose_name = _("ledger allocation")
        verbose_name_plural = _("ledger allocations")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class Chargeback(models.Model):
    """A charged-back top-up: the client is in default and its account closed (art. 29.4)."""

    lot = models.OneToOneField(
        CreditLot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="chargeback"
    )
    used_amount = money_field(
        default=Decimal("0"),
        help_text=_("credit of the top-up already used (or restituted): owed by the client"),
    )
    reference = models.CharField(verbose_name=_("reference"), max_length=200)
    reason = models.TextField(verbose_name=_("reason"), blank=True)
    reversed_amount = money_field()
    entry = models.OneToOneField(
        LedgerEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("chargeback")
        verbose_name_plural = _("chargebacks")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class RestitutionRequest(models.Model):
    """A terminating prepaid client's written request to restitute its unexpired credit (art. 29.6)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="restitution_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"), default=timezone.now)
    reason = models.TextField(verbose_name=_("reason"), blank=True)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    amount = money_field(null=True, blank=True, help_text=_("restituted amount, set on approval"))
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    entry = models.OneToOneField(
        LedgerEntry,
        verbose_name=_("entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True)
    decision_note = models.TextField(verbose_name=_("decision note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("restitution request")
        verbose_name_plural = _("restitution requests")
        ordering = ["-requested_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-requested_at", "-id"], name="restitution_list_idx"),
            models.Index(
                fields=["client", "-requested_at", "-id"], name="restitution_client_list_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="pending"),
                name="one_pending_restitution_per_client",
                violation_error_message=_(
                    "A restitution request is already pending for this client."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Usage and message limits (art. 26) ----------------------------------------------------
class UsageRecord(models.Model):
    """One accepted usage record from the messaging platform; its id is the idempotency key."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp Business")
        VOICE = "voice", _("Voice")
        RCS = "rcs", _("RCS")
        MMS = "mms", _("MMS")
        PUSH = "push", _("Push")
        OTHER = "other", _("Other")

    record_id = models.CharField(verbose_name=_("record ID"), max_length=100, unique=True)
    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="usage_records"
    )
    channel = models.CharField(verbose_name=_("channel"), max_length=16, choices=Channel.choices)
    message_count = models.PositiveIntegerField(verbose_name=_("message count"))
    amount = money_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    prepaid = models.BooleanField(verbose_name=_("prepaid"))
    occurred_at = models.DateTimeField(verbose_name=_("occurred at"))
    received_at = models.DateTimeField(verbose_name=_("received at"), default=timezone.now)
    recipient = models.CharField(
        verbose_name=_("recipient"),
        max_length=64,
        blank=True,
        help_text=_("personal data; anonymised after retention"),
    )
    ledger_entry = models.OneToOneField(
        LedgerEntry,
        verbose_name=_("ledger entry"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="usage_record",
    )

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["client", "occurred_at"], name="usage_client_time_idx"),
            models.Index(fields=["-occurred_at", "-id"], name="usage_list_idx"),
        ]

    def __str__(self) -> str:
        return f"Usage {self.record_id}"


class MessageAccount(models.Model):
    """A client's message limit and its unpaid message count (art. 26.1).

    `notice_armed` is true while the count is below the notice threshold (or the limit has
    changed since the last notice): the next crossing sends one notice and disarms it.
    """

    client = models.OneToOneField(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="message_account"
    )
    limit = models.PositiveIntegerField(verbose_name=_("limit"))
    unpaid_count = models.PositiveIntegerField(verbose_name=_("unpaid count"), default=0)
    notice_armed = models.BooleanField(verbose_name=_("notice armed"), default=True)
    notices_sent = models.PositiveIntegerField(verbose_name=_("notices sent"), default=0)
    limit_changed_at = models.DateTimeField(
        verbose_name=_("limit changed at"), default=timezone.now
    )

    history = HistoricalRecords(excluded_fields=["unpaid_count", "notice_armed", "notices_sent"])

    class Meta:
        verbose_name = _("message account")
        verbose_name_plural = _("message accounts")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.client}: {self.unpaid_count} of {self.limit} messages unpaid"


class MessagePayment(models.Model):
    """Staff record that messages are paid, lowering the unpaid count (art. 26.2)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="message_payments"
    )
    messages = models.PositiveIntegerField(verbose_name=_("messages"))
    reference = models.CharField(verbose_name=_("reference"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)
    idempotency_key = models.CharField(
        verbose_name=_("idempotency key"), max_length=200, unique=True
    )

    class Meta:
        verbose_name = _("message payment")
        verbose_name_plural = _("message payments")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class LimitChange(models.Model):
    """Every change of a message limit, in writing: who, when, why (art. 26.2)."""

    class Source(models.TextChoices):
        REQUEST = "request", _("Approved client request")
        STAFF = "staff", _("Staff initiative")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="limit_changes"
    )
    old_limit = models.PositiveIntegerField(verbose_name=_("old limit"))
    new_limit = models.PositiveIntegerField(verbose_name=_("new limit"))
    source = models.CharField(verbose_name=_("source"), max_length=16, choices=Source.choices)
    reason = models.TextField(verbose_name=_("reason"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    changed_at = models.DateTimeField(verbose_name=_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("limit change")
        verbose_name_plural = _("limit changes")
        ordering = ["-changed_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(
                fields=["client", "-changed_at", "-id"], name="limitchange_client_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class LimitIncreaseRequest(models.Model):
    """A client admin asks for a higher limit; it needs CM's written approval (art. 26.2)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="limit_increase_requests",
    )
    current_limit = models.PositiveIntegerField(verbose_name=_("current limit"))
    requested_limit = models.PositiveIntegerField(verbose_name=_("requested limit"))
    reason = models.TextField(verbose_name=_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"), default=timezone.now)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True)
    decision_note = models.TextField(verbose_name=_("decision note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("limit increase request")
        verbose_name_plural = _("limit increase requests")
        ordering = ["-requested_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-requested_at", "-id"], name="limitreq_list_idx"),
            models.Index(
                fields=["client", "-requested_at", "-id"], name="limitreq_client_list_idx"
            ),
            models.Index(fields=["status", "requested_at", "id"], name="limitreq_queue_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="pending"),
                name="one_pending_limit_request_per_client",
                violation_error_message=_(
                    "A limit increase request is already pending for this client."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"
