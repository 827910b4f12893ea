"""Django admin for the prepaid side: read-mostly; money moves only through billing.prepaid.services."""

from django.contrib import admin
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    BankAccount,
    Chargeback,
    CpiAdjustment,
    CreditLot,
    ExchangeRate,
    InterestNotComputed,
    InterestRate,
    InterestTerms,
    LedgerAllocation,
    LedgerEntry,
    Price,
    PriceChange,
    RestitutionRequest,
    StatementEntry,
    StatementImport,
    Wallet,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is append-only (DESIGN.md): no adds, edits or deletes from the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CreditLotInline(admin.TabularInline):
    model = CreditLot
    extra = 0
    can_delete = False
    fields = (
        "reference",
        "amount",
        "remaining",
        "currency",
        "purchase_date",
        "usable_from",
        "expires_on",
        "status",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = (
        "client",
        "currency",
        "balance",
        "last_charged_at",
        "credit_exhausted_at",
        "inactivity_warned_at",
    )
    search_fields = ("client__legal_name",)
    list_select_related = ("client",)
    inlines = [CreditLotInline]


@admin.register(CreditLot)
class CreditLotAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "wallet",
        "reference",
        "amount",
        "remaining",
        "currency",
        "purchase_date",
        "expires_on",
        "status",
    )
    list_filter = ("status", "currency")
    search_fields = ("reference", "wallet__client__legal_name")
    list_select_related = ("wallet__client",)
    date_hierarchy = "purchase_date"


class LedgerAllocationInline(admin.TabularInline):
    model = LedgerAllocation
    extra = 0
    can_delete = False
    fields = ("lot", "amount")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "wallet",
        "kind",
        "amount",
        "currency",
        "balance_after",
        "cause",
        "idempotency_key",
    )
    list_filter = ("kind", "currency")
    search_fields = ("idempotency_key", "cause", "wallet__client__legal_name")
    list_select_related = ("wallet__client",)
    date_hierarchy = "created_at"
    inlines = [LedgerAllocationInline]


@admin.register(Chargeback)
class ChargebackAdmin(ReadOnlyAdmin):
    list_display = ("recorded_at", "lot", "reference", "reversed_amount", "recorded_by")
    search_fields = ("reference",)


@admin.register(RestitutionRequest)
class RestitutionRequestAdmin(SimpleHistoryAdmin):
    list_display = (
        "requested_at",
        "client",
        "status",
        "amount",
        "currency",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status",)
    search_fields = ("client__legal_name",)
    readonly_fields = (
        "client",
        "requested_by",
        "requested_at",
        "reason",
        "status",
        "amount",
        "currency",
        "entry",
        "decided_by",
        "decided_at",
        "decision_note",
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(SimpleHistoryAdmin):
    """Staff maintain the dated exchange rates (with history); e.g. EUR→USD for the CXENGAGE
    dispute minimum of EUR 150 on USD invoices (CX 10). A rate is in force from its day until
    the next one for the pair; add a new row rather than editing a past one."""

    list_display = ("base_currency", "quote_currency", "rate", "valid_from", "source", "note")
    list_filter = ("base_currency", "quote_currency")
    search_fields = ("base_currency", "quote_currency", "source", "note")
    date_hierarchy = "valid_from"
    ordering = ("base_currency", "quote_currency", "-valid_from")

    def save_model(self, request, obj, form, change):
        """Staff entry, the fallback of the daily ECB import: a dispute pending check that the
        rate decides is decided once the rate is saved (CX 10)."""
        from billing.invoicing.services.disputes import disputes_pending_decide

        if not obj.source:
            obj.source = "entered by staff"
        super().save_model(request, obj, form, change)
        transaction.on_commit(disputes_pending_decide)


@admin.register(BankAccount)
class BankAccountAdmin(SimpleHistoryAdmin):
    """The providers' bank accounts printed on invoices (art. 4.10), with history. IBAN and
    BIC/SWIFT codes are checked with python-stdnum (ISO 13616, ISO 9362) by the model's
    validators; a refusal names the field and the rule. Close an account (untick "active")
    rather than deleting it: issued invoices name it."""

    list_display = (
        "provider",
        "currency",
        "kind",
        "display_number",
        "bank_name",
        "account_holder",
        "is_primary",
        "active",
    )
    list_filter = ("provider", "currency", "kind", "active")
    search_fields = ("iban", "account_number", "bank_name", "account_holder")
    list_select_related = ("provider",)
    fieldsets = (
        (None, {"fields": ("provider", "kind", "currency", "is_primary", "active")}),
        ("Account", {"fields": ("account_holder", "bank_name", "branch", "note")}),
        ("IBAN account", {"fields": ("iban", "bic")}),
        ("Chinese account", {"fields": ("account_number",), "description": "SWIFT code: above."}),
    )


@admin.register(InterestRate)
class InterestRateAdmin(SimpleHistoryAdmin):
    """Staff keep the dated late-interest rates per profile (art. 4.6), with history. For
    cxengage-nl each half-year's statutory rate (ECB main refinancing rate + 8 points,
    art. 6:119a BW) from 1 January or 1 July: add the next half-year as a new row. Entered here,
    a rate is not checked against the profile's period; the staff page and the API check it."""

    list_display = ("provider", "valid_from", "annual_rate_pct", "note")
    list_filter = ("provider",)
    date_hierarchy = "valid_from"
    ordering = ("provider", "-valid_from")


@admin.register(InterestTerms)
class InterestTermsAdmin(SimpleHistoryAdmin):
    """How each profile reckons late interest (art. 4.6): whose rate, its period, compounding."""

    list_display = ("provider", "basis", "rate_period_months", "compounds_yearly", "rate_rule")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdmin):
    """Uploaded bank statements (issue 14 §2); imported on the statements page, never here."""

    list_display = (
        "uploaded_at",
        "provider",
        "format",
        "statement_id",
        "status",
        "entries_total",
        "matched",
        "partly_matched",
        "unmatched",
        "duplicates",
    )
    list_filter = ("provider", "format", "status")
    search_fields = ("statement_id", "filename", "sha256")
    exclude = ("content",)


@admin.register(StatementEntry)
class StatementEntryAdmin(ReadOnlyAdmin):
    """Credit entries of the statements; staff assign or refund them on the unmatched queue page."""

    list_display = (
        "booking_date",
        "provider",
        "bank_reference",
        "amount",
        "currency",
        "payer_name",
        "status",
        "matched_by",
        "invoice",
    )
    list_filter = ("provider", "status", "matched_by")
    search_fields = ("bank_reference", "payer_name", "structured_reference", "remittance_text")
    list_select_related = ("provider", "invoice")


@admin.register(CpiAdjustment)
class CpiAdjustmentAdmin(SimpleHistoryAdmin):
    """The year's national CPI change per profile, applied in January to every price, fixed or
    general (art. 4.11). Once applied it is read-only: the prices it made are on record."""

    list_display = ("provider", "year", "rate_pct", "entered_by", "entered_at", "applied_at")
    list_filter = ("provider",)
    readonly_fields = ("applied_at",)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.applied_at is not None:
            return ("provider", "year", "rate_pct", "entered_by", "entered_at", "applied_at")
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.applied_at is None

    def save_model(self, request, obj, form, change):
        if not obj.entered_by_id:
            obj.entered_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Price)
class PriceAdmin(ReadOnlyAdmin):
    """Prices change through the services only, so each change is recorded with its cause."""

    list_display = ("client", "channel", "unit_price", "currency", "fixed", "valid_from", "cause")
    list_filter = ("channel", "fixed", "cause")
    search_fields = ("client__legal_name",)
    list_select_related = ("client",)


@admin.register(PriceChange)
class PriceChangeAdmin(ReadOnlyAdmin):
    list_display = (
        "recorded_at",
        "client",
        "channel",
        "old_unit_price",
        "new_unit_price",
        "effective_from",
        "cause",
        "notice_key",
    )
    list_filter = ("cause", "channel")
    search_fields = ("client__legal_name",)
    list_select_related = ("client",)


@admin.register(InterestNotComputed)
class InterestNotComputedAdmin(ReadOnlyAdmin):
    """The overdue job's records of invoices it could not compute interest on (art. 4.6)."""

    list_display = (
        "invoice",
        "provider",
        "first_day",
        "recorded_at",
        "last_checked_on",
        "resolved_at",
    )
    list_filter = ("provider",)
    list_select_related = ("invoice", "provider")
