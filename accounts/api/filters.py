"""Query filters of the list endpoints (django-filter). Scoping is done before, by the selectors.

Ids are plain numbers, never model choices: a choice filter would answer 400 for an id that
does not exist and 200 for another client's, telling the two apart (tenant isolation).
"""

import django_filters

from accounts.models import (
    Agreement,
    ChangeRequest,
    Client,
    DataRequest,
    Invitation,
    TermsAcceptance,
    TermsVersion,
    User,
)


class ClientFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Client.Status.choices)
    provider = django_filters.CharFilter(
        field_name="provider__code", help_text="provider code, e.g. cm-cn"
    )
    q = django_filters.CharFilter(
        field_name="legal_name", lookup_expr="icontains", help_text="part of the legal name"
    )

    class Meta:
        model = Client
        fields = ["status", "provider", "billing_mode", "country"]


class ChangeRequestFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    status = django_filters.ChoiceFilter(choices=ChangeRequest.Status.choices)
    kind = django_filters.ChoiceFilter(
        choices=ChangeRequest.Kind.choices,
        help_text="registration details (art. 5.5) or the service (art. 5.3)",
    )

    class Meta:
        model = ChangeRequest
        fields = ["status", "client", "kind"]


class DataRequestFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    status = django_filters.ChoiceFilter(choices=DataRequest.Status.choices)
    kind = django_filters.ChoiceFilter(choices=DataRequest.Kind.choices)
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        help_text="open requests past their deadline (art. 5.6: 3 working days; art. 5.4, 5.7, "
        "20.1.2: the request's own)",
    )

    class Meta:
        model = DataRequest
        fields = ["status", "client", "kind", "overdue"]

    def filter_overdue(self, queryset, name, value):
        late = DataRequest.overdue_q()
        return queryset.filter(late) if value else queryset.exclude(late)


class UserFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    role = django_filters.ChoiceFilter(choices=[(r.value, r.label) for r in User.CLIENT_ROLES])

    class Meta:
        model = User
        fields = ["role", "client", "is_active"]


class InvitationFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    pending = django_filters.BooleanFilter(
        field_name="accepted_at", lookup_expr="isnull", help_text="not yet accepted"
    )

    class Meta:
        model = Invitation
        fields = ["client", "pending"]


class AgreementFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    status = django_filters.ChoiceFilter(choices=Agreement.Status.choices)

    class Meta:
        model = Agreement
        fields = ["status", "client"]


class TermsVersionFilter(django_filters.FilterSet):
    provider = django_filters.CharFilter(
        field_name="provider__code", help_text="provider code, e.g. cm-cn"
    )

    class Meta:
        model = TermsVersion
        fields = ["provider"]


class TermsAcceptanceFilter(django_filters.FilterSet):
    client = django_filters.NumberFilter(field_name="client_id", help_text="client id (staff)")
    status = django_filters.ChoiceFilter(choices=TermsAcceptance.Status.choices)
    terms = django_filters.NumberFilter(field_name="terms_id", help_text="terms version id")

    class Meta:
        model = TermsAcceptance
        fields = ["status", "client", "terms"]
