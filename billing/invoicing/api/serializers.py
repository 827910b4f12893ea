"""Output serializers of the invoicing API (art. 4, 9, 10); input serializers live in their view."""

from rest_framework import serializers

from billing.invoicing.services.recharges import ARTICLE
from billing.models import (
    BankAccount,
    ClientCredit,
    ClientCreditEntry,
    CpiAdjustment,
    Deposit,
    Dispute,
    FapiaoRequest,
    InterestCharge,
    InterestRate,
    Invoice,
    InvoiceLine,
    Payment,
    Price,
    PriceChange,
    Recharge,
    SetOff,
)


class InvoiceListItemSerializer(serializers.ModelSerializer):
    """An invoice as the list shows it; `GET /api/v1/invoices/{id}/` has lines, payments and more."""

    # The selector loads only these columns.

    client = serializers.IntegerField(source="client_id", read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "client",
            "kind",
            "number",
            "status",
            "invoice_date",
            "due_date",
            "period_start",
            "period_end",
            "currency",
            "subtotal",
            "vat_amount",
            "total",
            "amount_paid",
            "payment_reference",
        ]


class InvoiceListSerializer(serializers.Serializer):
    """One keyset page: pass `next_cursor` back as `?cursor=` for the next one."""

    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.CharField(allow_null=True, help_text="the URL of the next page")
    results = InvoiceListItemSerializer(many=True)


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "position",
            "description",
            "channel",
            "quantity",
            "unit_price",
            "vat_rate",
            "amount",
            "messages",
        ]


class PaymentSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "amount",
            "bank_fee",
            "currency",
            "received_on",
            "reference",
            "recorded_at",
        ]


class ClientCreditSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClientCredit
        fields = ["id", "client", "currency", "balance", "created_at"]


class ClientCreditEntrySerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(
        source="invoice.number", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ClientCreditEntry
        fields = [
            "id",
            "kind",
            "amount",
            "currency",
            "balance_after",
            "created_at",
            "received_on",
            "invoice",
            "invoice_number",
            "set_off",
            "reference",
            "cause",
        ]


class SetOffSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    credit_note_number = serializers.CharField(
        source="credit_note.number", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = SetOff
        fields = [
            "id",
            "client",
            "source",
            "deposit",
            "restitution",
            "credit_note",
            "credit_note_number",
            "client_credit",
            "invoice",
            "invoice_number",
            "amount",
            "currency",
            "recorded_at",
        ]


class RechargeSerializer(serializers.ModelSerializer):
    """A sum charged besides usage, with its source and the invoice that bills it (if any yet)."""

    invoice_number = serializers.CharField(
        source="invoice.number", read_only=True, allow_null=True, default=None
    )
    article = serializers.SerializerMethodField(help_text="the article that lets it be charged")

    class Meta:
        model = Recharge
        fields = [
            "id",
            "client",
            "kind",
            "article",
            "amount",
            "currency",
            "vat_applies",
            "source_kind",
            "source_id",
            "description",
            "status",
            "recorded_at",
            "invoice",
            "invoice_number",
        ]

    def get_article(self, obj: Recharge) -> str:
        return ARTICLE[Recharge.Kind(obj.kind)]


class InterestChargeSerializer(serializers.ModelSerializer):
    class Meta:
        model = InterestCharge
        fields = ["from_date", "to_date", "amount", "currency", "charged_on"]


class InterestSpanSerializer(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()
    days = serializers.IntegerField()
    outstanding = serializers.DecimalField(max_digits=14, decimal_places=2)
    annual_rate_pct = serializers.DecimalField(max_digits=6, decimal_places=3)
    amount = serializers.DecimalField(max_digits=16, decimal_places=6)
    capitalised = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="interest of full years added to the amount it runs on (art. 6:119a(3) BW)",
    )


class DisputeSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    credit_note_number = serializers.CharField(
        source="credit_note.number", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "amount",
            "currency",
            "reason",
            "withholdable",
            "status",
            "raised_at",
            "escalation_available_at",
            "expert_name",
            "expert_cost_agreement",
            "escalated_at",
            "resolved_at",
            "resolution",
            "granted_amount",
            "credit_note",
            "credit_note_number",
            "admissibility_note",
            "admissibility_checked_at",
        ]


class FapiaoRequestSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    overdue = serializers.BooleanField(
        read_only=True, help_text="still requested after its 7-day deadline (art. 4.8)"
    )

    class Meta:
        model = FapiaoRequest
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "status",
            "confirmed_at",
            "due_at",
            "overdue",
            "kind",
            "fapiao_code",
            "fapiao_number",
            "issue_date",
            "buyer_name",
            "buyer_tax_id",
            "buyer_address",
            "buyer_phone",
            "buyer_bank",
            "buyer_account",
            "amount_excl_tax",
            "tax_rate",
            "tax_amount",
            "total",
            "issued_at",
        ]


class BankAccountSerializer(serializers.ModelSerializer):
    """The provider's account an invoice names (art. 4.10)."""

    class Meta:
        model = BankAccount
        fields = [
            "kind",
            "currency",
            "account_holder",
            "bank_name",
            "branch",
            "iban",
            "bic",
            "account_number",
        ]


class EpcTransferSerializer(serializers.Serializer):
    """The fields of the invoice's EPC QR code (EPC069-12), when one applies."""

    name = serializers.CharField()
    iban = serializers.CharField()
    bic = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    reference = serializers.CharField()


class PaymentInstructionsSerializer(serializers.Serializer):
    reference = serializers.CharField(
        help_text="quote it when paying: ISO 11649 RF reference for euro, else the invoice number"
    )
    account = BankAccountSerializer(allow_null=True)
    epc_qr = EpcTransferSerializer(
        source="epc", allow_null=True, help_text="SEPA credit transfer in euro only"
    )


class InvoiceDetailSerializer(serializers.Serializer):
    """An invoice with lines, payments, set-offs, interest, disputes, fapiao and what is due now."""

    id = serializers.IntegerField(source="invoice.pk")
    client = serializers.IntegerField(source="invoice.client_id")
    kind = serializers.ChoiceField(source="invoice.kind", choices=Invoice.Kind.choices)
    number = serializers.CharField(source="invoice.number", allow_null=True)
    status = serializers.ChoiceField(source="invoice.status", choices=Invoice.Status.choices)
    invoice_date = serializers.DateField(source="invoice.invoice_date", allow_null=True)
    due_date = serializers.DateField(source="invoice.due_date", allow_null=True)
    payment_term_days = serializers.IntegerField(
        source="invoice.payment_term_days",
        allow_null=True,
        help_text="the invoice's own payment term; null: the agreement's (art. 4.5, 4.8)",
    )
    period_start = serializers.DateField(source="invoice.period_start", allow_null=True)
    period_end = serializers.DateField(source="invoice.period_end", allow_null=True)
    currency = serializers.CharField(source="invoice.currency")
    subtotal = serializers.DecimalField(source="invoice.subtotal", max_digits=14, decimal_places=2)
    vat_amount = serializers.DecimalField(
        source="invoice.vat_amount", max_digits=14, decimal_places=2
    )
    total = serializers.DecimalField(source="invoice.total", max_digits=14, decimal_places=2)
    amount_paid = serializers.DecimalField(
        source="invoice.amount_paid", max_digits=14, decimal_places=2
    )
    reverse_charge = serializers.BooleanField(source="invoice.reverse_charge")
    notes = serializers.CharField(source="invoice.notes")
    credit_note_for = serializers.IntegerField(source="invoice.credit_note_for_id", allow_null=True)
    void_reason = serializers.CharField(source="invoice.void_reason")
    payment_reference = serializers.CharField(source="invoice.payment_reference", allow_null=True)
    pay = PaymentInstructionsSerializer(
        allow_null=True, help_text="how to pay an issued invoice; null for drafts and credit notes"
    )
    outstanding = serializers.DecimalField(max_digits=14, decimal_places=2)
    withheld = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="the disputed part withheld while its dispute is open",
    )
    due_now = serializers.DecimalField(max_digits=14, decimal_places=2)
    interest_to_date = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="late interest accrued so far (art. 4.6)"
    )
    interest_no_rate_from = serializers.DateField(
        allow_null=True,
        help_text="the first day interest runs without a rate in force (art. 4.6); null: none",
    )
    interest_spans = InterestSpanSerializer(many=True)
    lines = InvoiceLineSerializer(many=True)
    payments = PaymentSerializer(many=True)
    set_offs = SetOffSerializer(many=True)
    interest_charges = InterestChargeSerializer(many=True)
    disputes = DisputeSerializer(many=True)
    fapiao = FapiaoRequestSerializer(allow_null=True)
    fapiao_available = serializers.SerializerMethodField()
    credit_notes = InvoiceListItemSerializer(many=True)

    def get_fapiao_available(self, obj) -> bool:
        """The provider's profile issues fapiao (art. 4.8)."""
        return bool(obj.invoice.provider.fapiao_enabled)


class DepositSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deposit
        fields = [
            "id",
            "client",
            "amount",
            "amount_held",
            "currency",
            "status",
            "demanded_at",
            "reason",
            "refund_due_by",
            "refund_amount",
            "refunded_at",
            "refund_reference",
        ]


class InterestRateSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider.code", read_only=True)

    class Meta:
        model = InterestRate
        fields = ["id", "provider", "valid_from", "annual_rate_pct", "note"]


class PriceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Price
        fields = [
            "id",
            "client",
            "channel",
            "unit_price",
            "currency",
            "fixed",
            "valid_from",
            "agreement_reference",
            "cause",
        ]


class PriceChangeSerializer(serializers.ModelSerializer):
    """One change of a client's price, with its cause (art. 4.2-4.4, 4.11)."""

    client = serializers.IntegerField(source="client_id", read_only=True)
    notice_sent = serializers.SerializerMethodField()

    class Meta:
        model = PriceChange
        fields = [
            "id",
            "client",
            "channel",
            "old_unit_price",
            "new_unit_price",
            "currency",
            "fixed",
            "effective_from",
            "cause",
            "explanation",
            "reference",
            "recorded_at",
            "notice_sent",
        ]

    def get_notice_sent(self, obj) -> bool:
        return bool(obj.notice_key)


class PriceChangeListSerializer(serializers.Serializer):
    """One keyset page: pass `next_cursor` back as `?cursor=` for the next one."""

    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.CharField(allow_null=True, help_text="the URL of the next page")
    results = PriceChangeSerializer(many=True)


class CpiAdjustmentSerializer(serializers.ModelSerializer):
    provider = serializers.CharField(source="provider.code", read_only=True)

    class Meta:
        model = CpiAdjustment
        fields = ["id", "provider", "year", "rate_pct", "entered_at", "applied_at"]
