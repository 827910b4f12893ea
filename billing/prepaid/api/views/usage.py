"""Usage from the messaging platform (issue 3, section 2)."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api.views.base import ERRORS_READ, Api, responses
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.fields import MomentField
from billing.models import UsageRecord
from billing.prepaid import selectors
from billing.prepaid.services.usage import MAX_BATCH, usage_ingest

from ..filters import UsageFilter
from ..permissions import IsPlatform
from ..serializers import UsageBatchResultSerializer, UsageRecordSerializer


class UsageInputRecordSerializer(serializers.Serializer):
    """One usage record. Each record is checked on its own: a bad one is refused with its
    field, code and reason, and never fails the others."""

    # Documentation only: the service validates the records one by one, so that a bad record
    # is refused on its own instead of failing the batch.

    id = serializers.CharField(max_length=100, help_text="the record's own id: its idempotency key")
    client = serializers.IntegerField(help_text="the client's id")
    channel = serializers.ChoiceField(choices=UsageRecord.Channel.choices)
    message_count = serializers.IntegerField(min_value=0)
    amount = serializers.CharField(help_text='a decimal string, e.g. "0.05"; never a float')
    currency = serializers.CharField(
        required=False, help_text="optional; must be the client's currency"
    )
    occurred_at = MomentField(help_text="ISO 8601 with its UTC offset")
    recipient = serializers.CharField(required=False, max_length=64)


class UsageBatchInputSerializer(serializers.Serializer):
    records = UsageInputRecordSerializer(
        many=True, help_text=f"at most {MAX_BATCH:,}; a bare list is accepted too"
    )


# The docs' example (tests/portal/test_api_docs.py posts it and checks the answer): four records,
# one accepted, one sent before, two refused, each answered on its own.
USAGE_EXAMPLE_REQUEST = {
    "records": [
        {
            "id": "sms-2026-12-03-000101",
            "client": 1042,
            "channel": "sms",
            "message_count": 2,
            "amount": "0.10",
            "occurred_at": "2026-12-03T09:15:00+08:00",
            "recipient": "+8613800000000",
        },
        {
            "id": "sms-2026-12-03-000100",
            "client": 1042,
            "channel": "sms",
            "message_count": 1,
            "amount": "0.05",
            "occurred_at": "2026-12-03T09:14:58+08:00",
        },
        {
            "id": "sms-2026-12-03-000102",
            "client": 1042,
            "channel": "sms",
            "message_count": 1,
            "amount": 0.05,
            "occurred_at": "2026-12-03T09:15:02+08:00",
        },
        {
            "id": "wa-2026-12-03-000007",
            "client": 999999,
            "channel": "whatsapp",
            "message_count": 1,
            "amount": "0.30",
            "occurred_at": "2026-12-03T09:15:03+08:00",
        },
    ]
}
USAGE_EXAMPLE_RESPONSE = {
    "accepted": 1,
    "duplicate": 1,
    "refused": 2,
    "results": [
        {"id": "sms-2026-12-03-000101", "status": "accepted"},
        {"id": "sms-2026-12-03-000100", "status": "duplicate"},
        {
            "id": "sms-2026-12-03-000102",
            "status": "refused",
            "field": "amount",
            "code": "float",
            "reason": "Give the amount as a decimal string, never a floating point number.",
        },
        {
            "id": "wa-2026-12-03-000007",
            "status": "refused",
            "field": "client",
            "code": "unknown_client",
            "reason": "No client with id 999999.",
        },
    ],
}


class UsageApi(Api):
    queryset = UsageRecord.objects.none()
    filterset_class = UsageFilter
    write_permission_classes = [IsPlatform]

    @extend_schema(tags=["usage"], responses={200: UsageRecordSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """The client's usage records, newest first; staff see every client's (filter `client`)."""
        return self.paginated(selectors.usage_record_list(user=request.user), UsageRecordSerializer)

    @extend_schema(
        tags=["usage"],
        request=UsageBatchInputSerializer,
        responses=responses(200, UsageBatchResultSerializer),
        examples=[
            OpenApiExample(
                "A batch of four records",
                value=USAGE_EXAMPLE_REQUEST,
                request_only=True,
                description="The second record was sent in an earlier batch; the third "
                "carries its amount as a JSON number; the fourth names no client of yours.",
            ),
            OpenApiExample(
                "One verdict per record",
                value=USAGE_EXAMPLE_RESPONSE,
                response_only=True,
                status_codes=["200"],
                description="The batch is answered 200 even when records are refused: read "
                "each record's `status`. Send refused records again only once corrected; "
                "accepted and duplicate ones are done.",
            ),
        ],
    )
    def post(self, request):
        """The platform reports a batch of usage (API key, `Authorization: Api-Key <key>`).

        Each record is answered on its own: accepted, duplicate (its id was recorded before;
        nothing changes) or refused with the field, a code and the rule. Prepaid clients are
        debited (art. 29.2); postpaid messages count against the message limit (art. 26).
        Send at most 10,000 records a batch; a record's `id` is its idempotency key, so a
        batch that timed out is simply sent again. See the integrator guide (`/api/guide/`).
        """
        data = request.data
        records = data.get("records") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise ValidationFailed(
                {"records": [gettext('Send a list of records, or {"records": [...]}.')]}
            )
        if len(records) > MAX_BATCH:
            raise ValidationFailed(
                {
                    "records": [
                        gettext("Send at most %(max_batch)s records per batch.")
                        % {"max_batch": f"{MAX_BATCH:,}"}
                    ]
                }
            )
        results = usage_ingest(records=records, platform_user=request.user)
        counts = {"accepted": 0, "duplicate": 0, "refused": 0}
        for result in results:
            counts[result["status"]] += 1
        return Response({**counts, "results": results})
