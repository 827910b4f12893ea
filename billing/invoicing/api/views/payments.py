"""Payments received against invoices (art. 4.10)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, KEY_HEADER, Api, responses
from accounts.kernel.idempotency import idempotent, require_key
from accounts.kernel.permissions import IsBillingStaff
from billing.invoicing import selectors
from billing.invoicing.services import payments as payment_services
from billing.models import Payment

from ..serializers import PaymentSerializer
from ._common import DecimalString, invoice_of, optional_client


class PaymentListApi(Api):
    queryset = Payment.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        invoice = serializers.IntegerField()
        amount = DecimalString(help_text='the net amount received, e.g. "980.00"')
        bank_fee = DecimalString(
            required=False, default="0", help_text="fees deducted on the way (stay owed)"
        )
        received_on = serializers.DateField()
        reference = serializers.CharField(allow_blank=True, max_length=200)
        excess_to_credit = serializers.BooleanField(
            required=False,
            default=False,
            help_text="more than is outstanding becomes the client's credit (art. 9.1)",
        )

    @extend_schema(
        tags=["payments"],
        parameters=[CLIENT_PARAM],
        responses={200: PaymentSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Payments received against the client's invoices, newest first."""
        return self.paginated(
            selectors.payment_list(user=request.user, client=optional_client(request)),
            PaymentSerializer,
        )

    @extend_schema(
        tags=["payments"],
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PaymentSerializer),
    )
    def post(self, request):
        """Record money received, in full or in part; a bank fee's shortfall stays owed (art. 4.10).
        Requires Idempotency-Key."""

        def handler():
            key = require_key(request)
            data = self.input(request)
            invoice = invoice_of(request, data["invoice"])
            payment = payment_services.payment_record(
                invoice=invoice,
                amount=data["amount"],
                bank_fee=data["bank_fee"],
                received_on=data["received_on"],
                reference=data["reference"],
                idempotency_key=f"api:{key}",
                acting_user=request.user,
                excess_to_credit=data["excess_to_credit"],
            )
            return self.present(
                selectors.payment_get(user=request.user, pk=payment.pk),
                PaymentSerializer,
                status=201,
            )

        return idempotent(request, handler)


class PaymentDetailApi(Api):
    queryset = Payment.objects.none()

    @extend_schema(tags=["payments"], responses={200: PaymentSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One payment received and the invoice it was applied to (art. 4.10)."""
        return self.present(selectors.payment_get(user=request.user, pk=pk), PaymentSerializer)
