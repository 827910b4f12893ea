"""The prepaid side (art. 29): wallet, credit lots, ledger (+ CSV), top-ups, chargebacks,
restitution requests. Thin views over billing.prepaid.services and billing.prepaid.selectors."""

import datetime as dt

from django.http import StreamingHttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers

from accounts import selectors as account_selectors
from accounts.api.examples import ERROR_EXAMPLES, KEY_HEADER_WITH_EXAMPLE
from accounts.api.views.base import (
    CLIENT_PARAM,
    ERRORS_READ,
    Api,
    client_for,
    client_from_query,
    responses,
)
from accounts.kernel.csv_export import csv_response
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.fields import AmountField, MomentField
from accounts.kernel.idempotency import idempotent, require_key
from accounts.kernel.permissions import IsBillingStaff, IsClientAdmin
from billing.models import Chargeback, CreditLot, LedgerEntry, RestitutionRequest, Wallet
from billing.prepaid import selectors
from billing.prepaid.services import chargebacks, restitution, wallets

from ..serializers import (
    ChargebackSerializer,
    CreditLotSerializer,
    LedgerEntrySerializer,
    RestitutionRequestSerializer,
    WalletSerializer,
)


def _wallet_answer(client) -> dict:
    return {"client": client.pk, **selectors.wallet_summary(client=client)}


# --- Wallet --------------------------------------------------------------------------------
class WalletApi(Api):
    queryset = Wallet.objects.none()

    @extend_schema(
        tags=["wallet"], parameters=[CLIENT_PARAM], responses={200: WalletSerializer, **ERRORS_READ}
    )
    def get(self, request):
        """Balance, usable now, pending (usable from the next day) and every lot (art. 29.3)."""
        return self.present(_wallet_answer(client_from_query(request)), WalletSerializer)


class ClientWalletApi(Api):
    queryset = Wallet.objects.none()

    @extend_schema(tags=["wallet"], responses={200: WalletSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """Any client's wallet for staff; a client user only its own (another id is 404)."""
        client = account_selectors.client_get(user=request.user, pk=pk)
        return self.present(_wallet_answer(client), WalletSerializer)


# --- Credit lots ---------------------------------------------------------------------------
class CreditLotListApi(Api):
    queryset = CreditLot.objects.none()

    @extend_schema(
        tags=["wallet"],
        parameters=[CLIENT_PARAM],
        responses={200: CreditLotSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The client's lots, earliest expiry first (the order debits consume them, art. 29.2)."""
        client = client_from_query(request)
        return self.paginated(selectors.lot_list(client=client), CreditLotSerializer)


# --- Ledger --------------------------------------------------------------------------------
class CSVRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (bytes, str)) else b""


def _ledger_filters(request) -> dict:
    filters = {}
    kind = request.query_params.get("kind")
    if kind:
        if kind not in LedgerEntry.Kind.values:
            raise ValidationFailed(
                {
                    "kind": [
                        gettext("kind must be one of %(choices)s.")
                        % {"choices": ", ".join(LedgerEntry.Kind.values)}
                    ]
                }
            )
        filters["kind"] = kind
    for name in ("date_from", "date_to"):
        value = request.query_params.get(name)
        if value:
            try:
                filters[name] = dt.date.fromisoformat(value)
            except ValueError:
                raise ValidationFailed(
                    {name: [gettext("%(name)s must be a date, YYYY-MM-DD.") % {"name": name}]}
                ) from None
    return filters


def _ledger_csv_response(client, filters) -> StreamingHttpResponse:
    """The ledger streamed through the kernel's one CSV helper (no formula injection)."""
    return csv_response(
        f"ledger-{client.pk}.csv",
        selectors.CSV_COLUMNS,
        selectors.ledger_csv_rows(client=client, filters=filters),
    )


LEDGER_PARAMS = [
    CLIENT_PARAM,
    OpenApiParameter("kind", str, enum=LedgerEntry.Kind.values),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="local date, inclusive"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="local date, inclusive"),
]


class LedgerApi(Api):
    queryset = LedgerEntry.objects.none()
    renderer_classes = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, CSVRenderer]

    @extend_schema(
        tags=["wallet"],
        parameters=[*LEDGER_PARAMS, OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={200: LedgerEntrySerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The ledger, newest first, filtered; `?format=csv` (or ledger.csv) exports it."""
        client = client_from_query(request)
        filters = _ledger_filters(request)
        if request.accepted_renderer.format == "csv":
            return _ledger_csv_response(client, filters)
        return self.paginated(
            selectors.ledger_list(client=client, filters=filters),
            LedgerEntrySerializer,
        )


class LedgerCsvApi(Api):
    queryset = LedgerEntry.objects.none()

    @extend_schema(
        tags=["wallet"],
        parameters=LEDGER_PARAMS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="the ledger as CSV"),
            **ERRORS_READ,
        },
    )
    def get(self, request):
        """The ledger as CSV, with the same filters as the ledger list."""
        return _ledger_csv_response(client_from_query(request), _ledger_filters(request))


# --- Top-ups and chargebacks (staff) -------------------------------------------------------
# The docs' examples (tests/portal/test_api_docs.py posts the request and compares the answer).
TOP_UP_EXAMPLE_REQUEST = {
    "client": 1042,
    "amount": "500.00",
    "received_at": "2026-12-03T10:30:00+08:00",
    "reference": "bank-2026-12-03-88231",
}
TOP_UP_EXAMPLE_RESPONSE = {
    "id": 311,
    "client": 1042,
    "amount": "500.00",
    "remaining": "500.00",
    "currency": "CNY",
    "reference": "bank-2026-12-03-88231",
    "received_at": "2026-12-03T02:30:00Z",
    "purchase_date": "2026-12-03",
    "usable_from": "2026-12-03T16:00:00Z",
    "expires_on": "2027-12-03",
    "expires_at": "2027-12-02T16:00:00Z",
    "status": "active",
}


class TopUpApi(Api):
    queryset = CreditLot.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        amount = AmountField(help_text='a decimal string, e.g. "500.00"')
        received_at = MomentField(help_text="when the payment was received")
        reference = serializers.CharField(allow_blank=True, help_text="the payment's reference")
        currency = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="ISO 4217; must be the agreed currency (art. 4.1), which it defaults to",
        )

        def validate_amount(self, value):
            # CharField would turn a JSON number into text; a float is never an amount (DESIGN.md, Money).
            if isinstance(self.initial_data.get("amount"), float):
                raise serializers.ValidationError(
                    gettext("Give the amount as a decimal string, never a floating point number.")
                )
            return value

    @extend_schema(
        tags=["wallet"],
        request=InputSerializer,
        parameters=[KEY_HEADER_WITH_EXAMPLE],
        responses=responses(201, CreditLotSerializer),
        examples=[
            OpenApiExample(
                "A bank transfer of 500.00",
                value=TOP_UP_EXAMPLE_REQUEST,
                request_only=True,
                description="Sent with the header `Idempotency-Key: bank-2026-12-03-88231`.",
            ),
            OpenApiExample(
                "The credit lot",
                value=TOP_UP_EXAMPLE_RESPONSE,
                response_only=True,
                status_codes=["201"],
                description="Usable from the next local day (midnight in Shanghai, in UTC "
                "here), expiring 12 months after the purchase. The same request again with the same key answers this lot again "
                "with `Idempotent-Replayed: true`.",
            ),
            OpenApiExample(
                "The amount as a JSON number",
                value=ERROR_EXAMPLES["400"],
                response_only=True,
                status_codes=["400"],
            ),
            OpenApiExample(
                "The key reused with another body",
                value=ERROR_EXAMPLES["409"],
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )
    def post(self, request):
        """Staff record a payment received: a credit lot usable from the next local day,
        expiring 12 months after purchase (art. 29.3). Requires Idempotency-Key."""

        def handler():
            key = require_key(request)
            data = self.input(request)
            client = account_selectors.client_get(user=request.user, pk=data["client"])
            lot = wallets.wallet_top_up(
                wallet=wallets.wallet_for_client(client=client),
                amount=data["amount"],
                received_at=data["received_at"],
                reference=data["reference"],
                idempotency_key=f"api:{key}",
                acting_user=request.user,
                currency=data["currency"],
            )
            lot = CreditLot.objects.select_related("wallet").get(pk=lot.pk)
            return self.present(lot, CreditLotSerializer, status=201)

        return idempotent(request, handler)


class ChargebackApi(Api):
    queryset = Chargeback.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        lot = serializers.IntegerField(help_text="the credit lot (top-up) charged back")
        reference = serializers.CharField(allow_blank=True)
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["wallet"], request=InputSerializer, responses=responses(201, ChargebackSerializer)
    )
    def post(self, request):
        """Record a chargeback: the lot's remaining credit is reversed and the account closed (art. 29.4).
        Honours Idempotency-Key."""

        def handler():
            data = self.input(request)
            lot = selectors.lot_get(user=request.user, pk=data["lot"])
            chargeback = chargebacks.chargeback_record(
                lot=lot,
                reference=data["reference"],
                reason=data["reason"],
                acting_user=request.user,
            )
            return self.present(chargeback, ChargebackSerializer, status=201)

        return idempotent(request, handler)


# --- Restitution (art. 29.6) ---------------------------------------------------------------
def _restitution_get(request, pk) -> RestitutionRequest:
    return selectors.restitution_request_get(user=request.user, pk=pk)


class RestitutionRequestListApi(Api):
    queryset = RestitutionRequest.objects.none()
    write_permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["restitution-requests"],
        responses={200: RestitutionRequestSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Requests for the remaining prepaid credit on termination, filtered by `status` (art. 29.6)."""
        qs = selectors.restitution_request_list(
            user=request.user, status=request.query_params.get("status")
        )
        return self.paginated(qs, RestitutionRequestSerializer)

    @extend_schema(
        tags=["restitution-requests"],
        request=InputSerializer,
        responses=responses(201, RestitutionRequestSerializer),
    )
    def post(self, request):
        """A terminating prepaid client asks in writing for its remaining credit (art. 29.6)."""
        data = self.input(request)
        created = restitution.restitution_request(
            client=client_for(request, None), acting_user=request.user, reason=data["reason"]
        )
        return self.present(
            _restitution_get(request, created.pk), RestitutionRequestSerializer, status=201
        )


class RestitutionRequestDetailApi(Api):
    queryset = RestitutionRequest.objects.none()

    @extend_schema(
        tags=["restitution-requests"], responses={200: RestitutionRequestSerializer, **ERRORS_READ}
    )
    def get(self, request, pk):
        """One restitution request and its decision (art. 29.6)."""
        return self.present(_restitution_get(request, pk), RestitutionRequestSerializer)


class RestitutionRequestApproveApi(Api):
    queryset = RestitutionRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["restitution-requests"],
        request=InputSerializer,
        responses=responses(200, RestitutionRequestSerializer),
    )
    def post(self, request, pk):
        """Restitute the remaining unexpired credit; expired credit is never refunded (art. 29.3, 29.6).
        Honours Idempotency-Key."""

        def handler():
            pending = _restitution_get(request, pk)
            data = self.input(request)
            restitution.restitution_approve(
                request=pending, acting_user=request.user, note=data["note"]
            )
            return self.present(_restitution_get(request, pk), RestitutionRequestSerializer)

        return idempotent(request, handler)


class RestitutionRequestRefuseApi(Api):
    queryset = RestitutionRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(allow_blank=True, help_text="why; the client sees it")

    @extend_schema(
        tags=["restitution-requests"],
        request=InputSerializer,
        responses=responses(200, RestitutionRequestSerializer),
    )
    def post(self, request, pk):
        """Refuse a pending restitution request with a note the client sees; no credit moves (art. 29.6)."""
        pending = _restitution_get(request, pk)
        data = self.input(request)
        restitution.restitution_refuse(request=pending, acting_user=request.user, note=data["note"])
        return self.present(_restitution_get(request, pk), RestitutionRequestSerializer)
