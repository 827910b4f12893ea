"""Records of processing per client (art. 21.8, 24), exportable as CSV, and assistance requests
for a data-protection impact assessment or a prior consultation (art. 21.6)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import ERRORS_READ, Api, client_for, responses
from accounts.kernel.permissions import IsComplianceOfficer
from accounts.selectors import client_get, scoped
from dataprocessing import selectors, services
from dataprocessing.models import AssistanceRequest, ProcessingRecord

from ..filters import AssistanceRequestFilter, ProcessingRecordFilter
from ..permissions import IsClientAdminOrComplianceOfficer
from ..serializers import AssistanceRequestSerializer, ProcessingRecordSerializer

TAG = ["processing-records"]


class _RecordInput(serializers.Serializer):
    subject_categories = serializers.CharField(allow_blank=True, help_text="art. 24.2")
    data_types = serializers.CharField(allow_blank=True, help_text="art. 24.3")
    purposes = serializers.CharField(allow_blank=True, help_text="art. 24.4")
    transfers = serializers.CharField(
        allow_blank=True, required=False, default="", help_text="outside the EEA, with safeguards"
    )
    retention = serializers.CharField(allow_blank=True, help_text="art. 23")
    toms_reference = serializers.CharField(
        allow_blank=True, help_text="technical and organisational measures (art. 21.2)"
    )


def _records(request):
    return scoped(ProcessingRecord.objects.select_related("client__provider"), user=request.user)


class ProcessingRecordListApi(Api):
    queryset = ProcessingRecord.objects.none()
    filterset_class = ProcessingRecordFilter
    write_permission_classes = [IsComplianceOfficer]

    class InputSerializer(_RecordInput):
        client = serializers.IntegerField()

    @extend_schema(tags=TAG, responses={200: ProcessingRecordSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        return self.paginated(
            _records(request).order_by("client__legal_name", "pk"), ProcessingRecordSerializer
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, ProcessingRecordSerializer)
    )
    def post(self, request):
        """Create or replace a client's record of processing (one per client, art. 21.8)."""
        data = dict(self.input(request))
        client = client_get(user=request.user, pk=data.pop("client"))
        record = services.processing_record_save(client=client, acting_user=request.user, **data)
        return self.present(record, ProcessingRecordSerializer)


class ProcessingRecordDetailApi(Api):
    queryset = ProcessingRecord.objects.none()
    write_permission_classes = [IsComplianceOfficer]

    class InputSerializer(_RecordInput):
        pass

    @extend_schema(tags=TAG, responses={200: ProcessingRecordSerializer, **ERRORS_READ})
    def get(self, request, pk):
        return self.present(get_object_or_404(_records(request), pk=pk), ProcessingRecordSerializer)

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, ProcessingRecordSerializer)
    )
    def put(self, request, pk):
        record = get_object_or_404(_records(request), pk=pk)
        record = services.processing_record_save(
            client=record.client, acting_user=request.user, **self.input(request)
        )
        return self.present(record, ProcessingRecordSerializer)


class ProcessingRecordCsvApi(Api):
    queryset = ProcessingRecord.objects.none()

    @extend_schema(tags=TAG, responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS_READ})
    def get(self, request, pk):
        """The record as CSV: section, item, detail, with the current sub-processors (art. 21.8)."""
        record = get_object_or_404(_records(request), pk=pk)
        response = HttpResponse(
            selectors.processing_record_csv(client=record.client),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="processing-record-{record.client_id}.csv"'
        )
        return response


# --- Assistance (art. 21.6) ----------------------------------------------------------------
ASSIST_TAG = ["assistance-requests"]


class AssistanceRequestListApi(Api):
    queryset = AssistanceRequest.objects.none()
    filterset_class = AssistanceRequestFilter
    write_permission_classes = [IsClientAdminOrComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(required=False, help_text="compliance officers only")
        kind = serializers.ChoiceField(choices=AssistanceRequest.Kind.choices)
        description = serializers.CharField(allow_blank=True)
        due_at = serializers.DateTimeField(required=False, allow_null=True)

    @extend_schema(
        tags=ASSIST_TAG, responses={200: AssistanceRequestSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        return self.paginated(
            selectors.assistance_request_list(user=request.user), AssistanceRequestSerializer
        )

    @extend_schema(
        tags=ASSIST_TAG,
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

    @extend_schema(tags=ASSIST_TAG, responses={200: AssistanceRequestSerializer, **ERRORS_READ})
    def get(self, request, pk):
        return self.present(
            selectors.assistance_request_get(user=request.user, pk=pk), AssistanceRequestSerializer
        )

    @extend_schema(
        tags=ASSIST_TAG,
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
