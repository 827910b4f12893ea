"""Audit requests (art. 21.7): a client admin (or a compliance officer on its behalf) asks for an
audit or for the certifications and security information; both sides agree the terms, the
auditor's confidentiality declaration is uploaded, the audit starts, the report is shared."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser

from accounts.api.views.base import ERRORS_READ, Api, client_for, responses
from accounts.kernel.fields import MomentField
from accounts.kernel.permissions import IsComplianceOfficer
from dataprocessing import selectors
from dataprocessing.models import AuditRequest
from dataprocessing.services import audits as services

from ..filters import AuditRequestFilter
from ..permissions import IsClientAdminOrComplianceOfficer
from ..serializers import AuditRequestSerializer

TAG = ["audit-requests"]


class AuditRequestListApi(Api):
    queryset = AuditRequest.objects.none()
    filterset_class = AuditRequestFilter
    write_permission_classes = [IsClientAdminOrComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(
            required=False,
            help_text="compliance officers only; a client admin's own client by default",
        )
        kind = serializers.ChoiceField(choices=AuditRequest.Kind.choices)
        proposed_start = serializers.DateField(
            required=False,
            allow_null=True,
            help_text="an audit: at least 10 working days after the request (art. 21.7.2)",
        )
        auditor_name = serializers.CharField(required=False, allow_blank=True, default="")
        auditor_firm = serializers.CharField(required=False, allow_blank=True, default="")
        auditor_accredited = serializers.BooleanField(
            default=False, help_text="declared: an accredited external expert (art. 21.7.2)"
        )
        auditor_not_competitor = serializers.BooleanField(
            default=False, help_text="declared: not a competitor of the provider (art. 21.7.1)"
        )
        requester_not_competitor = serializers.BooleanField(
            default=False,
            help_text=(
                "declared by the requester: not a competitor of the provider; required for "
                "certifications and security information (art. 21.7.1)"
            ),
        )
        scope = serializers.CharField(required=False, allow_blank=True, default="")
        requested_at = MomentField(
            required=False,
            allow_null=True,
            help_text="compliance officers: when a written request was received; now by default",
        )

    @extend_schema(tags=TAG, responses={200: AuditRequestSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """Audit and certification requests, with what each side agreed (art. 21.7)."""
        return self.paginated(
            selectors.audit_request_list(user=request.user), AuditRequestSerializer
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, AuditRequestSerializer)
    )
    def post(self, request):
        """Request an audit (at most once a year, art. 21.7.2) or the certifications (art. 21.7.1)."""
        data = dict(self.input(request))
        client = client_for(request, data.pop("client", None))
        audit = services.audit_request(client=client, acting_user=request.user, **data)
        return self.present(audit, AuditRequestSerializer, status=201)


class _AuditApi(Api):
    queryset = AuditRequest.objects.none()

    def audit(self, request, pk) -> AuditRequest:
        return selectors.audit_request_get(user=request.user, pk=pk)

    def answer(self, request, pk):
        return self.present(self.audit(request, pk), AuditRequestSerializer)


class AuditRequestDetailApi(_AuditApi):
    @extend_schema(tags=TAG, responses={200: AuditRequestSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One audit or certification request, with its agreed terms and documents (art. 21.7)."""
        return self.answer(request, pk)


class AuditRequestAgreeApi(_AuditApi):
    permission_classes = [IsClientAdminOrComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        scope = serializers.CharField(allow_blank=True)
        timing = serializers.CharField(allow_blank=True)
        duration_days = serializers.IntegerField(help_text="days")
        reimbursement_rate = serializers.DecimalField(
            max_digits=12, decimal_places=2, help_text="in the provider's currency"
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, AuditRequestSerializer)
    )
    def post(self, request, pk):
        """Record one side's agreement on scope, timing, duration and rate (art. 21.7.2); a client
        admin agrees for the client, a compliance officer for the provider."""
        audit = self.audit(request, pk)
        services.audit_agree(audit=audit, acting_user=request.user, **self.input(request))
        return self.answer(request, pk)


class _UploadApi(_AuditApi):
    permission_classes = [IsClientAdminOrComplianceOfficer]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()


class AuditRequestConfidentialityApi(_UploadApi):
    class InputSerializer(_UploadApi.InputSerializer):
        pass

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, AuditRequestSerializer)
    )
    def post(self, request, pk):
        """Upload the auditor's signed confidentiality declaration before the start (art. 21.7.3)."""
        audit = self.audit(request, pk)
        services.audit_upload_confidentiality(
            audit=audit, file=self.input(request)["file"], acting_user=request.user
        )
        return self.answer(request, pk)


class AuditRequestReportApi(_UploadApi):
    class InputSerializer(_UploadApi.InputSerializer):
        pass

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, AuditRequestSerializer)
    )
    def post(self, request, pk):
        """Share the auditor's report with the provider (art. 21.7.3)."""
        audit = self.audit(request, pk)
        services.audit_share_report(
            audit=audit, file=self.input(request)["file"], acting_user=request.user
        )
        return self.answer(request, pk)


class AuditRequestStartApi(_AuditApi):
    permission_classes = [IsComplianceOfficer]

    @extend_schema(tags=TAG, request=None, responses=responses(200, AuditRequestSerializer))
    def post(self, request, pk):
        """Start: terms agreed by both, declaration uploaded, notice run (art. 21.7.2, 21.7.3)."""
        services.audit_start(audit=self.audit(request, pk), acting_user=request.user)
        return self.answer(request, pk)


class AuditRequestCompleteApi(_AuditApi):
    permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        hours_spent = serializers.CharField(
            required=False,
            allow_blank=True,
            help_text="the provider's time on an audit, reimbursed at the agreed rate (21.7.2)",
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, AuditRequestSerializer)
    )
    def post(self, request, pk):
        """Close an audit once its report is shared, or an information request once answered;
        an audit's hours are charged to the client at the agreed rate (art. 21.7.2)."""
        services.audit_complete(
            audit=self.audit(request, pk),
            acting_user=request.user,
            hours_spent=self.input(request).get("hours_spent"),
        )
        return self.answer(request, pk)


class AuditRequestRefuseApi(_AuditApi):
    permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True, help_text="the client is told")

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, AuditRequestSerializer)
    )
    def post(self, request, pk):
        """Refuse a request that does not meet art. 21.7, with the reason."""
        audit = self.audit(request, pk)
        services.audit_refuse(
            audit=audit, acting_user=request.user, reason=self.input(request)["reason"]
        )
        return self.answer(request, pk)


class AuditRequestCancelApi(_AuditApi):
    permission_classes = [IsClientAdminOrComplianceOfficer]

    @extend_schema(tags=TAG, request=None, responses=responses(200, AuditRequestSerializer))
    def post(self, request, pk):
        """The client withdraws a request not yet started."""
        services.audit_cancel(audit=self.audit(request, pk), acting_user=request.user)
        return self.answer(request, pk)


class AuditRequestDeclareApi(_AuditApi):
    permission_classes = [IsClientAdminOrComplianceOfficer]

    @extend_schema(tags=TAG, request=None, responses=responses(200, AuditRequestSerializer))
    def post(self, request, pk):
        """The requester declares it is not a competitor of the provider (art. 21.7.1), before the
        certifications and security information are released."""
        services.audit_declare_not_competitor(
            audit=self.audit(request, pk), acting_user=request.user
        )
        return self.answer(request, pk)
