"""Message limits (art. 26): the limit and its gauge, increase requests, staff changes, payments."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import selectors
from accounts.api.views.base import ERRORS_READ, Api, client_for, responses
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.idempotency import idempotent, request_key
from accounts.kernel.permissions import IsBillingStaff, IsClientAdmin
from billing.models import LimitIncreaseRequest, MessageAccount, MessagePayment
from billing.prepaid import selectors as prepaid_selectors
from billing.prepaid.services import limits

from ..filters import LimitIncreaseRequestFilter, MessagePaymentFilter
from ..serializers import (
    LimitChangeSerializer,
    LimitIncreaseRequestSerializer,
    MessageLimitDetailSerializer,
    MessageLimitSerializer,
    MessagePaymentSerializer,
)


# --- The limit (art. 26.1) -----------------------------------------------------------------
class MessageLimitListApi(Api):
    queryset = MessageAccount.objects.none()

    @extend_schema(
        tags=["message-limits"], responses={200: MessageLimitSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """Each client's limit and unpaid count; a client user sees its own (staff: all that have sent)."""
        page = self.paginate_queryset(prepaid_selectors.message_account_list(user=request.user))
        data = MessageLimitSerializer(
            [prepaid_selectors.message_limit_summary(account=a) for a in page], many=True
        ).data
        return self.get_paginated_response(data)


class MessageLimitDetailApi(Api):
    queryset = MessageAccount.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(help_text="the new limit, in messages")
        reason = serializers.CharField(
            allow_blank=True, help_text="why; the client is emailed (art. 26.2)"
        )

    @extend_schema(
        tags=["message-limits"], responses={200: MessageLimitDetailSerializer, **ERRORS_READ}
    )
    def get(self, request, client_id):
        """One client's limit, unpaid count and every change of the limit."""
        client = selectors.client_get(user=request.user, pk=client_id)
        return self.present(
            prepaid_selectors.message_limit_get(client=client), MessageLimitDetailSerializer
        )

    @extend_schema(
        tags=["message-limits"],
        request=InputSerializer,
        responses=responses(200, MessageLimitDetailSerializer),
    )
    def patch(self, request, client_id):
        """Billing staff change the limit at CM's initiative, with immediate effect; the client is emailed (art. 26.2)."""
        client = selectors.client_get(user=request.user, pk=client_id)
        data = self.input(request)
        limits.limit_change(
            client=client, new_limit=data["limit"], reason=data["reason"], acting_user=request.user
        )
        return self.present(
            prepaid_selectors.message_limit_get(client=client), MessageLimitDetailSerializer
        )


class MessageLimitChangeApi(Api):
    """The same change as PATCH, as an action (for forms and scripts that only POST)."""

    queryset = MessageAccount.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(help_text="the new limit, in messages")
        reason = serializers.CharField(
            allow_blank=True, help_text="why; the client is emailed (art. 26.2)"
        )

    @extend_schema(
        tags=["message-limits"],
        request=InputSerializer,
        responses=responses(201, LimitChangeSerializer),
    )
    def post(self, request, client_id):
        client = selectors.client_get(user=request.user, pk=client_id)
        data = self.input(request)
        change = limits.limit_change(
            client=client, new_limit=data["limit"], reason=data["reason"], acting_user=request.user
        )
        return self.present(change, LimitChangeSerializer, status=201)


# --- Limit increase requests (art. 26.2) ---------------------------------------------------
class LimitIncreaseRequestListApi(Api):
    queryset = LimitIncreaseRequest.objects.none()
    filterset_class = LimitIncreaseRequestFilter
    write_permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        requested_limit = serializers.IntegerField(
            help_text="the limit asked for; more than the current one"
        )
        reason = serializers.CharField(allow_blank=True, help_text="why the client needs it")

    @extend_schema(
        tags=["limit-increase-requests"],
        responses={200: LimitIncreaseRequestSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The client's requests; staff see the queue of every client (`status=pending`)."""
        return self.paginated(
            prepaid_selectors.limit_request_list(user=request.user), LimitIncreaseRequestSerializer
        )

    @extend_schema(
        tags=["limit-increase-requests"],
        request=InputSerializer,
        responses=responses(201, LimitIncreaseRequestSerializer),
    )
    def post(self, request):
        """A client admin asks for a higher limit; CM approves in writing or refuses (art. 26.2)."""
        data = self.input(request)
        client = client_for(request, None)
        created = limits.limit_increase_request(
            client=client,
            requested_limit=data["requested_limit"],
            reason=data["reason"],
            acting_user=request.user,
        )
        return self.present(created, LimitIncreaseRequestSerializer, status=201)


def _request_get(request, pk) -> LimitIncreaseRequest:
    return prepaid_selectors.limit_request_get(user=request.user, pk=pk)


class LimitIncreaseRequestDetailApi(Api):
    queryset = LimitIncreaseRequest.objects.none()

    @extend_schema(
        tags=["limit-increase-requests"],
        responses={200: LimitIncreaseRequestSerializer, **ERRORS_READ},
    )
    def get(self, request, pk):
        """One request for a higher message limit and its decision (art. 26.2)."""
        return self.present(_request_get(request, pk), LimitIncreaseRequestSerializer)


class LimitIncreaseRequestApproveApi(Api):
    queryset = LimitIncreaseRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="the written approval's note"
        )

    @extend_schema(
        tags=["limit-increase-requests"],
        request=InputSerializer,
        responses=responses(200, LimitIncreaseRequestSerializer),
    )
    def post(self, request, pk):
        """CM's written approval: who, when, note; the new limit applies at once and the client is emailed (art. 26.2)."""
        increase = _request_get(request, pk)
        data = self.input(request)
        limits.limit_increase_approve(request=increase, acting_user=request.user, note=data["note"])
        return self.present(_request_get(request, pk), LimitIncreaseRequestSerializer)


class LimitIncreaseRequestRefuseApi(Api):
    queryset = LimitIncreaseRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(allow_blank=True, help_text="why; the client is emailed")

    @extend_schema(
        tags=["limit-increase-requests"],
        request=InputSerializer,
        responses=responses(200, LimitIncreaseRequestSerializer),
    )
    def post(self, request, pk):
        """Refuse a pending request with a note; the limit stays and the client is emailed (art. 26.2)."""
        increase = _request_get(request, pk)
        data = self.input(request)
        limits.limit_increase_refuse(request=increase, acting_user=request.user, note=data["note"])
        return self.present(_request_get(request, pk), LimitIncreaseRequestSerializer)


# --- Payment of messages (art. 26.2) -------------------------------------------------------
class MessagePaymentListApi(Api):
    queryset = MessagePayment.objects.none()
    filterset_class = MessagePaymentFilter
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        messages = serializers.IntegerField(help_text="how many unpaid messages are now paid")
        reference = serializers.CharField(required=False, allow_blank=True, default="")
        idempotency_key = serializers.CharField(
            required=False, help_text="or the Idempotency-Key header; one of the two is required"
        )

    @extend_schema(
        tags=["message-payments"],
        responses={200: MessagePaymentSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Payments recorded against postpaid messages, newest first (art. 26.2)."""
        return self.paginated(
            prepaid_selectors.message_payment_list(user=request.user), MessagePaymentSerializer
        )

    @extend_schema(
        tags=["message-payments"],
        request=InputSerializer,
        responses=responses(201, MessagePaymentSerializer),
    )
    def post(self, request):
        """Billing staff record that messages are paid; the unpaid count falls (art. 26.2). Honours Idempotency-Key."""

        def handler():
            data = self.input(request)
            key = data.get("idempotency_key") or request_key(request)
            if not key:
                raise ValidationFailed(
                    {"idempotency_key": [gettext("Send an Idempotency-Key header.")]}
                )
            client = selectors.client_get(user=request.user, pk=data["client"])
            payment = limits.messages_paid_record(
                client=client,
                messages=data["messages"],
                reference=data["reference"],
                idempotency_key=key,
                acting_user=request.user,
            )
            return self.present(payment, MessagePaymentSerializer, status=201)

        return idempotent(request, handler)
