"""Bank statements imported by billing staff, and their credit entries matched to invoices
(issue 14 §2; art. 4.10)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .banking import BankAccount
from .credit import ClientCreditEntry
from .invoicing import Invoice, Payment
from .prepaid import CreditLot, money_field


class StatementImport(models.Model):
    """One uploaded statement file; the import itself runs in a Celery task, counting as it goes."""

    class Format(models.TextChoices):
        CAMT_053 = "camt.053", "ISO 20022 camt.053"
        CAMT_054 = "camt.054", "ISO 20022 camt.054"
        MT940 = "mt940", _("SWIFT MT940")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    provider = models.ForeignKey(
        "accounts.Provider",
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="statement_imports",
    )
    bank_account = models.ForeignKey(
        BankAccount,
        verbose_name=_("bank account"),
        on_delete=models.PROTECT,
        related_name="statement_imports",
    )
    format = models.CharField(verbose_name=_("format"), max_length=10, choices=Format.choices)
    filename = models.CharField(verbose_name=_("filename"), max_length=255)
    sha256 = models.CharField(verbose_name=_("SHA-256"), max_length=64)
    statement_id = models.CharField(verbose_name=_("statement ID"), max_length=100)
    content = models.BinaryField(
        verbose_name=_("content"), help_text=_("the file as uploaded; the task reads it from here")
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    entries_total = models.PositiveIntegerField(verbose_name=_("entries total"), default=0)
    entries_done = models.PositiveIntegerField(verbose_name=_("entries done"), default=0)
    matched = models.PositiveIntegerField(verbose_name=_("matched"), default=0)
    partly_matched = models.PositiveIntegerField(verbose_name=_("partly matched"), default=0)
    unmatched = models.PositiveIntegerField(verbose_name=_("unmatched"), default=0)
    duplicates = models.PositiveIntegerField(verbose_name=_("duplicates"), default=0)
    debits = models.PositiveIntegerField(
        verbose_name=_("debits"), default=0, help_text=_("outgoing entries, not matched")
    )
    error = models.TextField(verbose_name=_("error"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(verbose_name=_("uploaded at"), default=timezone.now)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement import")
        verbose_name_plural = _("statement imports")
        ordering = ["-uploaded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "sha256"],
                name="one_import_per_statement_file",
                violation_error_message=_("This statement file was already imported."),
            )
        ]
        indexes = [models.Index(fields=["provider", "-id"], name="statement_import_list_idx")]

    def __str__(self) -> str:
        return f"{self.get_format_display()} {self.statement_id}"


class StatementEntry(models.Model):
    """A credit entry of a statement; its bank reference is its idempotency key per provider,
    so a statement imported twice books nothing twice."""

    class Status(models.TextChoices):
        MATCHED = "matched", "Matched"
        PARTLY_MATCHED = "partly_matched", "Partly matched"
        UNMATCHED = "unmatched", "Unmatched"
        ASSIGNED = "assigned", "Assigned by staff"
        REFUNDED = "refunded", "Refunded"
        TOP_UP = "top_up", "Prepaid top-up"
        CREDITED = "credited", "Client credit"

    class MatchedBy(models.TextChoices):
        REFERENCE = "reference", "Structured reference"
        INVOICE_NUMBER = "invoice_number", "Invoice number in the remittance text"
        AMOUNT_PAYER = "amount_payer", "Amount and payer"
        CLIENT_REFERENCE = "client_reference", "The client's payment reference"
        STAFF = "staff", "Billing staff"

    statement = models.ForeignKey(
        StatementImport,
        verbose_name=_("statement"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    provider = models.ForeignKey(
        "accounts.Provider", verbose_name=_("provider"), on_delete=models.PROTECT, related_name="+"
    )
    bank_reference = models.CharField(verbose_name=_("bank reference"), max_length=100)
    booking_date = models.DateField(verbose_name=_("booking date"))
    amount = money_field()
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    payer_name = models.CharField(verbose_name=_("payer name"), max_length=200, blank=True)
    payer_iban = models.CharField(verbose_name=_("payer IBAN"), max_length=34, blank=True)
    structured_reference = models.CharField(
        verbose_name=_("structured reference"), max_length=35, blank=True
    )
    remittance_text = models.CharField(
        verbose_name=_("remittance text"), max_length=500, blank=True
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.UNMATCHED
    )
    matched_by = models.CharField(
        verbose_name=_("matched by"), max_length=16, choices=MatchedBy.choices, blank=True
    )
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_entries",
    )
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_entry",
    )
    client = models.ForeignKey(
        "accounts.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the client a top-up or client credit went to",
    )
    lot = models.OneToOneField(
        CreditLot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_entry",
        help_text="the prepaid top-up the entry became (art. 29.3)",
    )
    credited = money_field(
        default=0, help_text="what of the entry went to the client's credit (art. 9.1)"
    )
    credit_entry = models.OneToOneField(
        ClientCreditEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statement_entry",
    )
    note = models.CharField(
        verbose_name=_("note"),
        max_length=300,
        blank=True,
        help_text=_("why it is unmatched, or staff's note"),
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(verbose_name=_("resolved at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("statement entry")
        verbose_name_plural = _("statement entries")
        ordering = ["statement", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "bank_reference"],
                name="one_entry_per_bank_reference",
                violation_error_message=_("This bank entry was already imported."),
            )
        ]
        indexes = [
            models.Index(fields=["provider", "status", "id"], name="statement_entry_queue_idx")
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount} {self.bank_reference}"
