"""Change requests of registration details (art. 5.5) and of the service (art. 5.3), and data
requests: an operator's for registration data (art. 5.6), the provider's for consent records
(art. 5.4, 20.1.2) and its compliance audits of the client (art. 5.7)."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from accounts import selectors
from accounts.kernel.permissions import (
    IsBillingStaff,
    IsClientAdmin,
    IsClientAdminOrStaff,
    IsProviderStaff,
)
from accounts.models import ChangeRequest, DataRequest
from accounts.services import change_requests, data_requests

from ..filters import ChangeRequestFilter, DataRequestFilter
from ..serializers import ChangeRequestSerializer, DataRequestSerializer, DirectorSerializer
from .base import ERRORS_READ, Api, client_for, responses


# --- Change requests (art. 5.5) ------------------------------------------------------------
class ChangeRequestListApi(Api):
    queryset = ChangeRequest.objects.none()
    filterset_class = ChangeRequestFilter
    write_permission_classes = [IsClientAdminOrStaff]

    class InputSerializer(serializers.Serializer):
        """Only the fields that change; the others keep their value."""

        client = serializers.IntegerField(
            required=False, help_text="staff only; a client admin's own client by default"
        )
        legal_name = serializers.CharField(required=False, allow_blank=True)
        address = serializers.CharField(required=False, allow_blank=True)
        country = serializers.CharField(required=False, allow_blank=True)
        registration_number = serializers.CharField(required=False, allow_blank=True)
        vat_number = serializers.CharField(required=False, allow_blank=True)
        billing_email = serializers.CharField(required=False, allow_blank=True)
        directors = DirectorSerializer(
            many=True, required=False, help_text="the full new list of directors"
        )

        def validate(self, attrs):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {unknown[0]: [gettext("This field cannot be changed by a change request.")]}
                )
            return attrs

    @extend_schema(
        tags=["change-requests"], responses={200: ChangeRequestSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """Changes of registration details passed on in writing, pending and decided (art. 5.5)."""
        return self.paginated(
            selectors.change_request_list(user=request.user), ChangeRequestSerializer
        )

    @extend_schema(
        tags=["change-requests"],
        request=InputSerializer,
        responses=responses(201, ChangeRequestSerializer),
    )
    def post(self, request):
        """A client admin passes a change of its registration details on in writing (art. 5.5)."""
        changes = dict(self.input(request))
        client = client_for(request, changes.pop("client", None))
        if "directors" in changes:
            changes["directors"] = [dict(d) for d in changes["directors"]]
        change_request = change_requests.change_request_submit(
            client=client, acting_user=request.user, changes=changes
        )
        return self.present(change_request, ChangeRequestSerializer, status=201)


class ChangeRequestDetailApi(Api):
    queryset = ChangeRequest.objects.none()

    @extend_schema(
        tags=["change-requests"], responses={200: ChangeRequestSerializer, **ERRORS_READ}
    )
    def get(self, request, pk):
        """One change request: the old and new values and its decision (art. 5.5)."""
        return self.present(
            selectors.scoped_get(ChangeRequest.objects.all(), user=request.user, pk=pk),
            ChangeRequestSerializer,
        )


class ServiceChangeRequestListApi(Api):
    queryset = ChangeRequest.objects.none()
    write_permission_classes = [IsClientAdminOrStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(
            required=False, help_text="staff only; a client admin's own client by default"
        )
        service = serializers.ChoiceField(choices=ChangeRequest.Service.choices)
        description = serializers.CharField(allow_blank=True, help_text="the change requested")
        wanted_from = serializers.DateField(
            required=False, allow_null=True, default=None, help_text="not in the past"
        )

    @extend_schema(
        tags=["change-requests"], responses={200: ChangeRequestSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """Changes to the service requested in writing, pending and decided (art. 5.3)."""
        return self.paginated(
            selectors.change_request_list(user=request.user, kind=ChangeRequest.Kind.SERVICE),
            ChangeRequestSerializer,
        )

    @extend_schema(
        tags=["change-requests"],
        request=InputSerializer,
        responses=responses(201, ChangeRequestSerializer),
    )
    def post(self, request):
        """A client admin requests a change to the service in writing (art. 5.3)."""
        data = dict(self.input(request))
        client = client_for(request, data.pop("client", None))
        change_request = change_requests.service_change_request_submit(
            client=client, acting_user=request.user, **data
        )
        return self.present(change_request, ChangeRequestSerializer, status=201)


class ChangeRequestAcceptApi(Api):
    queryset = ChangeRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="a change to the service (art. 5.3): what is agreed, required",
        )
        agreed_from = serializers.DateField(
            required=False,
            allow_null=True,
            default=None,
            help_text="a change to the service (art. 5.3): from when; the date wanted by default",
        )

    @extend_schema(
        tags=["change-requests"],
        request=InputSerializer,
        responses=responses(200, ChangeRequestSerializer),
    )
    def post(self, request, pk):
        """Accept: the new values apply, and the history records who and when (art. 5.5); a
        change to the service is agreed from `agreed_from` (art. 5.3)."""
        change_request = selectors.scoped_get(ChangeRequest.objects.all(), user=request.user, pk=pk)
        data = self.input(request)
        change_requests.change_request_accept(
            change_request=change_request,
            acting_user=request.user,
            note=data["note"],
            agreed_from=data["agreed_from"],
        )
        change_request.refresh_from_db()
        return self.present(change_request, ChangeRequestSerializer)


class ChangeRequestRejectApi(Api):
    queryset = ChangeRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(allow_blank=True, help_text="why; the client admin is told")

    @extend_schema(
        tags=["change-requests"],
        request=InputSerializer,
        responses=responses(200, ChangeRequestSerializer),
    )
    def post(self, request, pk):
        """Refuse a pending change request with a note; the client admin is told and the details stay as they were (art. 5.5)."""
        change_request = selectors.scoped_get(ChangeRequest.objects.all(), user=request.user, pk=pk)
        data = self.input(request)
        change_request = change_requests.change_request_reject(
            change_request=change_request, acting_user=request.user, note=data["note"]
        )
        return self.present(change_request, ChangeRequestSerializer)


# --- Data requests (art. 5.6) --------------------------------------------------------------
class DataRequestListApi(Api):
    queryset = DataRequest.objects.none()
    filterset_class = DataRequestFilter
    write_permission_classes = [IsProviderStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        kind = serializers.ChoiceField(
            choices=DataRequest.Kind.choices,
            default=DataRequest.Kind.REGISTRATION_DATA,
            help_text="registration_data (art. 5.6, an operator's or authority's), "
            "consent_records (art. 5.4, 20.1.2) or compliance_audit (art. 5.7)",
        )
        requested_by = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="registration data: the operator or authority asking",
        )
        description = serializers.CharField(allow_blank=True, help_text="the data requested")
        scope = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="compliance audit: its scope"
        )
        documents_requested = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="compliance audit: the documents asked",
        )
        working_days = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            help_text="the provider's own requests: working days to answer, 1 to 60 (art. 20.1.2)",
        )

    @extend_schema(
        tags=["data-requests"], responses={200: DataRequestSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """The client sees its requests with their deadline; staff see all, `overdue=true` for the late ones."""
        return self.paginated(selectors.data_request_list(user=request.user), DataRequestSerializer)

    @extend_schema(
        tags=["data-requests"],
        request=InputSerializer,
        responses=responses(201, DataRequestSerializer),
    )
    def post(self, request):
        """Staff log an operator's request, answered within 3 working days (art. 5.6), or send
        the provider's own, answered within the working days it sets (art. 5.4, 5.7, 20.1.2)."""
        data = self.input(request)
        client = selectors.client_get(user=request.user, pk=data["client"])
        if data["kind"] == DataRequest.Kind.REGISTRATION_DATA:
            data_request = data_requests.data_request_log(
                client=client,
                acting_user=request.user,
                requested_by=data["requested_by"],
                description=data["description"],
            )
        else:
            data_request = data_requests.provider_request_send(
                client=client,
                acting_user=request.user,
                kind=data["kind"],
                description=data["description"],
                scope=data["scope"],
                documents_requested=data["documents_requested"],
                working_days=data["working_days"],
            )
        return self.present(data_request, DataRequestSerializer, status=201)


class DataRequestDetailApi(Api):
    queryset = DataRequest.objects.none()

    @extend_schema(tags=["data-requests"], responses={200: DataRequestSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One request for registration details, with its deadline and the client's answer (art. 5.6)."""
        return self.present(
            selectors.scoped_get(DataRequest.objects.all(), user=request.user, pk=pk),
            DataRequestSerializer,
        )


class DataRequestAnswerApi(Api):
    queryset = DataRequest.objects.none()
    permission_classes = [IsClientAdmin]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        answer = serializers.CharField(allow_blank=True)
        documents = serializers.ListField(
            child=serializers.FileField(),
            required=False,
            default=list,
            help_text="the provider's own requests: PDF, PNG or JPEG documents (multipart)",
        )

    @extend_schema(
        tags=["data-requests"],
        request=InputSerializer,
        responses=responses(200, DataRequestSerializer),
    )
    def post(self, request, pk):
        """The client answers in the portal (art. 5.6), with the documents asked for the
        provider's own requests (art. 5.4, 5.7, 20.1.2)."""
        data_request = selectors.scoped_get(DataRequest.objects.all(), user=request.user, pk=pk)
        data = self.input(request)
        data_request = data_requests.data_request_answer(
            data_request=data_request,
            acting_user=request.user,
            answer=data["answer"],
            documents=data["documents"],
        )
        return self.present(data_request, DataRequestSerializer)


class DataRequestCloseApi(Api):
    queryset = DataRequest.objects.none()
    permission_classes = [IsProviderStaff]

    class InputSerializer(serializers.Serializer):
        findings = serializers.CharField(allow_blank=True, help_text="what the answer showed")

    @extend_schema(
        tags=["data-requests"],
        request=InputSerializer,
        responses=responses(200, DataRequestSerializer),
    )
    def post(self, request, pk):
        """Staff close the provider's answered request with their findings (art. 5.4, 5.7)."""
        data_request = selectors.scoped_get(DataRequest.objects.all(), user=request.user, pk=pk)
        data = self.input(request)
        data_request = data_requests.data_request_close(
            data_request=data_request, acting_user=request.user, findings=data["findings"]
        )
        return self.present(data_request, DataRequestSerializer)
