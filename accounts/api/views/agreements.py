"""Agreements: term, notice and termination (art. 15)."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from accounts import selectors
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.permissions import IsBillingStaff, IsClientAdminOrBillingStaff
from accounts.models import Agreement
from accounts.services import agreements

from ..filters import AgreementFilter
from ..serializers import AgreementSerializer
from .base import ERRORS_READ, Api, responses

TAG = ["agreements"]


def _agreements(request):
    return selectors.scoped(Agreement.objects.select_related("client__provider"), user=request.user)


class AgreementListApi(Api):
    queryset = Agreement.objects.none()
    filterset_class = AgreementFilter

    @extend_schema(tags=TAG, responses={200: AgreementSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """The agreements you may see: a client's users their own, staff every client's of their provider(s)."""
        return self.paginated(_agreements(request), AgreementSerializer)


class AgreementDetailApi(Api):
    queryset = Agreement.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        currency = serializers.CharField(
            help_text="the agreed currency, ISO 4217 (art. 4.1; CX 3 default USD)"
        )
        payment_term_days = serializers.IntegerField(
            allow_null=True,
            help_text="days after the invoice date; null: the profile's 14 days (art. 4.5)",
        )

    @extend_schema(tags=TAG, responses={200: AgreementSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One agreement: its term, renewal, notice period and status (art. 15.1-15.2), its
        agreed currency and payment term (art. 4.1, 4.5)."""
        return self.present(
            selectors.scoped_get(_agreements(request), user=request.user, pk=pk),
            AgreementSerializer,
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def patch(self, request, pk):
        """Billing staff record the agreed currency and payment term (art. 4.1, 4.5; CX 3).

        Invoices drafted from now on, the wallet and prices follow the currency; invoices
        issued from now on fall due after the term (null: the profile's 14 days)."""
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        agreement = agreements.agreement_commercial_terms_set(
            agreement=agreement,
            currency=data["currency"],
            payment_term_days=data["payment_term_days"],
            acting_user=request.user,
        )
        return self.present(agreement, AgreementSerializer)


class AgreementGiveNoticeApi(Api):
    queryset = Agreement.objects.none()
    permission_classes = [IsClientAdminOrBillingStaff]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, default="")
        end_date = serializers.DateField(
            required=False,
            allow_null=True,
            default=None,
            help_text="a prepaid client's chosen last day (art. 29.6); none: at once",
        )
        request_restitution = serializers.BooleanField(
            default=False,
            help_text="a prepaid client asks for its remaining unexpired credit (art. 29.6)",
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """Give notice in writing: a client admin for the client, billing staff for the provider.

        The agreement ends no earlier than its initial term, and then on the notice period
        (art. 15.2). A prepaid client terminates at any time instead (art. 29.6): on the
        `end_date` it gives or at once, and may ask for restitution of its remaining credit.
        """
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        party = Agreement.Party.CLIENT if request.user.is_client_user else Agreement.Party.PROVIDER
        agreement = agreements.agreement_give_notice(
            agreement=agreement,
            party=party,
            acting_user=request.user,
            reason=data["reason"],
            end_date=data["end_date"],
            request_restitution=data["request_restitution"],
        )
        return self.present(agreement, AgreementSerializer)


class AgreementNoticeOfDefaultApi(Api):
    queryset = Agreement.objects.none()
    permission_classes = [IsClientAdminOrBillingStaff]

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(
            allow_blank=True, help_text="the failure, in as much detail as possible"
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """A written notice of default by either party: a client admin for the client, billing
        staff for the provider; the other party has ten working days to remedy it (art. 15.4).
        The answer carries the `cure_deadline`."""
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        agreement = agreements.agreement_notice_of_default(
            agreement=agreement, acting_user=request.user, text=data["text"]
        )
        return self.present(agreement, AgreementSerializer)


class AgreementDefaultRemediedApi(Api):
    queryset = Agreement.objects.none()
    permission_classes = [IsClientAdminOrBillingStaff]

    @extend_schema(tags=TAG, request=None, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """The party that sent the notice of default records the failure as remedied; no
        termination for cause follows from that notice (art. 15.4)."""
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        agreement = agreements.agreement_default_remedied(
            agreement=agreement, acting_user=request.user
        )
        return self.present(agreement, AgreementSerializer)


class AgreementTerminateApi(Api):
    queryset = Agreement.objects.none()
    permission_classes = [IsClientAdminOrBillingStaff]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        ground = serializers.ChoiceField(
            choices=[(g.value, g.label) for g in agreements.FOR_CAUSE],
            default=Agreement.Ground.DEFAULT,
            help_text="art. 15.4 (after the cure period) or a ground of art. 15.5 (at once)",
        )
        reason = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="the cause and its evidence"
        )
        evidence = serializers.FileField(
            required=False, allow_null=True, default=None, help_text="PDF, PNG or JPEG"
        )
        force_majeure = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            help_text="the situation's id, for art. 15.5(b)",
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """Terminate for cause, by either party: after one's own notice of default once its cure
        period has run out (art. 15.4), or at once on a ground of art. 15.5 with its evidence.
        Open invoices become payable at once (art. 15.6)."""
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        situation = None
        if data["force_majeure"]:
            situation = selectors.force_majeure_for_termination(
                user=request.user, pk=data["force_majeure"]
            )
            if situation is None:
                raise ValidationFailed(
                    {"force_majeure": [gettext("No situation of force majeure with this number.")]}
                )
        agreement = agreements.agreement_terminate_for_cause(
            agreement=agreement,
            acting_user=request.user,
            ground=data["ground"],
            reason=data["reason"],
            evidence=data["evidence"],
            force_majeure=situation,
        )
        return self.present(agreement, AgreementSerializer)


class AgreementTerminateEconomicApi(Api):
    queryset = Agreement.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        substantiation = serializers.CharField(
            allow_blank=True, help_text="why further execution cannot reasonably be expected"
        )
        end_date = serializers.DateField(
            required=False, allow_null=True, default=None, help_text="the last day; none: today"
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """The provider terminates on economic grounds, announced and substantiated in writing
        to the client (art. 15.3)."""
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        agreement = agreements.agreement_terminate_economic(
            agreement=agreement,
            acting_user=request.user,
            substantiation=data["substantiation"],
            end_date=data["end_date"],
        )
        return self.present(agreement, AgreementSerializer)
