"""Deposits (art. 4.7)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from accounts import selectors as account_selectors
from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, Api, responses
from accounts.kernel.idempotency import idempotent
from accounts.kernel.permissions import IsBillingStaff
from billing.invoicing import selectors
from billing.invoicing.services import deposits as deposit_services
from billing.models import Deposit

from ..serializers import DepositSerializer
from ._common import KEY_HEADER_OPTIONAL, DecimalString, optional_client, status_param


class DepositListApi(Api):
    queryset = Deposit.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        amount = DecimalString()
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["deposits"],
        parameters=[CLIENT_PARAM, OpenApiParameter("status", str, enum=Deposit.Status.values)],
        responses={200: DepositSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Deposits demanded of the client and their status; no interest is paid (art. 4.7)."""
        return self.paginated(
            selectors.deposit_list(
                user=request.user,
                client=optional_client(request),
                status=status_param(request, Deposit.Status.values),
            ),
            DepositSerializer,
        )

    @extend_schema(
        tags=["deposits"],
        request=InputSerializer,
        parameters=[KEY_HEADER_OPTIONAL],
        responses=responses(201, DepositSerializer),
    )
    def post(self, request):
        """Staff demand a deposit (art. 4.7); the client is emailed."""

        def handler():
            data = self.input(request)
            client = account_selectors.client_get(user=request.user, pk=data["client"])
            deposit = deposit_services.deposit_demand(
                client=client,
                amount=data["amount"],
                reason=data["reason"],
                acting_user=request.user,
            )
            return self.present(deposit, DepositSerializer, status=201)

        return idempotent(request, handler)


class DepositDetailApi(Api):
    queryset = Deposit.objects.none()

    @extend_schema(tags=["deposits"], responses={200: DepositSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One deposit: the amount demanded, held, set off and refunded (art. 4.7)."""
        return self.present(selectors.deposit_get(user=request.user, pk=pk), DepositSerializer)


def _deposit_action(doc: str, call, input_serializer=None):
    """A billing staff action on one deposit (art. 4.7); honours Idempotency-Key."""

    class DepositActionApi(Api):
        queryset = Deposit.objects.none()
        permission_classes = [IsBillingStaff]
        InputSerializer = input_serializer

        @extend_schema(
            tags=["deposits"],
            request=input_serializer,
            parameters=[KEY_HEADER_OPTIONAL],
            responses=responses(200, DepositSerializer),
            description=doc,
        )
        def post(self, request, pk):
            def handler():
                deposit = selectors.deposit_get(user=request.user, pk=pk)
                data = self.input(request) if input_serializer is not None else {}
                result = call(deposit=deposit, acting_user=request.user, **data)
                return self.present(result, DepositSerializer)

            return idempotent(request, handler)

    return DepositActionApi


class _DepositAdjustInput(serializers.Serializer):
    amount = DecimalString(help_text="the new amount demanded")
    reason = serializers.CharField(help_text="the consultation behind the adjustment (art. 4.7)")
    amount_held = DecimalString(required=False, allow_null=True, default=None)


class _DepositHeldInput(serializers.Serializer):
    amount_received = DecimalString()


class _DepositRefundInput(serializers.Serializer):
    reference = serializers.CharField(max_length=200, help_text="the refund's bank reference")


_DepositAdjustInput.__name__ = "DepositAdjust"
_DepositHeldInput.__name__ = "DepositMarkHeld"
_DepositRefundInput.__name__ = "DepositRefund"


class DepositAdjustApi(
    _deposit_action(
        "Adjust the deposit after mutual consultation; history keeps every version (art. 4.7).",
        deposit_services.deposit_adjust,
        _DepositAdjustInput,
    )
):
    pass


class DepositMarkHeldApi(
    _deposit_action(
        "Record the deposit money received; the deposit is then held (art. 4.7).",
        deposit_services.deposit_mark_held,
        _DepositHeldInput,
    )
):
    pass


class DepositSettleApi(
    _deposit_action(
        "On termination, set the deposit off against what is due and owe the rest back within "
        "2 calendar months (art. 4.7).",
        deposit_services.deposit_settle,
    )
):
    pass


class DepositRefundApi(
    _deposit_action(
        "Record the refund of a settled deposit (art. 4.7).",
        deposit_services.deposit_refund_record,
        _DepositRefundInput,
    )
):
    pass
