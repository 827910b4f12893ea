"""Query filters of the billing list endpoints. Scoping is done before, by the selectors; ids are
plain numbers (a choice filter would tell another client's id apart from a missing one)."""

import django_filters

from accounts.kernel.moments import bounded_datetime_filter
from billing.models import LimitIncreaseRequest, MessagePayment, UsageRecord


class UsageFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    channel = django_filters.ChoiceFilter(choices=UsageRecord.Channel.choices)
    prepaid = django_filters.BooleanFilter()
    occurred_after = bounded_datetime_filter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = bounded_datetime_filter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = UsageRecord
        fields = ["client", "channel", "prepaid"]


class LimitIncreaseRequestFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    status = django_filters.ChoiceFilter(choices=LimitIncreaseRequest.Status.choices)

    class Meta:
        model = LimitIncreaseRequest
        fields = ["client", "status"]


class MessagePaymentFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")

    class Meta:
        model = MessagePayment
        fields = ["client"]
