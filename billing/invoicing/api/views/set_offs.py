"""Set-offs (art. 9.1-9.2)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, KEY_HEADER, Api, responses
from accounts.kernel.idempotency import idempotent, require_key
from accounts.kernel.permissions import IsBillingStaff
from billing.invoicing import selectors
from billing.invoicing.services import set_offs as set_off_services
from billing.models import SetOff
from billing.models.invoicing import MANUAL_SET_OFF_SOURCES

from ..serializers import SetOffSerializer
from ._common import DecimalString, invoice_of, optional_client


class SetOffListApi(Api):
    queryset = SetOff.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        source = serializers.ChoiceField(choices=MANUAL_SET_OFF_SOURCES)
        source_id = serializers.IntegerField(
            help_text="the deposit, restitution request, credit note or client credit set off"
        )
        invoice = serializers.IntegerField(help_text="the open invoice it is set off against")
        amount = DecimalString()

    @extend_schema(
        tags=["set-offs"],
        parameters=[CLIENT_PARAM],
        responses={200: SetOffSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Every set-off of the client, each naming its source and the invoice (art. 9.1)."""
        return self.paginated(
            selectors.set_off_list(user=request.user, client=optional_client(request)),
            SetOffSerializer,
        )

    @extend_schema(
        tags=["set-offs"],
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, SetOffSerializer),
    )
    def post(self, request):
        """Set off what the provider owes the client against an open invoice, across agreements
        (art. 9.1-9.2). Requires Idempotency-Key."""

        def handler():
            key = require_key(request)
            data = self.input(request)
            invoice = invoice_of(request, data["invoice"])
            source_obj = selectors.set_off_source_get(
                user=request.user, source=data["source"], pk=data["source_id"]
            )
            set_off = set_off_services.set_off_record(
                client=invoice.client,
                source=data["source"],
                source_obj=source_obj,
                invoice=invoice,
                amount=data["amount"],
                acting_user=request.user,
                idempotency_key=f"api:{key}",
            )
            return self.present(
                selectors.set_off_get(user=request.user, pk=set_off.pk),
                SetOffSerializer,
                status=201,
            )

        return idempotent(request, handler)


class SetOffDetailApi(Api):
    queryset = SetOff.objects.none()

    @extend_schema(tags=["set-offs"], responses={200: SetOffSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One set-off, naming its source and the invoice it reduced (art. 9.1)."""
        return self.present(selectors.set_off_get(user=request.user, pk=pk), SetOffSerializer)
