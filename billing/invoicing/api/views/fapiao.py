"""Fapiao requests (art. 4.8)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, Api, responses
from accounts.kernel.permissions import IsBillingStaff
from billing.invoicing import selectors
from billing.invoicing.services import fapiao as fapiao_services
from billing.models import FapiaoRequest

from ..serializers import FapiaoRequestSerializer
from ._common import DecimalString, optional_client, status_param


class FapiaoRequestListApi(Api):
    queryset = FapiaoRequest.objects.none()

    @extend_schema(
        tags=["fapiao-requests"],
        parameters=[
            CLIENT_PARAM,
            OpenApiParameter("status", str, enum=FapiaoRequest.Status.values),
        ],
        responses={200: FapiaoRequestSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Fapiao requests; with `status=requested`, the nearest deadline first (staff's queue)."""
        return self.paginated(
            selectors.fapiao_request_list(
                user=request.user,
                client=optional_client(request),
                status=status_param(request, FapiaoRequest.Status.values),
            ),
            FapiaoRequestSerializer,
        )


class FapiaoRequestDetailApi(Api):
    queryset = FapiaoRequest.objects.none()

    @extend_schema(
        tags=["fapiao-requests"], responses={200: FapiaoRequestSerializer, **ERRORS_READ}
    )
    def get(self, request, pk):
        """One fapiao request with its due date (7 days after confirmation, art. 4.8)."""
        return self.present(
            selectors.fapiao_request_get(user=request.user, pk=pk), FapiaoRequestSerializer
        )


class FapiaoRequestIssueApi(Api):
    queryset = FapiaoRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=FapiaoRequest.Kind.choices)
        number = serializers.CharField(
            help_text="20 digits (fully digital) or 8 digits (paper)", max_length=20
        )
        code = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="paper only: 10 or 12 digits"
        )
        issue_date = serializers.DateField()
        buyer_name = serializers.CharField(max_length=300)
        buyer_tax_id = serializers.CharField(max_length=18, help_text="USCC, 18 characters")
        buyer_address = serializers.CharField(required=False, allow_blank=True, default="")
        buyer_phone = serializers.CharField(required=False, allow_blank=True, default="")
        buyer_bank = serializers.CharField(required=False, allow_blank=True, default="")
        buyer_account = serializers.CharField(required=False, allow_blank=True, default="")
        amount_excl_tax = DecimalString()
        tax_rate = DecimalString(required=False, allow_null=True, default=None)
        tax_amount = DecimalString()
        total = DecimalString()

    @extend_schema(
        tags=["fapiao-requests"],
        request=InputSerializer,
        responses=responses(200, FapiaoRequestSerializer),
    )
    def post(self, request, pk):
        """Record the fapiao issued, its numbers' format checked (art. 4.8)."""
        fapiao = selectors.fapiao_request_get(user=request.user, pk=pk)
        data = self.input(request)
        fapiao_services.fapiao_issue(request=fapiao, acting_user=request.user, **data)
        return self.present(
            selectors.fapiao_request_get(user=request.user, pk=pk), FapiaoRequestSerializer
        )
