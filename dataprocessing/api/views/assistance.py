"""Assistance requests (art. 21.6): a client asks for help with a data-protection impact
assessment or a prior consultation; compliance officers track the status, outcome and cost."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import ERRORS_READ, Api, client_for, responses
from accounts.kernel.fields import MomentField
from accounts.kernel.permissions import IsComplianceOfficer
from dataprocessing import selectors
from dataprocessing.models import AssistanceRequest
from dataprocessing.services import assistance as services

from ..filters import AssistanceRequestFilter
from ..permissions import IsClientAdminOrComplianceOfficer
from ..serializers import AssistanceRequestSerializer

TAG = ["assistance-requests"]


class AssistanceRequestListApi(Api):
    queryset = AssistanceRequest.objects.none()
    filterset_class = AssistanceRequestFilter
    write_permission_classes = [IsClientAdminOrComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(required=False, help_text="compliance officers only")
        kind = serializers.ChoiceField(choices=AssistanceRequest.Kind.choices)
        description = serializers.CharField(allow_blank=True)
        due_at = MomentField(required=False, allow_null=True)

    @extend_schema(tags=TAG, responses={200: AssistanceRequestSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """Requests for help with a DPIA or a prior consultation, with their status and cost (art. 21.6)."""
        return self.paginated(
            selectors.assistance_request_list(user=request.user), AssistanceRequestSerializer
        )

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        responses=responses(201, AssistanceRequestSerializer),
    )
    def post(self, request):
        """Ask for help with a DPIA or a prior consultation (art. 21.6)."""
        data = dict(self.input(request))
        client = client_for(request, data.pop("client", None))
        assistance = services.assistance_request_log(
            client=client, acting_user=request.user, **data
        )
        return self.present(assistance, AssistanceRequestSerializer, status=201)


class AssistanceRequestDetailApi(Api):
    queryset = AssistanceRequest.objects.none()
    write_permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=AssistanceRequest.Status.choices, required=False)
        outcome = serializers.CharField(required=False, allow_blank=True)
        cost = serializers.DecimalField(
            max_digits=12,
            decimal_places=2,
            required=False,
            help_text="charged to the client (art. 21.6)",
        )

    @extend_schema(tags=TAG, responses={200: AssistanceRequestSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One assistance request, with its status, outcome and cost (art. 21.6)."""
        return self.present(
            selectors.assistance_request_get(user=request.user, pk=pk), AssistanceRequestSerializer
        )

    @extend_schema(
        tags=TAG,
        request=InputSerializer,
        responses=responses(200, AssistanceRequestSerializer),
    )
    def patch(self, request, pk):
        """Track the request: status, outcome and cost (art. 21.6)."""
        assistance = selectors.assistance_request_get(user=request.user, pk=pk)
        assistance = services.assistance_request_update(
            assistance_request=assistance, acting_user=request.user, **self.input(request)
        )
        return self.present(assistance, AssistanceRequestSerializer)
