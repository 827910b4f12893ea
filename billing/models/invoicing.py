"""Invoicing: prices (art. 4.2–4.4, 4.11), invoices (art. 4), payments, interest, exchange rates,
deposits (art. 4.7) and set-off (art. 9), fapiao (art. 4.8), disputes (art. 10; CX 10)."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Client

from .prepaid import RestitutionRequest, UsageRecord, money_field


# --- Prices (art. 4.2–4.4, 4.11) -----------------------------------------------------------
def unit_price_field(**kwargs):
    return models.DecimalField(max_digits=14, decimal_places=6, **kwargs)


class PriceCause(models.TextChoices):
    """Why a price changed: the article that allows the change."""

    SET = "set", _("Price set or agreed (art. 4.2, 4.3)")
    CPI = "cpi", _("Yearly CPI adjustment (art. 4.11)")
    CHANGE_OF_LAW = "change_of_law", _("Change of Applicable Law (art. 4.4)")
    OPERATOR_RATE = "operator_rate", _("Rate change by an Operator (art. 4.4)")
    PURCHASE_PRICE = "purchase_price", _("Higher purchase price of messages (art. 4.4)")


class Price(models.Model):
    """A client's price per message on a channel; fixed prices change only by written agreement (4.3)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="prices"
    )
    channel = models.CharField(
        verbose_name=_("channel"), max_length=16, choices=UsageRecord.Channel.choices
    )
    unit_price = unit_price_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    fixed = models.BooleanField(
        verbose_name=_("fixed"),
        default=False,
        help_text=_("a fixed price expressly agreed (art. 4.3)"),
    )
    valid_from = models.DateField(verbose_name=_("valid from"))
    agreement_reference = models.CharField(
        verbose_name=_("agreement reference"),
        max_length=200,
        blank=True,
        help_text=_("the written agreement behind a fixed-price change"),
    )
    cause = models.CharField(
        verbose_name=_("cause"),
        max_length=20,
        choices=PriceCause.choices,
        default=PriceCause.SET,
        help_text=_("why the price changed (art. 4.2-4.4, 4.11)"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["client", "channel", "-valid_from"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["client", "channel", "-valid_from", "-id"], name="price_list_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "channel", "valid_from"],
                name="one_price_per_client_channel_day",
                violation_error_message=_(
                    "This client already has a price for this channel from that day."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class CpiAdjustment(models.Model):
    """The year's CPI change for a profile, applied each January to prices not fixed (art. 4.11)."""

    provider = models.ForeignKey(
        "accounts.Provider",
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="cpi_adjustments",
    )
    year = models.PositiveSmallIntegerField(verbose_name=_("year"))
    rate_pct = models.DecimalField(verbose_name=_("rate (%)"), max_digits=6, decimal_places=3)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    entered_at = models.DateTimeField(verbose_name=_("entered at"), default=timezone.now)
    applied_at = models.DateTimeField(verbose_name=_("applied at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("CPI adjustment")
        verbose_name_plural = _("CPI adjustments")
        ordering = ["provider", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "year"],
                name="one_cpi_rate_per_provider_year",
                violation_error_message=_("This provider already has a CPI rate for that year."),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class PriceChange(models.Model):
    """One change of a client's price on a channel, with its cause, listed for the client
    (art. 4.2-4.4, 4.11). Written by the service that changes the price, in its transaction;
    `notice_key` names the outbox notice the client was sent (art. 4.4: in advance)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="price_changes"
    )
    channel = models.CharField(
        verbose_name=_("channel"), max_length=16, choices=UsageRecord.Channel.choices
    )
    price = models.ForeignKey(
        Price, verbose_name=_("price"), on_delete=models.PROTECT, related_name="changes"
    )
    old_unit_price = unit_price_field(null=True, blank=True)
    new_unit_price = unit_price_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    fixed = models.BooleanField(
        verbose_name=_("fixed"), default=False, help_text=_("the price is a fixed one (art. 4.3)")
    )
    effective_from = models.DateField(verbose_name=_("effective from"))
    cause = models.CharField(verbose_name=_("cause"), max_length=20, choices=PriceCause.choices)
    explanation = models.TextField(
        verbose_name=_("explanation"),
        blank=True,
        help_text=_("what changed: the law, the operator, …"),
    )
    reference = models.CharField(verbose_name=_("reference"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    notice_key = models.CharField(verbose_name=_("notice key"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("price change")
        verbose_name_plural = _("price changes")
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["client", "-recorded_at", "-id"], name="price_change_client_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Invoices (art. 4) ---------------------------------------------------------------------
class InvoiceCounter(models.Model):
    """The gapless invoice number sequence per provider and year, taken under a row lock."""

    provider = models.ForeignKey(
        "accounts.Provider", verbose_name=_("provider"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(verbose_name=_("year"))
    last_number = models.PositiveIntegerField(verbose_name=_("last number"), default=0)

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "year"], name="one_invoice_counter_per_provider_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class Invoice(models.Model):
    """An invoice or credit note in the agreed currency (the agreement's, else the profile's),
    prices excluding VAT (art. 4.1; CX 3)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        PARTLY_PAID = "partly_paid", _("Partly paid")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")
        DISPUTED = "disputed", _("Disputed")
        VOID = "void", _("Void")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="invoices"
    )
    provider = models.ForeignKey(
        "accounts.Provider",
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    kind = models.CharField(
        verbose_name=_("kind"), max_length=16, choices=Kind.choices, default=Kind.INVOICE
    )
    credit_note_for = models.ForeignKey(
        "self",
        verbose_name=_("credit note for"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    number = models.CharField(
        verbose_name=_("number"), max_length=32, null=True, blank=True, unique=True
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    period_start = models.DateField(
        verbose_name=_("period start"),
        null=True,
        blank=True,
        help_text=_("billing period, Europe/Amsterdam (art. 4.2)"),
    )
    period_end = models.DateField(verbose_name=_("period end"), null=True, blank=True)
    invoice_date = models.DateField(verbose_name=_("invoice date"), null=True, blank=True)
    due_date = models.DateField(verbose_name=_("due date"), null=True, blank=True)
    due_date_brought_forward_from = models.DateField(
        null=True,
        blank=True,
        help_text=_(
            "the due date before a termination under art. 15.4 or 15.5 made the invoice "
            "immediately payable (art. 15.6)"
        ),
    )
    # art. 4.8, 4.5: the invoice's own payment term where it states one; null: the agreement's,
    # else the profile's (the due date is computed from it at issue).
    payment_term_days = models.PositiveSmallIntegerField(
        _("payment term (days)"),
        null=True,
        blank=True,
        help_text=_("the invoice's own term; empty: the agreement's (art. 4.5, 4.8)"),
    )
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    subtotal = money_field(default=Decimal("0"), help_text=_("excluding VAT"))
    vat_amount = money_field(default=Decimal("0"))
    total = money_field(default=Decimal("0"))
    amount_paid = money_field(default=Decimal("0"))
    messages_covered = models.PositiveIntegerField(
        verbose_name=_("messages covered"),
        default=0,
        help_text=_("messages this invoice bills (art. 26.2)"),
    )
    messages_released = models.PositiveIntegerField(
        verbose_name=_("messages released"),
        default=0,
        help_text=_("of those, already counted as paid"),
    )
    reverse_charge = models.BooleanField(verbose_name=_("reverse charge"), default=False)
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    source_key = models.CharField(
        verbose_name=_("source key"),
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text=_("e.g. usage:<client>:<period>"),
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(verbose_name=_("issued at"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    voided_at = models.DateTimeField(verbose_name=_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    void_reason = models.TextField(verbose_name=_("void reason"), blank=True)
    overdue_since = models.DateField(verbose_name=_("overdue since"), null=True, blank=True)
    # NULL, not "", until issued: drafts and credit notes have none, and the unique constraint
    # below must not see them as equal.
    payment_reference = models.CharField(  # noqa: DJ001
        verbose_name=_("payment reference"),
        max_length=35,
        null=True,
        blank=True,
        help_text=_(
            "what the client quotes when paying, given at issue: the ISO 11649 creditor "
            "reference (RF…) for euro invoices, the invoice number otherwise"
        ),
    )
    pay_to = models.ForeignKey(
        "billing.BankAccount",
        verbose_name=_("pay to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("the provider's account the invoice names, chosen at issue (art. 4.10)"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-invoice_date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment_reference"],
                name="invoice_payment_reference_unique",
                violation_error_message=_("Another invoice already has this payment reference."),
            )
        ]
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
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveSmallIntegerField(verbose_name=_("position"), default=0)
    description = models.CharField(verbose_name=_("description"), max_length=300)
    channel = models.CharField(verbose_name=_("channel"), max_length=16, blank=True)
    quantity = models.DecimalField(verbose_name=_("quantity"), max_digits=14, decimal_places=3)
    unit_price = unit_price_field()
    vat_rate = models.DecimalField(
        verbose_name=_("VAT rate"), max_digits=5, decimal_places=2, help_text=_("percent")
    )
    amount = money_field(
        help_text=_("quantity × unit price, rounded half-up to cents, excluding VAT")
    )
    messages = models.PositiveIntegerField(verbose_name=_("messages"), default=0)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice", "position", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class Payment(models.Model):
    """Money received against an invoice; bank fees that reduce it leave the shortfall owed (art. 4.10)."""

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = money_field(help_text=_("net amount received"))
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    received_on = models.DateField(verbose_name=_("received on"))
    reference = models.CharField(verbose_name=_("reference"), max_length=200, blank=True)
    bank_fee = money_field(
        default=Decimal("0"), help_text=_("fees deducted on the way, for the record")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)
    idempotency_key = models.CharField(
        verbose_name=_("idempotency key"), max_length=200, unique=True
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
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
        "accounts.Provider",
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="interest_rates",
    )
    valid_from = models.DateField(verbose_name=_("valid from"))
    annual_rate_pct = models.DecimalField(
        verbose_name=_("annual rate (%)"), max_digits=6, decimal_places=3
    )
    note = models.CharField(verbose_name=_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("interest rate")
        verbose_name_plural = _("interest rates")
        ordering = ["provider", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "valid_from"],
                name="one_interest_rate_per_provider_day",
                violation_error_message=_(
                    "This provider already has an interest rate from that day."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class InterestTerms(models.Model):
    """How a profile reckons late interest (art. 4.6): whose rate, how long a rate is fixed for,
    and whether the year's interest is added to the amount on which interest runs.

    cxengage-nl (Dutch law, art. 6:119a BW): the statutory commercial rate, the ECB main
    refinancing rate plus 8 points, fixed for each half-year from 1 January and 1 July; "after
    each year the amount on which the statutory interest is calculated is increased by the
    interest due for that year" (art. 6:119a(3)). cm-cn: PRC law has no single statutory
    commercial rate, so the provider sets its own, in force until the next. A profile without
    a row reckons as cm-cn does.
    """

    class Basis(models.TextChoices):
        STATUTORY = "statutory", _("Statutory commercial rate")
        PROVIDER = "provider", _("The provider's own rate")

    provider = models.OneToOneField(
        "accounts.Provider",
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="interest_terms",
    )
    basis = models.CharField(
        verbose_name=_("basis"), max_length=16, choices=Basis.choices, default=Basis.PROVIDER
    )
    rate_period_months = models.PositiveSmallIntegerField(
        verbose_name=_("rate period months"),
        null=True,
        blank=True,
        help_text=_(
            "each rate is fixed for this many months from 1 January (6: half-years); "
            "empty: a rate is in force until the next one"
        ),
    )
    compounds_yearly = models.BooleanField(
        verbose_name=_("compounds yearly"),
        default=False,
        help_text=_(
            "after each full year the year's interest is added to the amount on which "
            "interest runs (art. 6:119a(3) BW)"
        ),
    )
    rate_rule = models.CharField(
        verbose_name=_("rate rule"),
        max_length=200,
        blank=True,
        help_text=_("e.g. ECB main refinancing rate + 8 points"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("interest terms")
        verbose_name_plural = _("interest terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_period_months__isnull=True)
                | Q(rate_period_months__in=[1, 2, 3, 4, 6, 12]),
                name="interest_rate_period_divides_year",
                violation_error_message=_(
                    "A rate period divides the year: 1, 2, 3, 4, 6 or 12 months."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class InterestNotComputed(models.Model):
    """The overdue job's record that no late interest could be computed on an overdue invoice
    because no rate is in force (art. 4.6): visible to staff instead of a silent zero. Open
    until a run finds every day covered by a rate again (`resolved_at`)."""

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="interest_gaps"
    )
    provider = models.ForeignKey(
        "accounts.Provider", verbose_name=_("provider"), on_delete=models.PROTECT, related_name="+"
    )
    first_day = models.DateField(
        verbose_name=_("first day"),
        help_text=_("the first day of interest without a rate in force"),
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)
    last_checked_on = models.DateField(verbose_name=_("last checked on"))
    resolved_at = models.DateTimeField(verbose_name=_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice without interest")
        verbose_name_plural = _("invoices without interest")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_interest_gap_per_invoice",
                violation_error_message=_("This invoice already has an open no-rate record."),
            )
        ]
        indexes = [
            models.Index(
                fields=["provider"],
                condition=Q(resolved_at__isnull=True),
                name="interest_gap_open_idx",
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

    base_currency = models.CharField(
        verbose_name=_("base currency"), max_length=3, help_text=_("ISO 4217, e.g. EUR")
    )
    quote_currency = models.CharField(
        verbose_name=_("quote currency"), max_length=3, help_text=_("ISO 4217, e.g. USD")
    )
    rate = models.DecimalField(
        verbose_name=_("rate"),
        max_digits=20,
        decimal_places=10,
        help_text=_("units of the quote currency for one unit of the base currency"),
    )
    valid_from = models.DateField(verbose_name=_("valid from"))
    source = models.CharField(
        verbose_name=_("source"),
        max_length=200,
        blank=True,
        help_text=_("e.g. ECB euro foreign exchange reference rate"),
    )
    note = models.CharField(verbose_name=_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["base_currency", "quote_currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["base_currency", "quote_currency", "valid_from"],
                name="one_exchange_rate_per_pair_day",
                violation_error_message=_("This currency pair already has a rate from that day."),
            ),
            models.CheckConstraint(
                condition=Q(rate__gt=0),
                name="exchange_rate_positive",
                violation_error_message=_("An exchange rate must be positive."),
            ),
            models.CheckConstraint(
                condition=~Q(base_currency=F("quote_currency")),
                name="exchange_rate_two_currencies",
                violation_error_message=_("An exchange rate is between two different currencies."),
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.base_currency} = {self.rate} {self.quote_currency} from {self.valid_from:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.base_currency = (self.base_currency or "").strip().upper()
        self.quote_currency = (self.quote_currency or "").strip().upper()
        super().save(*args, **kwargs)


class InterestCharge(models.Model):
    """Late interest accrued on an overdue invoice for a span of days, charged on a later invoice (art. 4.6)."""

    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="interest_charges",
    )
    from_date = models.DateField(verbose_name=_("from date"))
    to_date = models.DateField(verbose_name=_("to date"))
    amount = money_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    charged_on = models.OneToOneField(
        InvoiceLine,
        verbose_name=_("charged on"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interest_charge",
    )

    class Meta:
        verbose_name = _("interest charge")
        verbose_name_plural = _("interest charges")
        ordering = ["invoice", "from_date"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Deposits (art. 4.7) and set-off (art. 9) ----------------------------------------------
class Deposit(models.Model):
    class Status(models.TextChoices):
        DEMANDED = "demanded", _("Demanded")
        HELD = "held", _("Held")
        SETTLED = "settled", _("Set off and refunded")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="deposits"
    )
    amount = money_field(help_text=_("amount demanded"))
    amount_held = money_field(default=Decimal("0"))
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.DEMANDED
    )
    demanded_at = models.DateTimeField(verbose_name=_("demanded at"), default=timezone.now)
    demanded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("demanded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(verbose_name=_("reason"), blank=True)
    refund_due_by = models.DateField(
        verbose_name=_("refund due by"),
        null=True,
        blank=True,
        help_text=_("2 calendar months after termination"),
    )
    refund_amount = money_field(null=True, blank=True)
    refunded_at = models.DateTimeField(verbose_name=_("refunded at"), null=True, blank=True)
    refund_reference = models.CharField(
        verbose_name=_("refund reference"), max_length=200, blank=True
    )
    flagged_due_at = models.DateTimeField(verbose_name=_("flagged due at"), null=True, blank=True)
    flagged_overdue_at = models.DateTimeField(
        verbose_name=_("flagged overdue at"), null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
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
        DEPOSIT = "deposit", _("Deposit")
        RESTITUTION = "restitution", _("Approved restitution")
        CREDIT_NOTE = "credit_note", _("Credit note")
        # CX Part V, Revenue and Payments: "Right of Offset: CXENGAGE can deduct owed amounts
        # from revenue payments" (recorded from the statement, billing.premium)
        PREMIUM_REVENUE = "premium_revenue", _("Premium-service revenue")
        CLIENT_CREDIT = "client_credit", _("Client credit")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="set_offs"
    )
    source = models.CharField(verbose_name=_("source"), max_length=16, choices=Source.choices)
    deposit = models.ForeignKey(
        Deposit,
        verbose_name=_("deposit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="set_offs",
    )
    restitution = models.ForeignKey(
        RestitutionRequest,
        verbose_name=_("restitution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="set_offs",
    )
    credit_note = models.ForeignKey(
        Invoice,
        verbose_name=_("credit note"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="set_offs_as_source",
    )
    premium_statement = models.ForeignKey(
        "billing.PremiumStatement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="set_offs",
    )
    client_credit = models.ForeignKey(
        "billing.ClientCredit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="set_offs",
    )
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="set_offs"
    )
    amount = money_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)
    idempotency_key = models.CharField(
        verbose_name=_("idempotency key"), max_length=200, unique=True
    )

    class Meta:
        verbose_name = _("set-off")
        verbose_name_plural = _("set-offs")
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
                violation_error_message=_("A set-off amount must be positive."),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# What staff set off by hand (billing.invoicing): premium revenue is offset from its statement.
MANUAL_SET_OFF_SOURCES = [
    choice for choice in SetOff.Source.choices if choice[0] != SetOff.Source.PREMIUM_REVENUE
]


# --- Fapiao (art. 4.8) ---------------------------------------------------------------------
class FapiaoRequest(models.Model):
    class Kind(models.TextChoices):
        DIGITAL_SPECIAL = "digital_special", _("Fully digital special VAT fapiao")
        DIGITAL_GENERAL = "digital_general", _("Fully digital general VAT fapiao")
        PAPER_SPECIAL = "paper_special", _("Paper special VAT fapiao")
        PAPER_GENERAL = "paper_general", _("Paper general VAT fapiao")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ISSUED = "issued", _("Issued")

    invoice = models.OneToOneField(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="fapiao_request"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(verbose_name=_("confirmed at"), default=timezone.now)
    due_at = models.DateTimeField(verbose_name=_("due at"))
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=20, choices=Kind.choices, blank=True)
    fapiao_code = models.CharField(verbose_name=_("fapiao code"), max_length=12, blank=True)
    fapiao_number = models.CharField(verbose_name=_("fapiao number"), max_length=20, blank=True)
    issue_date = models.DateField(verbose_name=_("issue date"), null=True, blank=True)
    buyer_name = models.CharField(verbose_name=_("buyer name"), max_length=300, blank=True)
    buyer_tax_id = models.CharField(verbose_name=_("buyer tax ID"), max_length=18, blank=True)
    buyer_address = models.CharField(verbose_name=_("buyer address"), max_length=300, blank=True)
    buyer_phone = models.CharField(verbose_name=_("buyer phone"), max_length=50, blank=True)
    buyer_bank = models.CharField(verbose_name=_("buyer bank"), max_length=200, blank=True)
    buyer_account = models.CharField(verbose_name=_("buyer account"), max_length=50, blank=True)
    amount_excl_tax = money_field(null=True, blank=True)
    tax_rate = models.DecimalField(
        verbose_name=_("tax rate"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    tax_amount = money_field(null=True, blank=True)
    total = money_field(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_at = models.DateTimeField(verbose_name=_("issued at"), null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(
        verbose_name=_("overdue flagged at"), null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("fapiao request")
        verbose_name_plural = _("fapiao requests")
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
        # CX 10: the minimum could not be checked yet (no exchange rate); decided when one comes
        PENDING_CHECK = "pending_check", _("Pending check (exchange rate awaited)")
        OPEN = "open", _("Open")
        ESCALATED = "escalated", _("Escalated to an external expert")
        GRANTED = "granted", _("Granted (credit note)")
        REJECTED = "rejected", _("Rejected")

    invoice = models.ForeignKey(
        Invoice, verbose_name=_("invoice"), on_delete=models.PROTECT, related_name="disputes"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_at = models.DateTimeField(verbose_name=_("raised at"), default=timezone.now)
    amount = money_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    reason = models.TextField(verbose_name=_("reason"))
    withholdable = models.BooleanField(
        verbose_name=_("withholdable"),
        default=False,
        help_text=_("above the withholding threshold (art. 10.2)"),
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    escalation_available_at = models.DateTimeField(
        verbose_name=_("escalation available at"),
        help_text=_("20 working days after the due date (art. 10.2)"),
    )
    escalation_flagged_at = models.DateTimeField(
        verbose_name=_("escalation flagged at"), null=True, blank=True
    )
    expert_name = models.CharField(verbose_name=_("expert name"), max_length=200, blank=True)
    expert_cost_agreement = models.TextField(verbose_name=_("expert cost agreement"), blank=True)
    escalated_at = models.DateTimeField(verbose_name=_("escalated at"), null=True, blank=True)
    resolved_at = models.DateTimeField(verbose_name=_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution = models.TextField(verbose_name=_("resolution"), blank=True)
    granted_amount = money_field(null=True, blank=True)
    credit_note = models.OneToOneField(
        Invoice,
        verbose_name=_("credit note"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="granted_dispute",
    )
    admissibility_checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("when a dispute pending check was admitted or refused (CX 10)"),
    )
    admissibility_note = models.TextField(
        verbose_name=_("admissibility note"),
        blank=True,
        help_text=_(
            "what staff should know about the admissibility check, e.g. a minimum not checked (CX 10)"
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-raised_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-raised_at", "-id"], name="dispute_list_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["pending_check", "open", "escalated"]),
                name="one_open_dispute_per_invoice",
                violation_error_message=_("This invoice already has an open dispute."),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"
