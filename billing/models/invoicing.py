"""Invoicing: prices (art. 4.2–4.4, 4.11), invoices (art. 4), payments, interest, exchange rates,
deposits (art. 4.7) and set-off (art. 9), fapiao (art. 4.8), disputes (art. 10; CX 10)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.models import Client

from .prepaid import RestitutionRequest, UsageRecord, money_field


# --- Prices (art. 4.2–4.4, 4.11) -----------------------------------------------------------
def unit_price_field(**kwargs):
    return models.DecimalField(max_digits=14, decimal_places=6, **kwargs)


class Price(models.Model):
    """A client's price per message on a channel; fixed prices change only by written agreement (4.3)."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="prices")
    channel = models.CharField(max_length=16, choices=UsageRecord.Channel.choices)
    unit_price = unit_price_field()
    currency = models.CharField(max_length=3)
    fixed = models.BooleanField(
        default=False, help_text="a fixed price expressly agreed (art. 4.3)"
    )
    valid_from = models.DateField()
    agreement_reference = models.CharField(
        max_length=200, blank=True, help_text="the written agreement behind a fixed-price change"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["client", "channel", "-valid_from"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["client", "channel", "-valid_from", "-id"], name="price_list_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "channel", "valid_from"],
                name="one_price_per_client_channel_day",
                violation_error_message="This client already has a price for this channel from that day.",
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class CpiAdjustment(models.Model):
    """The year's CPI change for a profile, applied each January to prices not fixed (art. 4.11)."""

    provider = models.ForeignKey(
        "accounts.Provider", on_delete=models.PROTECT, related_name="cpi_adjustments"
    )
    year = models.PositiveSmallIntegerField()
    rate_pct = models.DecimalField(max_digits=6, decimal_places=3)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["provider", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "year"],
                name="one_cpi_rate_per_provider_year",
                violation_error_message="This provider already has a CPI rate for that year.",
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Invoices (art. 4) ---------------------------------------------------------------------
class InvoiceCounter(models.Model):
    """The gapless invoice number sequence per provider and year, taken under a row lock."""

    provider = models.ForeignKey("accounts.Provider", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "year"], name="one_invoice_counter_per_provider_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class Invoice(models.Model):
    """An invoice or credit note in the provider's currency, prices excluding VAT (art. 4.1)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PARTLY_PAID = "partly_paid", "Partly paid"
        PAID = "paid", "Paid"
        OVERDUE = "overdue", "Overdue"
        DISPUTED = "disputed", "Disputed"
        VOID = "void", "Void"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="invoices")
    provider = models.ForeignKey(
        "accounts.Provider", on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INVOICE)
    credit_note_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    number = models.CharField(max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    period_start = models.DateField(
        null=True, blank=True, help_text="billing period, Europe/Amsterdam (art. 4.2)"
    )
    period_end = models.DateField(null=True, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    subtotal = money_field(default=Decimal("0"), help_text="excluding VAT")
    vat_amount = money_field(default=Decimal("0"))
    total = money_field(default=Decimal("0"))
    amount_paid = money_field(default=Decimal("0"))
    messages_covered = models.PositiveIntegerField(
        default=0, help_text="messages this invoice bills (art. 26.2)"
    )
    messages_released = models.PositiveIntegerField(
        default=0, help_text="of those, already counted as paid"
    )
    reverse_charge = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    source_key = models.CharField(
        max_length=100, null=True, blank=True, unique=True, help_text="e.g. usage:<client>:<period>"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    void_reason = models.TextField(blank=True)
    overdue_since = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-invoice_date", "-pk"]
        indexes = [
            models.Index(fields=["client", "-invoice_date", "-id"], name="invoice_client_list_idx"),
            models.Index(
                fields=["client", "status", "-invoice_date", "-id"],
                name="invoice_client_status_idx",
            ),
            models.Index(fields=["status", "due_date"], name="invoice_status_due_idx"),
            models.Index(fields=["-created_at", "-id"], name="invoice_staff_list_idx"),
            models.Index(
                fields=["client", "-created_at", "-id"], name="invoice_client_created_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.get_kind_display().lower()} #{self.pk}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300)
    channel = models.CharField(max_length=16, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    unit_price = unit_price_field()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="percent")
    amount = money_field(help_text="quantity × unit price, rounded half-up to cents, excluding VAT")
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["invoice", "position", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class Payment(models.Model):
    """Money received against an invoice; bank fees that reduce it leave the shortfall owed (art. 4.10)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = money_field(help_text="net amount received")
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    reference = models.CharField(max_length=200, blank=True)
    bank_fee = money_field(
        default=Decimal("0"), help_text="fees deducted on the way, for the record"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["-received_on", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-received_on", "-id"], name="payment_list_idx"),
            models.Index(
                fields=["invoice", "-received_on", "-id"], name="payment_invoice_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class InterestRate(models.Model):
    """Statutory commercial interest in force for a profile from a date, per year (art. 4.6)."""

    provider = models.ForeignKey(
        "accounts.Provider", on_delete=models.PROTECT, related_name="interest_rates"
    )
    valid_from = models.DateField()
    annual_rate_pct = models.DecimalField(max_digits=6, decimal_places=3)
    note = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["provider", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "valid_from"],
                name="one_interest_rate_per_provider_day",
                violation_error_message="This provider already has an interest rate from that day.",
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class ExchangeRate(models.Model):
    """How many units of `quote_currency` one unit of `base_currency` is worth from `valid_from` on.

    Staff maintain it (with history). A rate is in force from its day until the next row for
    the same pair; `invoicing.convert` also uses a pair the other way round (1 / rate).
    Used where the terms state an amount in another currency than the invoice's: the
    CXENGAGE dispute minimum of EUR 150 (CX 10) on USD invoices.
    """

    base_currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    quote_currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. USD")
    rate = models.DecimalField(
        max_digits=20,
        decimal_places=10,
        help_text="units of the quote currency for one unit of the base currency",
    )
    valid_from = models.DateField()
    source = models.CharField(
        max_length=200, blank=True, help_text="e.g. ECB euro foreign exchange reference rate"
    )
    note = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["base_currency", "quote_currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["base_currency", "quote_currency", "valid_from"],
                name="one_exchange_rate_per_pair_day",
                violation_error_message="This currency pair already has a rate from that day.",
            ),
            models.CheckConstraint(
                condition=Q(rate__gt=0),
                name="exchange_rate_positive",
                violation_error_message="An exchange rate must be positive.",
            ),
            models.CheckConstraint(
                condition=~Q(base_currency=F("quote_currency")),
                name="exchange_rate_two_currencies",
                violation_error_message="An exchange rate is between two different currencies.",
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.base_currency} = {self.rate} {self.quote_currency} from {self.valid_from:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        self.base_currency = (self.base_currency or "").strip().upper()
        self.quote_currency = (self.quote_currency or "").strip().upper()
        super().save(*args, **kwargs)


class InterestCharge(models.Model):
    """Late interest accrued on an overdue invoice for a span of days, charged on a later invoice (art. 4.6)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="interest_charges")
    from_date = models.DateField()
    to_date = models.DateField()
    amount = money_field()
    currency = models.CharField(max_length=3)
    charged_on = models.OneToOneField(
        InvoiceLine, null=True, blank=True, on_delete=models.PROTECT, related_name="interest_charge"
    )

    class Meta:
        ordering = ["invoice", "from_date"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Deposits (art. 4.7) and set-off (art. 9) ----------------------------------------------
class Deposit(models.Model):
    class Status(models.TextChoices):
        DEMANDED = "demanded", "Demanded"
        HELD = "held", "Held"
        SETTLED = "settled", "Set off and refunded"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="deposits")
    amount = money_field(help_text="amount demanded")
    amount_held = money_field(default=Decimal("0"))
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DEMANDED)
    demanded_at = models.DateTimeField(default=timezone.now)
    demanded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    refund_due_by = models.DateField(
        null=True, blank=True, help_text="2 calendar months after termination"
    )
    refund_amount = money_field(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_reference = models.CharField(max_length=200, blank=True)
    flagged_due_at = models.DateTimeField(null=True, blank=True)
    flagged_overdue_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-demanded_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-demanded_at", "-id"], name="deposit_list_idx"),
            models.Index(fields=["client", "-demanded_at", "-id"], name="deposit_client_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class SetOff(models.Model):
    """What the provider owes set off against what the client owes (art. 9.1–9.2)."""

    class Source(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        RESTITUTION = "restitution", "Approved restitution"
        CREDIT_NOTE = "credit_note", "Credit note"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="set_offs")
    source = models.CharField(max_length=16, choices=Source.choices)
    deposit = models.ForeignKey(
        Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="set_offs"
    )
    restitution = models.ForeignKey(
        RestitutionRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="set_offs"
    )
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="set_offs_as_source"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="set_offs")
    amount = money_field()
    currency = models.CharField(max_length=3)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-recorded_at", "-id"], name="setoff_list_idx"),
            models.Index(fields=["client", "-recorded_at", "-id"], name="setoff_client_list_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="set_off_amount_positive",
                violation_error_message="A set-off amount must be positive.",
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Fapiao (art. 4.8) ---------------------------------------------------------------------
class FapiaoRequest(models.Model):
    class Kind(models.TextChoices):
        DIGITAL_SPECIAL = "digital_special", "Fully digital special VAT fapiao"
        DIGITAL_GENERAL = "digital_general", "Fully digital general VAT fapiao"
        PAPER_SPECIAL = "paper_special", "Paper special VAT fapiao"
        PAPER_GENERAL = "paper_general", "Paper general VAT fapiao"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        ISSUED = "issued", "Issued"

    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="fapiao_request")
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    fapiao_code = models.CharField(max_length=12, blank=True)
    fapiao_number = models.CharField(max_length=20, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    buyer_name = models.CharField(max_length=300, blank=True)
    buyer_tax_id = models.CharField(max_length=18, blank=True)
    buyer_address = models.CharField(max_length=300, blank=True)
    buyer_phone = models.CharField(max_length=50, blank=True)
    buyer_bank = models.CharField(max_length=200, blank=True)
    buyer_account = models.CharField(max_length=50, blank=True)
    amount_excl_tax = money_field(null=True, blank=True)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    tax_amount = money_field(null=True, blank=True)
    total = money_field(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at", "pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["due_at", "id"], name="fapiao_queue_idx"),
            models.Index(fields=["-confirmed_at", "-id"], name="fapiao_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Disputes (art. 10; CX 10) -------------------------------------------------------------
class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ESCALATED = "escalated", "Escalated to an external expert"
        GRANTED = "granted", "Granted (credit note)"
        REJECTED = "rejected", "Rejected"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="disputes")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    amount = money_field()
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    withholdable = models.BooleanField(
        default=False, help_text="above the withholding threshold (art. 10.2)"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    escalation_available_at = models.DateTimeField(
        help_text="20 working days after the due date (art. 10.2)"
    )
    escalation_flagged_at = models.DateTimeField(null=True, blank=True)
    expert_name = models.CharField(max_length=200, blank=True)
    expert_cost_agreement = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.TextField(blank=True)
    granted_amount = money_field(null=True, blank=True)
    credit_note = models.OneToOneField(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="granted_dispute"
    )
    admissibility_note = models.TextField(
        blank=True,
        help_text="what staff should know about the admissibility check, e.g. a minimum not checked (CX 10)",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-raised_at", "-id"], name="dispute_list_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["open", "escalated"]),
                name="one_open_dispute_per_invoice",
                violation_error_message="This invoice already has an open dispute.",
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"
