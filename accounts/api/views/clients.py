"""Clients (companies): list and detail for staff and the client's own users; staff decisions
on onboarding (approve, reject) and service (suspend, resume, art. 7)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts import selectors
from accounts.kernel.permissions import IsBillingStaff
from accounts.models import Client, Provider, Suspension
from accounts.services import agreements, onboarding

from ..filters import ClientFilter
from ..serializers import (
    ClientSerializer,
    DirectorSerializer,
    FieldChangeSerializer,
    UserSerializer,
)
from .base import ERRORS_READ, Api, responses

TAG = ["clients"]


class ClientListApi(Api):
    queryset = Client.objects.none()
    filterset_class = ClientFilter

    @extend_schema(tags=TAG, responses={200: ClientSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """Staff see every client; a client's users only their own."""
        return self.paginated(
            selectors.client_list(user=request.user, with_details=True), ClientSerializer
        )


class ClientDetailApi(Api):
    queryset = Client.objects.none()

    @extend_schema(tags=TAG, responses={200: ClientSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One client's registration details and status."""
        return self.present(selectors.client_detail(user=request.user, pk=pk), ClientSerializer)


class ClientHistoryApi(Api):
    queryset = Client.objects.none()

    @extend_schema(tags=TAG, responses={200: FieldChangeSerializer(many=True), **ERRORS_READ})
    def get(self, request, pk):
        """Every change of every registration field: who, when, old and new value (art. 5.5)."""
        client = selectors.client_get(user=request.user, pk=pk)
        return Response(
            FieldChangeSerializer(selectors.field_history(client=client), many=True).data
        )


class ClientApproveApi(Api):
    queryset = Client.objects.none()
    permission_classes = [IsBillingStaff]

    @extend_schema(tags=TAG, request=None, responses=responses(200, ClientSerializer))
    def post(self, request, pk):
        """Approve a pending client: it becomes active and its agreement starts (art. 15.1)."""
        client = selectors.client_get(user=request.user, pk=pk)
        onboarding.client_approve(client=client, acting_user=request.user)
        return self.present(selectors.client_detail(user=request.user, pk=pk), ClientSerializer)


class ClientRejectApi(Api):
    queryset = Client.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True, help_text="shown to the applicant")

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, ClientSerializer))
    def post(self, request, pk):
        """Refuse a pending registration, with a reason (art. 29.7)."""
        client = selectors.client_get(user=request.user, pk=pk)
        data = self.input(request)
        onboarding.client_reject(client=client, acting_user=request.user, reason=data["reason"])
        return self.present(selectors.client_detail(user=request.user, pk=pk), ClientSerializer)


class ClientSuspendApi(Api):
    queryset = Client.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        cause = serializers.ChoiceField(choices=Suspension.Cause.choices)
        reason = serializers.CharField(allow_blank=True, help_text="shown to the client (art. 7.1)")

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, ClientSerializer))
    def post(self, request, pk):
        """Suspend the service (art. 7.1); the client stays liable meanwhile (art. 7.2)."""
        client = selectors.client_get(user=request.user, pk=pk)
        data = self.input(request)
        agreements.client_suspend(
            client=client, cause=data["cause"], reason=data["reason"], acting_user=request.user
        )
        return self.present(selectors.client_detail(user=request.user, pk=pk), ClientSerializer)


class ClientResumeApi(Api):
    queryset = Client.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True)
        cause = serializers.ChoiceField(
            choices=Suspension.Cause.choices,
            required=False,
            help_text="end only this cause's suspension; all if left out",
        )
        activation_cost = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="activation costs charged to the client, excluding VAT (art. 7.3)",
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, ClientSerializer))
    def post(self, request, pk):
        """Resume the service once its reason is removed (art. 7.3), charging the activation
        costs given (on the next invoice, or an invoice of its own for a prepaid client)."""
        client = selectors.client_get(user=request.user, pk=pk)
        data = self.input(request)
        agreements.client_resume(
            client=client,
            acting_user=request.user,
            reason=data["reason"],
            cause=data.get("cause"),
            activation_cost=data.get("activation_cost"),
        )
        return self.present(selectors.client_detail(user=request.user, pk=pk), ClientSerializer)


class SignUpApi(Api):
    """A person signs up and registers its company; the client is pending until approved."""

    queryset = Client.objects.none()
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugRelatedField(slug_field="code", queryset=Provider.objects.all())
        email = serializers.CharField()
        password = serializers.CharField(write_only=True, style={"input_type": "password"})
        full_name = serializers.CharField(max_length=200)
        billing_mode = serializers.ChoiceField(
            choices=Client.BillingMode.choices, default=Client.BillingMode.POSTPAID
        )
        # The company (art. 5.5); the service checks each value and names the rule it breaks.
        legal_name = serializers.CharField(allow_blank=True)
        address = serializers.CharField(allow_blank=True)
        country = serializers.CharField(allow_blank=True, help_text="ISO 3166-1 alpha-2")
        registration_number = serializers.CharField(
            allow_blank=True,
            help_text="China: Unified Social Credit Code; the Netherlands: KvK number",
        )
        vat_number = serializers.CharField(allow_blank=True, required=False, default="")
        billing_email = serializers.CharField(allow_blank=True)
        directors = DirectorSerializer(
            many=True, help_text="directors authorised to sign (art. 5.5)"
        )

    class OutputSerializer(serializers.Serializer):
        user = UserSerializer()
        client = ClientSerializer()

    @extend_schema(
        tags=["sign-up"],
        request=InputSerializer,
        responses=responses(201, OutputSerializer),
        auth=[],
    )
    def post(self, request):
        data = dict(self.input(request))
        provider = data.pop("provider")
        person = {key: data.pop(key) for key in ("email", "password", "full_name", "billing_mode")}
        user = onboarding.client_sign_up(provider=provider, company=data, **person)
        client = selectors.client_list(with_details=True).get(pk=user.client_id)
        return self.present({"user": user, "client": client}, self.OutputSerializer, status=201)
