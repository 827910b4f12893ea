"""Query filters of the data-processing list endpoints. Scoping is done before, by the selectors.

Ids are plain numbers, never model choices: a choice filter would answer 400 for an id that
does not exist and 200 for another client's, telling the two apart (tenant isolation).
"""

import django_filters

from accounts.kernel.moments import bounded_datetime_filter
from dataprocessing.models import (
    AssistanceRequest,
    AuditRequest,
    Breach,
    BreachNotification,
    DataSubjectRequest,
    ProcessingRecord,
    SubProcessor,
    SubProcessorChange,
)

_CLIENT = {"field_name": "client_id", "help_text": "client id (staff)"}


class SubProcessorFilter(django_filters.FilterSet):
    provider = django_filters.CharFilter(
        field_name="provider__code", help_text="provider code, e.g. cm-cn (staff)"
    )
    kind = django_filters.ChoiceFilter(choices=SubProcessor.Kind.choices)
    in_eea = django_filters.BooleanFilter()

    class Meta:
        model = SubProcessor
        fields = ["provider", "kind", "in_eea", "country"]


class SubProcessorChangeFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SubProcessorChange.Status.choices)
    provider = django_filters.CharFilter(field_name="provider__code", help_text="provider code")

    class Meta:
        model = SubProcessorChange
        fields = ["status", "provider", "kind"]


class AuditRequestFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(**_CLIENT)
    status = django_filters.ChoiceFilter(choices=AuditRequest.Status.choices)
    kind = django_filters.ChoiceFilter(choices=AuditRequest.Kind.choices)

    class Meta:
        model = AuditRequest
        fields = ["client", "status", "kind"]


class DataSubjectRequestFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(**_CLIENT)
    status = django_filters.ChoiceFilter(choices=DataSubjectRequest.Status.choices)
    type = django_filters.ChoiceFilter(choices=DataSubjectRequest.Type.choices)
    due_before = bounded_datetime_filter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = DataSubjectRequest
        fields = ["client", "status", "type", "received_by", "due_before"]


class BreachFilter(django_filters.FilterSet):
    provider = django_filters.CharFilter(field_name="provider__code", help_text="provider code")
    open = django_filters.BooleanFilter(
        field_name="closed_at", lookup_expr="isnull", help_text="not yet closed"
    )

    class Meta:
        model = Breach
        fields = ["provider", "open"]


class BreachNoticeFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(**_CLIENT)
    breach = django_filters.NumberFilter(field_name="breach_id", help_text="breach id")

    class Meta:
        model = BreachNotification
        fields = ["client", "breach"]


class ProcessingRecordFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(**_CLIENT)

    class Meta:
        model = ProcessingRecord
        fields = ["client"]


class AssistanceRequestFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(**_CLIENT)
    status = django_filters.ChoiceFilter(choices=AssistanceRequest.Status.choices)
    kind = django_filters.ChoiceFilter(choices=AssistanceRequest.Kind.choices)

    class Meta:
        model = AssistanceRequest
        fields = ["client", "status", "kind"]
