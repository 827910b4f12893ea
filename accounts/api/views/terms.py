"""Terms versions and where each client stands on them (art. 18.3)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import selectors
from accounts.kernel.permissions import IsBillingStaff, IsClientAdmin, IsProviderStaff
from accounts.models import Provider, TermsAcceptance, TermsVersion
from accounts.services import agreements, terms

from ..filters import TermsAcceptanceFilter, TermsVersionFilter
from ..serializers import AgreementSerializer, TermsAcceptanceSerializer, TermsVersionSerializer
from .base import ERRORS_READ, Api, responses


def _acceptances(request):
    return selectors.scoped(
        TermsAcceptance.objects.select_related("terms__provider", "decided_by"), user=request.user
    )


class TermsVersionListApi(Api):
    queryset = TermsVersion.objects.none()
    filterset_class = TermsVersionFilter
    write_permission_classes = [IsProviderStaff]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugRelatedField(slug_field="code", queryset=Provider.objects.all())
        version = serializers.CharField(allow_blank=True)
        summary = serializers.CharField(
            allow_blank=True, help_text="what changed; every active client is told"
        )
        document_url = serializers.URLField(required=False, allow_blank=True, default="")
        texts = serializers.DictField(
            child=serializers.CharField(allow_blank=True, max_length=200_000),
            required=False,
            default=dict,
            help_text="the text by language code (en, zh-hans, nl); cm-cn needs en and zh-hans (art. 18.6)",
        )

    @extend_schema(
        tags=["terms"], responses={200: TermsVersionSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """Staff see every version; a client's users their provider's published versions."""
        return self.paginated(
            selectors.terms_versions_visible_to(request.user), TermsVersionSerializer
        )

    @extend_schema(
        tags=["terms"], request=InputSerializer, responses=responses(201, TermsVersionSerializer)
    )
    def post(self, request):
        """Publish new terms; every active client is notified and may object within one month (art. 18.3)."""
        data = self.input(request)
        published = terms.terms_publish(
            provider=data["provider"],
            version=data["version"],
            summary=data["summary"],
            document_url=data["document_url"],
            texts=data["texts"],
            acting_user=request.user,
        )
        return self.present(published, TermsVersionSerializer, status=201)


class TermsVersionDetailApi(Api):
    queryset = TermsVersion.objects.none()

    @extend_schema(tags=["terms"], responses={200: TermsVersionSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One terms version with its text in each language offered (art. 18.6)."""
        return self.present(
            selectors.terms_version_get(user=request.user, pk=pk), TermsVersionSerializer
        )


class TermsAcceptanceListApi(Api):
    queryset = TermsAcceptance.objects.none()
    filterset_class = TermsAcceptanceFilter

    @extend_schema(
        tags=["terms"], responses={200: TermsAcceptanceSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """Which terms each client is on: pending (objection period running), accepted, objected."""
        return self.paginated(_acceptances(request), TermsAcceptanceSerializer)


class TermsAcceptanceDetailApi(Api):
    queryset = TermsAcceptance.objects.none()

    @extend_schema(tags=["terms"], responses={200: TermsAcceptanceSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One client's acceptance of a terms version: pending, accepted or objected (art. 18.3)."""
        return self.present(
            selectors.scoped_get(_acceptances(request), user=request.user, pk=pk),
            TermsAcceptanceSerializer,
        )


class TermsAcceptanceAcceptApi(Api):
    queryset = TermsAcceptance.objects.none()
    permission_classes = [IsClientAdmin]

    @extend_schema(
        tags=["terms"], request=None, responses=responses(200, TermsAcceptanceSerializer)
    )
    def post(self, request, pk):
        """A client admin accepts the new terms before the objection month ends (art. 18.3)."""
        acceptance = selectors.scoped_get(_acceptances(request), user=request.user, pk=pk)
        return self.present(
            terms.terms_accept(acceptance=acceptance, acting_user=request.user),
            TermsAcceptanceSerializer,
        )


class TermsAcceptanceObjectApi(Api):
    queryset = TermsAcceptance.objects.none()
    permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True, help_text="the objection, in writing")

    @extend_schema(
        tags=["terms"], request=InputSerializer, responses=responses(200, TermsAcceptanceSerializer)
    )
    def post(self, request, pk):
        """Object within the month; the previous terms still apply (art. 18.3)."""
        acceptance = selectors.scoped_get(_acceptances(request), user=request.user, pk=pk)
        data = self.input(request)
        acceptance = terms.terms_object(
            acceptance=acceptance, acting_user=request.user, reason=data["reason"]
        )
        return self.present(acceptance, TermsAcceptanceSerializer)


class TermsAcceptanceCancelAgreementApi(Api):
    queryset = TermsAcceptance.objects.none()
    permission_classes = [IsBillingStaff]

    @extend_schema(tags=["terms"], request=None, responses=responses(200, AgreementSerializer))
    def post(self, request, pk):
        """After an objection, cancel the client's agreement on one month's notice (art. 18.3)."""
        acceptance = selectors.scoped_get(_acceptances(request), user=request.user, pk=pk)
        agreement = agreements.agreement_cancel_after_objection(
            acceptance=acceptance, acting_user=request.user
        )
        return self.present(agreement, AgreementSerializer)
