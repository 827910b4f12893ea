"""Data-subject requests (art. 21.5; GDPR art. 12(3)), in the portal's own shape and in the shape
of the OpenDSR (OpenGDPR) specification for clients that file and follow them from their systems."""

import base64

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api.views.base import ERRORS_READ, Api, client_for, responses
from accounts.kernel.fields import MomentField
from accounts.kernel.permissions import IsClientAdmin, IsComplianceOfficer
from dataprocessing import selectors
from dataprocessing.models import DataSubjectRequest
from dataprocessing.services import dsrs as services

from ..filters import DataSubjectRequestFilter
from ..permissions import IsClientAdminOrComplianceOfficer
from ..serializers import DataSubjectRequestSerializer

TAG = ["data-subject-requests"]


class DataSubjectRequestListApi(Api):
    queryset = DataSubjectRequest.objects.none()
    filterset_class = DataSubjectRequestFilter
    write_permission_classes = [IsClientAdminOrComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(
            required=False,
            help_text="compliance officers only; a client admin's own client by default",
        )
        type = serializers.ChoiceField(choices=DataSubjectRequest.Type.choices)
        received_by = serializers.ChoiceField(
            choices=DataSubjectRequest.ReceivedBy.choices,
            required=False,
            help_text="who received it: `client` for a client admin (default), `provider` by default for staff",
        )
        subject_reference = serializers.CharField(
            allow_blank=True,
            help_text="the minimum needed to find the subject's data, e.g. a phone number",
        )
        received_at = MomentField(required=False, allow_null=True)
        status_callback_url = serializers.URLField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=TAG, responses={200: DataSubjectRequestSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """Requests with their deadline, soonest first; `due_before` finds those due soon."""
        return self.paginated(selectors.dsr_list(user=request.user), DataSubjectRequestSerializer)

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, DataSubjectRequestSerializer)
    )
    def post(self, request):
        """Log a request; one received by the provider notifies the client's admins at once (art. 21.5.2)."""
        data = dict(self.input(request))
        client = client_for(request, data.pop("client", None))
        data["received_by"] = data.get("received_by") or services.received_by_default(request.user)
        dsr = services.dsr_receive(client=client, acting_user=request.user, **data)
        return self.present(
            selectors.dsr_get(user=request.user, pk=dsr.pk),
            DataSubjectRequestSerializer,
            status=201,
        )


class _DsrApi(Api):
    queryset = DataSubjectRequest.objects.none()

    def dsr(self, request, pk) -> DataSubjectRequest:
        return selectors.dsr_get(user=request.user, pk=pk)

    def answer(self, request, pk):
        return self.present(self.dsr(request, pk), DataSubjectRequestSerializer)


class DataSubjectRequestDetailApi(_DsrApi):
    @extend_schema(tags=TAG, responses={200: DataSubjectRequestSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One data-subject request with its deadline, instruction and actions (art. 21.5)."""
        return self.answer(request, pk)


class DataSubjectRequestInstructApi(_DsrApi):
    permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        instruction = serializers.ChoiceField(choices=DataSubjectRequest.Instruction.choices)
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, DataSubjectRequestSerializer)
    )
    def post(self, request, pk):
        """The client instructs: transfer, correct, delete or block (art. 21.5.1)."""
        dsr = self.dsr(request, pk)
        services.dsr_instruct(dsr=dsr, acting_user=request.user, **self.input(request))
        return self.answer(request, pk)


class DataSubjectRequestRecordActionApi(_DsrApi):
    permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        action_taken = serializers.CharField(allow_blank=True, help_text="what the provider did")
        assistance_cost = serializers.DecimalField(
            max_digits=12,
            decimal_places=2,
            required=False,
            allow_null=True,
            help_text="charged to the client in the provider's currency (art. 21.5.2)",
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, DataSubjectRequestSerializer)
    )
    def post(self, request, pk):
        """Record what was done on the client's instruction; the request is completed (art. 21.5.1)."""
        dsr = self.dsr(request, pk)
        services.dsr_record_action(dsr=dsr, acting_user=request.user, **self.input(request))
        return self.answer(request, pk)


class DataSubjectRequestExtendApi(_DsrApi):
    permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True, help_text="told to the client at once")

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, DataSubjectRequestSerializer)
    )
    def post(self, request, pk):
        """Extend by two further months, once, within the first month (GDPR art. 12(3))."""
        dsr = self.dsr(request, pk)
        services.dsr_extend(dsr=dsr, acting_user=request.user, reason=self.input(request)["reason"])
        return self.answer(request, pk)


class DataSubjectRequestPauseApi(_DsrApi):
    permission_classes = [IsClientAdminOrComplianceOfficer]

    @extend_schema(tags=TAG, request=None, responses=responses(200, DataSubjectRequestSerializer))
    def post(self, request, pk):
        """Pause while the subject's identity is checked; the deadline shifts by the pause."""
        services.dsr_pause_for_identity(dsr=self.dsr(request, pk), acting_user=request.user)
        return self.answer(request, pk)


class DataSubjectRequestResumeApi(_DsrApi):
    permission_classes = [IsClientAdminOrComplianceOfficer]

    @extend_schema(tags=TAG, request=None, responses=responses(200, DataSubjectRequestSerializer))
    def post(self, request, pk):
        """Resume after the identity check; the deadline moves by the length of the pause."""
        services.dsr_resume_after_identity(dsr=self.dsr(request, pk), acting_user=request.user)
        return self.answer(request, pk)


class DataSubjectRequestCancelApi(_DsrApi):
    permission_classes = [IsClientAdminOrComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, DataSubjectRequestSerializer)
    )
    def post(self, request, pk):
        """Cancel a request that is still open, with an optional reason; the status callback is sent if one is set."""
        dsr = self.dsr(request, pk)
        services.dsr_cancel(dsr=dsr, acting_user=request.user, reason=self.input(request)["reason"])
        return self.answer(request, pk)


# --- OpenDSR (OpenGDPR) --------------------------------------------------------------------
OPENDSR_TAG = ["opendsr"]
OPENDSR_API_VERSION = "0.1"


class OpenDsrIdentitySerializer(serializers.Serializer):
    identity_type = serializers.CharField(
        help_text="e.g. email, phone_number, controller_customer_id"
    )
    identity_value = serializers.CharField()
    identity_format = serializers.CharField(
        required=False, default="raw", help_text="raw, sha256, md5"
    )


def _identities_reference(identities: list[dict]) -> str:
    """The OpenDSR identities as the request's minimal subject reference (type:value, …)."""
    return "; ".join(
        f"{i['identity_type']}:{i['identity_value']}"
        + ("" if i.get("identity_format", "raw") == "raw" else f" ({i['identity_format']})")
        for i in identities
    )


class OpenDsrRequestListApi(Api):
    """`POST /opendsr/requests/`: file a request in the OpenDSR shape (a client admin)."""

    queryset = DataSubjectRequest.objects.none()
    permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        subject_request_type = serializers.ChoiceField(choices=DataSubjectRequest.Type.choices)
        subject_identities = OpenDsrIdentitySerializer(many=True, allow_empty=False)
        subject_request_id = serializers.UUIDField(
            required=False,
            help_text="ignored: the portal assigns the id and answers with it (use it to follow the request)",
        )
        submitted_time = MomentField(
            required=False, allow_null=True, help_text="when the controller received the request"
        )
        status_callback_urls = serializers.ListField(
            child=serializers.URLField(),
            required=False,
            default=list,
            max_length=1,
            help_text="one URL, called (POST, JSON) on every status change",
        )
        api_version = serializers.CharField(required=False, default=OPENDSR_API_VERSION)
        property_id = serializers.CharField(required=False, allow_blank=True)
        extensions = serializers.JSONField(required=False)

    class OutputSerializer(serializers.Serializer):
        received_time = MomentField()
        expected_completion_time = MomentField()
        encoded_request = serializers.CharField(help_text="the request as received, base64")
        subject_request_id = serializers.UUIDField()
        controller_id = serializers.CharField()

    @extend_schema(
        tags=OPENDSR_TAG, request=InputSerializer, responses=responses(201, OutputSerializer)
    )
    def post(self, request):
        """Due one month after receipt (GDPR art. 12(3)); the answer names the expected completion."""
        raw = request.body
        data = self.input(request)
        urls = data["status_callback_urls"]
        dsr = services.dsr_receive(
            client=request.user.client,
            type=data["subject_request_type"],
            received_by=DataSubjectRequest.ReceivedBy.CLIENT,
            subject_reference=_identities_reference(data["subject_identities"]),
            received_at=data.get("submitted_time"),
            acting_user=request.user,
            status_callback_url=urls[0] if urls else "",
        )
        answer = {
            "received_time": dsr.received_at,
            "expected_completion_time": dsr.due_at,
            "encoded_request": base64.b64encode(raw).decode("ascii"),
            "subject_request_id": dsr.request_id,
            "controller_id": str(dsr.client_id),
        }
        return Response(self.OutputSerializer(answer).data, status=201)


class OpenDsrRequestDetailApi(Api):
    """A data-subject request's status in the OpenDSR format, by its subject request id."""

    queryset = DataSubjectRequest.objects.none()

    class OutputSerializer(serializers.Serializer):
        subject_request_id = serializers.UUIDField(source="request_id")
        request_status = serializers.ChoiceField(
            source="status",
            choices=DataSubjectRequest.Status.choices,
            help_text="pending, in_progress, completed or cancelled",
        )
        received_time = MomentField(source="received_at")
        expected_completion_time = MomentField(source="due_at")
        controller_id = serializers.CharField(source="client_id")
        api_version = serializers.SerializerMethodField()
        results_url = serializers.SerializerMethodField()

        def get_api_version(self, dsr) -> str:
            return OPENDSR_API_VERSION

        def get_results_url(self, dsr) -> str:
            return f"{settings.PORTAL_BASE_URL}/api/v1/data-subject-requests/{dsr.pk}/"

    @extend_schema(tags=OPENDSR_TAG, responses={200: OutputSerializer, **ERRORS_READ})
    def get(self, request, subject_request_id):
        dsr = selectors.dsr_get_by_request_id(user=request.user, request_id=subject_request_id)
        return Response(self.OutputSerializer(dsr).data)
