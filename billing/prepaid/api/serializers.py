"""Output serializers of the billing API; input serializers live inside their view."""

from rest_framework import serializers

from accounts.kernel.fields import MomentField
from billing.models import (
    Chargeback,
    CreditLot,
    LedgerEntry,
    LimitChange,
    LimitIncreaseRequest,
    MessagePayment,
    RestitutionRequest,
    UsageRecord,
)


class UsageRecordSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="record_id")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)

    class Meta:
        model = UsageRecord
        fields = [
            "id",
            "client",
            "channel",
            "message_count",
            "amount",
            "currency",
            "prepaid",
            "occurred_at",
            "received_at",
            "ledger_entry",
        ]


class LimitChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.EmailField(source="changed_by.email", read_only=True)

    class Meta:
        model = LimitChange
        fields = ["id", "old_limit", "new_limit", "source", "reason", "changed_by", "changed_at"]


class MessageLimitSerializer(serializers.Serializer):
    """A client's message limit and its unpaid count (art. 26)."""

    client = serializers.IntegerField(source="client_id")
    limit = serializers.IntegerField()
    unpaid_count = serializers.IntegerField(help_text="postpaid messages not yet paid")
    remaining = serializers.IntegerField(
        help_text="messages that may still be sent before the limit"
    )
    used_pct = serializers.DecimalField(max_digits=7, decimal_places=1)
    notice_pct = serializers.IntegerField(
        help_text="the notice goes out at this share of the limit (art. 26.1)"
    )
    limit_reached = serializers.BooleanField(
        help_text="messaging is suspended until payment or a higher limit (art. 26.2)"
    )
    notices_sent = serializers.IntegerField()
    limit_changed_at = MomentField()


class MessageLimitDetailSerializer(MessageLimitSerializer):
    changes = LimitChangeSerializer(
        many=True, help_text="every change of the limit, newest first (art. 26.2)"
    )


class LimitIncreaseRequestSerializer(serializers.ModelSerializer):
    requested_by = serializers.EmailField(source="requested_by.email", read_only=True)
    decided_by = serializers.EmailField(
        source="decided_by.email", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = LimitIncreaseRequest
        fields = [
            "id",
            "client",
            "current_limit",
            "requested_limit",
            "reason",
            "requested_by",
            "requested_at",
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class MessagePaymentSerializer(serializers.ModelSerializer):
    recorded_by = serializers.EmailField(
        source="recorded_by.email", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = MessagePayment
        fields = [
            "id",
            "client",
            "messages",
            "reference",
            "recorded_by",
            "recorded_at",
            "idempotency_key",
        ]


class UsageResultSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "refused"])
    field = serializers.CharField(required=False, help_text="refused: the field that breaks a rule")
    code = serializers.CharField(required=False)
    reason = serializers.CharField(required=False, help_text="refused: the rule, in words")
    article = serializers.CharField(required=False)


class UsageBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = UsageResultSerializer(many=True, help_text="one answer per record, in the order sent")


# --- Prepaid: wallet, lots, ledger (art. 29) -----------------------------------------------
class CreditLotSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    remaining = serializers.DecimalField(max_digits=14, decimal_places=2)
    client = serializers.IntegerField(source="wallet.client_id", read_only=True)

    class Meta:
        model = CreditLot
        fields = [
            "id",
            "client",
            "amount",
            "remaining",
            "currency",
            "reference",
            "received_at",
            "purchase_date",
            "usable_from",
            "expires_on",
            "expires_at",
            "status",
        ]


class WalletLotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    remaining = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    purchase_date = serializers.DateField()
    usable_from = MomentField()
    expires_on = serializers.DateField(
        help_text="the first local day on which the credit is no longer usable"
    )
    last_usable_day = serializers.DateField()
    expires_at = MomentField()
    status = serializers.CharField()
    state = serializers.CharField(
        help_text="usable, pending (usable from tomorrow), expired, or the lot's status"
    )


class WalletSerializer(serializers.Serializer):
    """Balance, usable now, pending (usable from the next day) and the lots (art. 29.3)."""

    client = serializers.IntegerField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    usable_now = serializers.DecimalField(max_digits=14, decimal_places=2)
    pending = serializers.DecimalField(max_digits=14, decimal_places=2)
    expired_unprocessed = serializers.DecimalField(max_digits=14, decimal_places=2)
    lots = WalletLotSerializer(many=True)


class LedgerEntrySerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    balance_after = serializers.DecimalField(max_digits=14, decimal_places=2)
    client = serializers.IntegerField(source="wallet.client_id", read_only=True)

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "client",
            "kind",
            "amount",
            "currency",
            "balance_after",
            "idempotency_key",
            "created_at",
            "cause",
            "lot",
            "memo",
        ]


class ChargebackSerializer(serializers.ModelSerializer):
    reversed_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    used_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="credit already used from the top-up: owed, billed on an invoice (art. 29.4)",
    )
    recorded_by = serializers.EmailField(source="recorded_by.email", read_only=True)

    class Meta:
        model = Chargeback
        fields = [
            "id",
            "lot",
            "reference",
            "reason",
            "reversed_amount",
            "used_amount",
            "entry",
            "recorded_by",
            "recorded_at",
        ]


class RestitutionRequestSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    requested_by = serializers.EmailField(source="requested_by.email", read_only=True)
    decided_by = serializers.EmailField(
        source="decided_by.email", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = RestitutionRequest
        fields = [
            "id",
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
        ]
