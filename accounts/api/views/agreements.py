"""Agreements: term, notice and termination (art. 15)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import selectors
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

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """Give notice in writing: a client admin for the client, billing staff for the provider.

        The agreement ends no earlier than its initial term, and then on the notice period (art. 15.2).
        """
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        party = Agreement.Party.CLIENT if request.user.is_client_user else Agreement.Party.PROVIDER
        agreement = agreements.agreement_give_notice(
            agreement=agreement, party=party, acting_user=request.user, reason=data["reason"]
        )
        return self.present(agreement, AgreementSerializer)


class AgreementNoticeOfDefaultApi(Api):
    queryset = Agreement.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(
            allow_blank=True, help_text="the failure, in as much detail as possible"
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """A written notice of default; the client has ten working days to remedy it (art. 15.4)."""
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        agreement = agreements.agreement_notice_of_default(
            agreement=agreement, acting_user=request.user, text=data["text"]
        )
        return self.present(agreement, AgreementSerializer)


class AgreementTerminateApi(Api):
    queryset = Agreement.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True)
        immediate = serializers.BooleanField(
            default=False, help_text="art. 15.5 (insolvency, ...): no notice of default needed"
        )

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """Terminate for cause once the cure period has run out (art. 15.4), or at once (art. 15.5)."""
        agreement = selectors.scoped_get(_agreements(request), user=request.user, pk=pk)
        data = self.input(request)
        agreement = agreements.agreement_terminate_for_cause(
            agreement=agreement,
            acting_user=request.user,
            reason=data["reason"],
            immediate=data["immediate"],
        )
        return self.present(agreement, AgreementSerializer)
