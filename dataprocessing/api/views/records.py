"""Records of processing per client (art. 21.8, 24), exportable as CSV."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import ERRORS_READ, Api, responses
from accounts.kernel.csv_export import csv_response
from accounts.kernel.permissions import IsComplianceOfficer
from accounts.selectors import client_get
from dataprocessing import selectors
from dataprocessing.models import ProcessingRecord
from dataprocessing.services import records as services

from ..filters import ProcessingRecordFilter
from ..serializers import ProcessingRecordSerializer

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


class ProcessingRecordListApi(Api):
    queryset = ProcessingRecord.objects.none()
    filterset_class = ProcessingRecordFilter
    write_permission_classes = [IsComplianceOfficer]

    class InputSerializer(_RecordInput):
        client = serializers.IntegerField()

    @extend_schema(tags=TAG, responses={200: ProcessingRecordSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """The records of processing, one per client, by client name (art. 21.8)."""
        return self.paginated(
            selectors.processing_record_list(user=request.user).order_by(
                "client__legal_name", "pk"
            ),
            ProcessingRecordSerializer,
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
        """One client's record of processing (art. 21.8)."""
        return self.present(
            selectors.processing_record_get(user=request.user, pk=pk), ProcessingRecordSerializer
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, ProcessingRecordSerializer)
    )
    def put(self, request, pk):
        """Replace the record of processing; the history keeps the earlier version (art. 21.8)."""
        record = selectors.processing_record_get(user=request.user, pk=pk)
        record = services.processing_record_save(
            client=record.client, acting_user=request.user, **self.input(request)
        )
        return self.present(record, ProcessingRecordSerializer)


class ProcessingRecordCsvApi(Api):
    queryset = ProcessingRecord.objects.none()

    @extend_schema(tags=TAG, responses={(200, "text/csv"): OpenApiTypes.STR, **ERRORS_READ})
    def get(self, request, pk):
        """The record as CSV: section, item, detail, with the current sub-processors (art. 21.8)."""
        record = selectors.processing_record_get(user=request.user, pk=pk)
        return csv_response(
            f"processing-record-{record.client_id}.csv",
            selectors.RECORD_EXPORT_HEADER,
            selectors.processing_record_export_rows(client=record.client),
        )
