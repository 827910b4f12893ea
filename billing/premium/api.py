"""The premium-services API (CX Part V): `premium-statements` with their ledger, the money-moving
actions on them (receipts, chargebacks, deductions, the refund-campaign charge, offsets, payouts;
each with an Idempotency-Key), `premium-disputes` with documents, `premium-payouts` and
`premium-service-changes`. Whoever has no premium services gets 404 everywhere."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser

from accounts.api.views.base import (
    CLIENT_PARAM,
    ERRORS_READ,
    KEY_HEADER,
    Api,
    client_for,
    responses,
)
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.fields import AmountField
from accounts.kernel.idempotency import idempotent, require_key
from accounts.kernel.permissions import (
    IsBillingStaff,
    IsClientAdmin,
    IsClientAdminOrStaff,
    IsClientUserOrStaff,
)
from billing.models import (
    Invoice,
    PremiumDispute,
    PremiumLedgerEntry,
    PremiumServiceChange,
    PremiumStatement,
)

from . import selectors, services

TAG = ["premium-services"]


class PremiumEntrySerializer(serializers.ModelSerializer):
    invoice = serializers.SerializerMethodField(help_text="an offset: the invoice it paid")

    class Meta:
        model = PremiumLedgerEntry
        fields = [
            "id",
            "statement",
            "kind",
            "amount",
            "currency",
            "occurred_on",
            "operator_billed",
            "source_amount",
            "source_currency",
            "reference",
            "note",
            "invoice",
            "recorded_at",
        ]

    def get_invoice(self, obj) -> int | None:
        return obj.set_off.invoice_id if obj.set_off_id else None


class PremiumSummarySerializer(serializers.Serializer):
    currency = serializers.CharField()
    billed = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    received = serializers.DecimalField(max_digits=20, decimal_places=2)
    not_received = serializers.DecimalField(
        max_digits=20, decimal_places=2, allow_null=True, help_text="billed, not paid (yet)"
    )
    offsets = serializers.DecimalField(max_digits=20, decimal_places=2)
    paid_out = serializers.DecimalField(max_digits=20, decimal_places=2)
    balance = serializers.DecimalField(max_digits=20, decimal_places=2)
    available = serializers.DecimalField(
        max_digits=20, decimal_places=2, help_text="left to pay out, never more than received"
    )
    owed_by_client = serializers.DecimalField(max_digits=20, decimal_places=2)
    dispute_open = serializers.BooleanField()
    deductions = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=2)
    )


class PremiumStatementSerializer(serializers.ModelSerializer):
    class Meta:
        model = PremiumStatement
        fields = [
            "id",
            "client",
            "operator",
            "period_start",
            "period_end",
            "currency",
            "status",
            "issued_at",
            "dispute_deadline",
        ]


class PremiumStatementDetailSerializer(PremiumStatementSerializer):
    summary = serializers.SerializerMethodField()
    entries = serializers.SerializerMethodField()

    class Meta(PremiumStatementSerializer.Meta):
        fields = [*PremiumStatementSerializer.Meta.fields, "summary", "entries"]

    def get_summary(self, obj) -> dict:
        return PremiumSummarySerializer(selectors.statement_summary(obj)).data

    def get_entries(self, obj) -> list[dict]:
        return list(PremiumEntrySerializer(selectors.statement_entries(obj), many=True).data)


class PremiumDisputeSerializer(serializers.ModelSerializer):
    documents = serializers.SerializerMethodField(help_text="document ids (download on the page)")

    class Meta:
        model = PremiumDispute
        fields = [
            "id",
            "statement",
            "client",
            "reason",
            "amount_claimed",
            "currency",
            "raised_at",
            "status",
            "resolution",
            "resolved_at",
            "documents",
        ]

    def get_documents(self, obj) -> list[int]:
        return [d.pk for d in obj.documents.all()]


class PremiumServiceChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PremiumServiceChange
        fields = [
            "id",
            "client",
            "service",
            "change",
            "effective_on",
            "notice_days",
            "notified_at",
            "acknowledged_at",
        ]


def _client_filter(request):
    raw = request.query_params.get("client")
    if raw is None:
        return None
    if not raw.isdigit():
        raise ValidationFailed({"client": ["client must be a client id."]})
    return client_for(request, int(raw))


class _PremiumApi(Api):
    """Every premium endpoint answers 404 to a user without premium services."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        selectors.require_offered(request.user)

    def statement(self, request, pk) -> PremiumStatement:
        return selectors.statement_get(user=request.user, pk=pk)

    def detail(self, request, pk, status=200):
        return self.present(
            self.statement(request, pk), PremiumStatementDetailSerializer, status=status
        )


class PremiumStatementListApi(_PremiumApi):
    queryset = PremiumStatement.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        operator = serializers.CharField(allow_blank=True)
        period_start = serializers.DateField()
        period_end = serializers.DateField()
        currency = serializers.CharField(required=False, allow_blank=True, max_length=3)

    @extend_schema(
        tags=TAG,
        parameters=[CLIENT_PARAM],
        responses={200: PremiumStatementSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Revenue statements per period per operator, newest period first (CX Part V)."""
        return self.paginated(
            selectors.statement_list(user=request.user, client=_client_filter(request)),
            PremiumStatementSerializer,
        )

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        responses=responses(201, PremiumStatementDetailSerializer),
    )
    def post(self, request):
        """Open a draft statement for one client, operator and period (billing staff)."""
        data = dict(self.input(request))
        client = client_for(request, data.pop("client"))
        statement = services.premium_statement_create(
            client=client, acting_user=request.user, **data
        )
        return self.detail(request, statement.pk, status=201)


class PremiumStatementDetailApi(_PremiumApi):
    queryset = PremiumStatement.objects.none()
    permission_classes = [IsClientUserOrStaff]

    @extend_schema(tags=TAG, responses={200: PremiumStatementDetailSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One statement: what the operator billed and actually paid, the deductions, offsets and
        payouts, what is left to pay out (never more than received) and its ledger."""
        return self.detail(request, pk)


class PremiumStatementIssueApi(_PremiumApi):
    queryset = PremiumStatement.objects.none()
    permission_classes = [IsBillingStaff]

    @extend_schema(
        tags=TAG, request=None, responses=responses(200, PremiumStatementDetailSerializer)
    )
    def post(self, request, pk):
        """Issue the statement to the client: its 10 days to dispute the payment begin."""
        services.premium_statement_issue(
            statement=self.statement(request, pk), acting_user=request.user
        )
        return self.detail(request, pk)


class _MoneyApi(_PremiumApi):
    """A money movement on a statement, once per Idempotency-Key."""

    queryset = PremiumStatement.objects.none()
    permission_classes = [IsBillingStaff]

    def record(self, request, pk, call):
        # another client's statement is 404 before the key is asked for
        statement = self.statement(request, pk)

        def handler():
            key = require_key(request)
            result = call(statement, dict(self.input(request)), f"api:{key}")
            entries = result if isinstance(result, list) else [result]
            return self.present(
                entries, lambda rows: PremiumEntrySerializer(rows, many=True), status=201
            )

        return idempotent(request, handler)


class PremiumReceiptApi(_MoneyApi):
    class InputSerializer(serializers.Serializer):
        amount = AmountField(help_text="what the operator actually paid")
        operator_billed = AmountField(required=False, allow_null=True)
        received_on = serializers.DateField()
        reference = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PremiumEntrySerializer(many=True)),
    )
    def post(self, request, pk):
        """Record what an operator actually paid for the period; only this is paid out (CX Part
        V). Requires Idempotency-Key."""
        return self.record(
            request,
            pk,
            lambda s, data, key: services.premium_receipt_record(
                statement=s, acting_user=request.user, idempotency_key=key, **data
            ),
        )


class PremiumChargebackApi(_MoneyApi):
    class InputSerializer(serializers.Serializer):
        amount = AmountField()
        fee = AmountField(required=False, allow_null=True, allow_blank=True)
        occurred_on = serializers.DateField()
        end_user_reference = serializers.CharField(allow_blank=True)

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PremiumEntrySerializer(many=True)),
    )
    def post(self, request, pk):
        """Deduct an end-user chargeback and its fee; the client is liable for both (CX Part V).
        Requires Idempotency-Key."""
        return self.record(
            request,
            pk,
            lambda s, data, key: services.premium_chargeback_record(
                statement=s, acting_user=request.user, idempotency_key=key, **data
            ),
        )


class PremiumDeductionApi(_MoneyApi):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=[(k, k) for k in services.DEDUCTIONS])
        amount = AmountField()
        occurred_on = serializers.DateField()
        note = serializers.CharField(allow_blank=True)
        reference = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PremiumEntrySerializer(many=True)),
    )
    def post(self, request, pk):
        """Deduct a chargeback, a chargeback fee, an administrative fee for complaint handling or
        tax withheld (CX Part V). Requires Idempotency-Key."""
        return self.record(
            request,
            pk,
            lambda s, data, key: services.premium_deduction_record(
                statement=s, acting_user=request.user, idempotency_key=key, **data
            ),
        )


class PremiumRefundCampaignApi(_MoneyApi):
    class InputSerializer(serializers.Serializer):
        misconduct = serializers.CharField(allow_blank=True)
        occurred_on = serializers.DateField()

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PremiumEntrySerializer(many=True)),
    )
    def post(self, request, pk):
        """Charge the €5,000 refund-campaign cost for misconduct, converted to the statement's
        currency (CX Part V). Requires Idempotency-Key."""
        return self.record(
            request,
            pk,
            lambda s, data, key: services.premium_refund_campaign_charge(
                statement=s, acting_user=request.user, idempotency_key=key, **data
            ),
        )


class PremiumOffsetApi(_MoneyApi):
    class InputSerializer(serializers.Serializer):
        invoice = serializers.IntegerField(help_text="the client's open invoice")
        amount = AmountField()

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PremiumEntrySerializer(many=True)),
    )
    def post(self, request, pk):
        """Offset what the client owes on an open invoice against its revenue (right of offset,
        CX Part V): the invoice is paid by a set-off and the payout reduced. Requires
        Idempotency-Key."""

        def call(statement, data, key):
            invoice = Invoice.objects.filter(pk=data["invoice"], client=statement.client).first()
            if invoice is None:
                raise ValidationFailed({"invoice": ["No invoice of this client with this id."]})
            return services.premium_offset_record(
                statement=statement,
                invoice=invoice,
                amount=data["amount"],
                acting_user=request.user,
                idempotency_key=key,
            )

        return self.record(request, pk, call)


class PremiumPayoutApi(_MoneyApi):
    class InputSerializer(serializers.Serializer):
        amount = AmountField()
        paid_on = serializers.DateField()
        reference = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PremiumEntrySerializer(many=True)),
    )
    def post(self, request, pk):
        """Pay revenue out to the client: never more than is left on the statement of what the
        operators actually paid (CX Part V). Requires Idempotency-Key."""
        return self.record(
            request,
            pk,
            lambda s, data, key: services.premium_payout_record(
                statement=s, acting_user=request.user, idempotency_key=key, **data
            ),
        )


class PremiumStatementDisputeApi(_PremiumApi):
    queryset = PremiumStatement.objects.none()
    permission_classes = [IsClientAdmin]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True)
        amount_claimed = AmountField(required=False, allow_null=True, allow_blank=True)
        documents = serializers.ListField(child=serializers.FileField(), allow_empty=True)

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, PremiumDisputeSerializer)
    )
    def post(self, request, pk):
        """Dispute the payment on a statement within 10 days of its issue, with supporting
        documents (multipart, one or more `documents`); a late dispute is refused (CX Part V)."""
        statement = self.statement(request, pk)
        dispute = services.premium_dispute_raise(
            statement=statement, acting_user=request.user, **self.input(request)
        )
        return self.present(
            selectors.dispute_get(user=request.user, pk=dispute.pk),
            PremiumDisputeSerializer,
            status=201,
        )


class PremiumDisputeListApi(_PremiumApi):
    queryset = PremiumDispute.objects.none()

    @extend_schema(
        tags=TAG,
        parameters=[CLIENT_PARAM],
        responses={200: PremiumDisputeSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Payment disputes on statements, newest first."""
        return self.paginated(
            selectors.dispute_list(user=request.user, client=_client_filter(request)),
            PremiumDisputeSerializer,
        )


class PremiumDisputeDetailApi(_PremiumApi):
    queryset = PremiumDispute.objects.none()

    @extend_schema(tags=TAG, responses={200: PremiumDisputeSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One payment dispute with its documents and answer."""
        return self.present(
            selectors.dispute_get(user=request.user, pk=pk), PremiumDisputeSerializer
        )


class PremiumDisputeResolveApi(_PremiumApi):
    queryset = PremiumDispute.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        upheld = serializers.BooleanField()
        resolution = serializers.CharField(allow_blank=True)

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, PremiumDisputeSerializer)
    )
    def post(self, request, pk):
        """Answer a payment dispute in writing: upheld or rejected (billing staff)."""
        dispute = selectors.dispute_get(user=request.user, pk=pk)
        services.premium_dispute_resolve(
            dispute=dispute, acting_user=request.user, **self.input(request)
        )
        return self.present(
            selectors.dispute_get(user=request.user, pk=pk), PremiumDisputeSerializer
        )


class PremiumPayoutListApi(_PremiumApi):
    queryset = PremiumLedgerEntry.objects.none()

    @extend_schema(
        tags=TAG,
        parameters=[CLIENT_PARAM],
        responses={200: PremiumEntrySerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Revenue paid out, newest first."""
        return self.paginated(
            selectors.payout_list(user=request.user, client=_client_filter(request)),
            PremiumEntrySerializer,
        )


class PremiumServiceChangeListApi(_PremiumApi):
    queryset = PremiumServiceChange.objects.none()
    write_permission_classes = [IsClientAdminOrStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(required=False, help_text="staff: the client")
        service = serializers.CharField(allow_blank=True)
        change = serializers.CharField(allow_blank=True)
        effective_on = serializers.DateField()

    @extend_schema(
        tags=TAG,
        parameters=[CLIENT_PARAM],
        responses={200: PremiumServiceChangeSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The client's notices of changes to its end-user services, newest first."""
        return self.paginated(
            selectors.service_change_list(user=request.user, client=_client_filter(request)),
            PremiumServiceChangeSerializer,
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, PremiumServiceChangeSerializer)
    )
    def post(self, request):
        """Notify a change to an end-user service in advance (CX Part V, General Provisions): a
        change sooner than the profile's lead time is refused."""
        data = dict(self.input(request))
        client = client_for(request, data.pop("client", None))
        notice = services.premium_service_change_notify(
            client=client, acting_user=request.user, **data
        )
        return self.present(notice, PremiumServiceChangeSerializer, status=201)


class PremiumServiceChangeAcknowledgeApi(_PremiumApi):
    queryset = PremiumServiceChange.objects.none()
    permission_classes = [IsBillingStaff]

    @extend_schema(tags=TAG, request=None, responses=responses(200, PremiumServiceChangeSerializer))
    def post(self, request, pk):
        """Acknowledge the client's notice of a service change (billing staff)."""
        notice = selectors.service_change_get(user=request.user, pk=pk)
        return self.present(
            services.premium_service_change_acknowledge(notice=notice, acting_user=request.user),
            PremiumServiceChangeSerializer,
        )
