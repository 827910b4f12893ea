"""Output serializers shared by several endpoints (an action answers with the object it changed).

Input serializers live inside their view (HackSoft style); these only present rows.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.kernel.fields import MomentField
from accounts.models import (
    Agreement,
    ChangeRequest,
    Client,
    DataRequest,
    DataRequestDocument,
    Director,
    Invitation,
    Suspension,
    TermsAcceptance,
    TermsVersion,
    User,
)
from accounts.selectors import agreement_survival


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(
        allow_null=True, help_text="the input field, dotted for nested input"
    )
    article = serializers.CharField(
        required=False, help_text="the article of the terms, where one applies"
    )


class ErrorsSerializer(serializers.Serializer):
    """Every error of the API comes in this one shape."""

    errors = ErrorSerializer(many=True)


class DirectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Director
        fields = ["name", "title"]


class SuspensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Suspension
        fields = ["id", "cause", "reason", "started_at", "ended_at", "end_reason"]


class TermsVersionSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="code", read_only=True)
    texts = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text="the text by language code; where they differ the English prevails (art. 18.6)",
    )

    class Meta:
        model = TermsVersion
        fields = ["id", "provider", "version", "summary", "document_url", "texts", "published_at"]


class ClientSerializer(serializers.ModelSerializer):
    """A client company: its registration details, billing mode and status."""

    # As `selectors.client_list(with_details=True)` loads it.

    provider = serializers.SlugRelatedField(slug_field="code", read_only=True)
    directors = DirectorSerializer(many=True, read_only=True)
    is_suspended = serializers.BooleanField(read_only=True)
    open_suspensions = SuspensionSerializer(
        many=True, read_only=True, help_text="shown to the client (art. 7.1)"
    )
    agreement = serializers.IntegerField(source="agreement.pk", read_only=True, allow_null=True)
    current_terms = serializers.SerializerMethodField(
        help_text="the terms version the client is on (art. 18.3)"
    )

    class Meta:
        model = Client
        fields = [
            "id",
            "provider",
            "legal_name",
            "address",
            "country",
            "registration_number",
            "vat_number",
            "billing_email",
            "billing_mode",
            "status",
            "created_at",
            "approved_at",
            "rejection_reason",
            "directors",
            "is_suspended",
            "open_suspensions",
            "agreement",
            "current_terms",
        ]

    @extend_schema_field(TermsVersionSerializer(allow_null=True))
    def get_current_terms(self, client):
        accepted = client.accepted_terms
        return TermsVersionSerializer(accepted[0].terms).data if accepted else None


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)
    at = MomentField()
    by = serializers.CharField(help_text="email of who made the change, or 'system'")


class ChangeRequestSerializer(serializers.ModelSerializer):
    changes = serializers.JSONField(read_only=True, help_text='{"field": {"old": ..., "new": ...}}')
    submitted_by = serializers.EmailField(source="submitted_by.email", read_only=True)
    decided_by = serializers.EmailField(source="decided_by.email", read_only=True, allow_null=True)

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "client",
            "kind",
            "changes",
            "service",
            "description",
            "wanted_from",
            "agreed_from",
            "status",
            "submitted_by",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class DataRequestDocumentSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    uploaded_by = serializers.EmailField(source="uploaded_by.email", read_only=True)

    class Meta:
        model = DataRequestDocument
        fields = ["id", "name", "uploaded_by", "uploaded_at"]

    def get_name(self, document) -> str:
        return document.file.name.rsplit("/", 1)[-1]


class DataRequestSerializer(serializers.ModelSerializer):
    is_overdue = serializers.BooleanField(read_only=True)
    answered_late = serializers.BooleanField(
        read_only=True, help_text="answered after the deadline the request set"
    )
    answered_by = serializers.EmailField(
        source="answered_by.email", read_only=True, allow_null=True
    )
    closed_by = serializers.EmailField(source="closed_by.email", read_only=True, allow_null=True)
    documents = DataRequestDocumentSerializer(
        many=True,
        read_only=True,
        help_text="the client's documents; downloaded at /accounts/data-requests/{id}/documents/{document}/",
    )

    class Meta:
        model = DataRequest
        fields = [
            "id",
            "client",
            "kind",
            "requested_by",
            "description",
            "scope",
            "documents_requested",
            "response_working_days",
            "logged_at",
            "due_at",
            "status",
            "is_overdue",
            "answer",
            "answered_by",
            "answered_at",
            "answered_late",
            "documents",
            "findings",
            "closed_by",
            "closed_at",
        ]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "client", "is_active", "date_joined"]


class InvitationSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="code", read_only=True)
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "client",
            "provider",
            "role",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
        ]


class SurvivingArticleSerializer(serializers.Serializer):
    article = serializers.CharField()
    title = serializers.CharField()


class SurvivalSerializer(serializers.Serializer):
    articles = SurvivingArticleSerializer(many=True)
    confidentiality_until = serializers.DateField(
        help_text="the duty of confidentiality ends on this day, one year after the end (art. 11.1)"
    )


class AgreementSerializer(serializers.ModelSerializer):
    has_termination_evidence = serializers.SerializerMethodField(
        help_text="a document of evidence was recorded with the termination (art. 15.5)"
    )
    survival = serializers.SerializerMethodField(
        help_text="once terminated: what survives (art. 15.7) and when confidentiality ends (art. 11.1)"
    )

    @extend_schema_field(serializers.BooleanField())
    def get_has_termination_evidence(self, obj) -> bool:
        return bool(obj.termination_evidence)

    @extend_schema_field(SurvivalSerializer(allow_null=True))
    def get_survival(self, obj):
        survival = agreement_survival(agreement=obj)
        return SurvivalSerializer(survival).data if survival else None

    effective_payment_term_days = serializers.IntegerField(
        read_only=True,
        help_text="the agreement's payment term, else the profile's (art. 4.5)",
    )

    class Meta:
        model = Agreement
        fields = [
            "id",
            "client",
            "currency",
            "payment_term_days",
            "effective_payment_term_days",
            "start_date",
            "initial_term_months",
            "renewal_term_months",
            "notice_period_months",
            "current_term_end",
            "renewals",
            "status",
            "notice_given_at",
            "notice_given_by",
            "notice_reason",
            "end_date",
            "default_notice_at",
            "default_notice_by",
            "default_notice_text",
            "cure_deadline",
            "default_remedied_at",
            "terminated_at",
            "termination_ground",
            "terminated_by",
            "termination_reason",
            "termination_force_majeure",
            "has_termination_evidence",
            "survival",
        ]


class TermsAcceptanceSerializer(serializers.ModelSerializer):
    terms = TermsVersionSerializer(read_only=True)
    languages_shown = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="the language versions of the text the client's users were shown (art. 18.6)",
    )
    decided_by = serializers.EmailField(source="decided_by.email", read_only=True, allow_null=True)

    class Meta:
        model = TermsAcceptance
        fields = [
            "id",
            "client",
            "terms",
            "status",
            "notified_at",
            "objection_deadline",
            "decided_at",
            "decided_by",
            "objection_reason",
            "languages_shown",
        ]
