"""Change requests of registration details (art. 5.5) and data requests (art. 5.6)."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

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


class ChangeRequestAcceptApi(Api):
    queryset = ChangeRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["change-requests"],
        request=InputSerializer,
        responses=responses(200, ChangeRequestSerializer),
    )
    def post(self, request, pk):
        """Accept: the new values apply, and the history records who and when (art. 5.5)."""
        change_request = selectors.scoped_get(ChangeRequest.objects.all(), user=request.user, pk=pk)
        data = self.input(request)
        change_requests.change_request_accept(
            change_request=change_request, acting_user=request.user, note=data["note"]
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
        requested_by = serializers.CharField(
            allow_blank=True, help_text="the operator or authority asking"
        )
        description = serializers.CharField(allow_blank=True, help_text="the data requested")

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
        """Staff log a request; the client must answer within 3 working days (art. 5.6)."""
        data = self.input(request)
        client = selectors.client_get(user=request.user, pk=data["client"])
        data_request = data_requests.data_request_log(
            client=client,
            acting_user=request.user,
            requested_by=data["requested_by"],
            description=data["description"],
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

    class InputSerializer(serializers.Serializer):
        answer = serializers.CharField(allow_blank=True)

    @extend_schema(
        tags=["data-requests"],
        request=InputSerializer,
        responses=responses(200, DataRequestSerializer),
    )
    def post(self, request, pk):
        """The client answers in the portal (art. 5.6)."""
        data_request = selectors.scoped_get(DataRequest.objects.all(), user=request.user, pk=pk)
        data = self.input(request)
        data_request = data_requests.data_request_answer(
            data_request=data_request, acting_user=request.user, answer=data["answer"]
        )
        return self.present(data_request, DataRequestSerializer)
