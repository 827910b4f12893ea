"""Disputes (art. 10; CX 10)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, Api, responses
from accounts.kernel.idempotency import idempotent
from accounts.kernel.permissions import IsBillingStaff, IsClientAdmin
from billing.invoicing import selectors
from billing.invoicing.services import disputes as dispute_services
from billing.models import Dispute

from ..serializers import DisputeSerializer
from ._common import KEY_HEADER_OPTIONAL, DecimalString, invoice_of, optional_client, status_param


class DisputeListApi(Api):
    queryset = Dispute.objects.none()
    write_permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        invoice = serializers.IntegerField()
        amount = DecimalString(help_text="the disputed amount, including VAT")
        reason = serializers.CharField(help_text="the motivated complaint (art. 10.1)")

    @extend_schema(
        tags=["disputes"],
        parameters=[CLIENT_PARAM, OpenApiParameter("status", str, enum=Dispute.Status.values)],
        responses={200: DisputeSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Disputes of invoices, filtered by client and status (art. 10)."""
        return self.paginated(
            selectors.dispute_list(
                user=request.user,
                client=optional_client(request),
                status=status_param(request, Dispute.Status.values),
            ),
            DisputeSerializer,
        )

    @extend_schema(
        tags=["disputes"], request=InputSerializer, responses=responses(201, DisputeSerializer)
    )
    def post(self, request):
        """A client admin disputes an invoice within its payment term (art. 10.1); admissibility
        follows the profile (CX 10); `withholdable` says whether the disputed part may be withheld."""
        data = self.input(request)
        invoice = invoice_of(request, data["invoice"])
        dispute = dispute_services.dispute_raise(
            invoice=invoice, amount=data["amount"], reason=data["reason"], acting_user=request.user
        )
        return self.present(
            selectors.dispute_get(user=request.user, pk=dispute.pk), DisputeSerializer, status=201
        )


class DisputeDetailApi(Api):
    queryset = Dispute.objects.none()

    @extend_schema(tags=["disputes"], responses={200: DisputeSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One dispute: the disputed amount, whether it may be withheld, and its resolution (art. 10)."""
        return self.present(selectors.dispute_get(user=request.user, pk=pk), DisputeSerializer)


class DisputeEscalateApi(Api):
    queryset = Dispute.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        expert_name = serializers.CharField(max_length=200)
        cost_agreement = serializers.CharField(help_text="the agreement on the expert's costs")

    @extend_schema(
        tags=["disputes"], request=InputSerializer, responses=responses(200, DisputeSerializer)
    )
    def post(self, request, pk):
        """Record the external expert, no earlier than 20 working days after the due date (art. 10.2)."""
        dispute = selectors.dispute_get(user=request.user, pk=pk)
        data = self.input(request)
        dispute_services.dispute_escalate(dispute=dispute, acting_user=request.user, **data)
        return self.present(selectors.dispute_get(user=request.user, pk=pk), DisputeSerializer)


class DisputeResolveApi(Api):
    queryset = Dispute.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        granted_amount = DecimalString(help_text='"0" rejects; more issues a credit note')
        resolution = serializers.CharField(help_text="the reasons; the client sees them")

    @extend_schema(
        tags=["disputes"],
        request=InputSerializer,
        parameters=[KEY_HEADER_OPTIONAL],
        responses=responses(200, DisputeSerializer),
    )
    def post(self, request, pk):
        """Resolve: a credit note for what is granted, or a rejection with reasons (art. 10.2)."""

        def handler():
            dispute = selectors.dispute_get(user=request.user, pk=pk)
            data = self.input(request)
            dispute_services.dispute_resolve(dispute=dispute, acting_user=request.user, **data)
            return self.present(selectors.dispute_get(user=request.user, pk=pk), DisputeSerializer)

        return idempotent(request, handler)
