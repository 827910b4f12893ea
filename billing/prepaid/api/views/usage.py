"""Usage from the messaging platform (issue 3, section 2)."""

from drf_spectacular.utils import extend_schema
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
    """One usage record (documentation only: records are validated one by one by the service)."""

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
    )
    def post(self, request):
        """The platform reports a batch of usage (API key, `Authorization: Api-Key <key>`).

        Each record is answered on its own: accepted, duplicate (its id was recorded before;
        nothing changes) or refused with the field, a code and the rule. Prepaid clients are
        debited (art. 29.2); postpaid messages count against the message limit (art. 26).
        """
        data = request.data
        records = data.get("records") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise ValidationFailed({"records": ['Send a list of records, or {"records": [...]}.']})
        if len(records) > MAX_BATCH:
            raise ValidationFailed({"records": [f"Send at most {MAX_BATCH:,} records per batch."]})
        results = usage_ingest(records=records, platform_user=request.user)
        counts = {"accepted": 0, "duplicate": 0, "refused": 0}
        for result in results:
            counts[result["status"]] += 1
        return Response({**counts, "results": results})
