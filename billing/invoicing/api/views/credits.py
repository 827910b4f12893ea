"""Client credit (art. 9.1; issue 12 §6): overpayments and payments without an invoice, held
for the client, set off (`POST /api/v1/set-offs/` with source `client_credit`) or refunded."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, KEY_HEADER, Api, responses
from accounts.kernel.idempotency import idempotent, require_key
from accounts.kernel.permissions import IsBillingStaff
from billing.invoicing import selectors
from billing.invoicing.services import client_credit
from billing.models import ClientCredit

from ..serializers import ClientCreditEntrySerializer, ClientCreditSerializer
from ._common import DecimalString, optional_client


class ClientCreditListApi(Api):
    queryset = ClientCredit.objects.none()

    @extend_schema(
        tags=["client-credits"],
        parameters=[CLIENT_PARAM],
        responses={200: ClientCreditSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The client's credit per currency: money received beyond its invoices (art. 9.1)."""
        return self.paginated(
            selectors.client_credit_list(user=request.user, client=optional_client(request)),
            ClientCreditSerializer,
        )


class ClientCreditDetailApi(Api):
    queryset = ClientCredit.objects.none()

    @extend_schema(tags=["client-credits"], responses={200: ClientCreditSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One client credit and its balance (art. 9.1)."""
        return self.present(
            selectors.client_credit_get(user=request.user, pk=pk), ClientCreditSerializer
        )


class ClientCreditEntriesApi(Api):
    queryset = ClientCredit.objects.none()

    @extend_schema(
        tags=["client-credits"],
        responses={200: ClientCreditEntrySerializer(many=True), **ERRORS_READ},
    )
    def get(self, request, pk):
        """Every movement of one client credit, newest first: what came in, what was set off
        against which invoice, what was refunded (art. 9.1)."""
        credit = selectors.client_credit_get(user=request.user, pk=pk)
        return self.paginated(
            selectors.client_credit_entries(credit=credit), ClientCreditEntrySerializer
        )


class ClientCreditRefundApi(Api):
    queryset = ClientCredit.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        amount = DecimalString(help_text='what was paid back, e.g. "40.00"')
        reference = serializers.CharField(max_length=200, help_text="the transfer's reference")

    @extend_schema(
        tags=["client-credits"],
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, ClientCreditEntrySerializer),
    )
    def post(self, request, pk):
        """Billing staff record a refund of (part of) the credit; never more than it holds
        (art. 9.1). Requires Idempotency-Key."""

        # another provider's credit answers 404 before anything else is checked
        credit = selectors.client_credit_get(user=request.user, pk=pk)

        def handler():
            key = require_key(request)
            data = self.input(request)
            entry = client_credit.client_credit_refund(
                credit=credit,
                amount=data["amount"],
                reference=data["reference"],
                idempotency_key=f"api:{key}",
                acting_user=request.user,
            )
            return self.present(entry, ClientCreditEntrySerializer, status=201)

        return idempotent(request, handler)
