"""Output serializers of the data-processing API (an action answers with the object it changed).

Input serializers live inside their view (HackSoft style); these only present rows. Uploaded
files are shown by name only: the documents themselves are not served through the API.
"""

import os

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.kernel.fields import MomentField
from dataprocessing.models import (
    AssistanceRequest,
    AuditRequest,
    Breach,
    BreachNotification,
    BreachUpdate,
    DataSubjectRequest,
    ProcessingRecord,
    SubProcessor,
    SubProcessorChange,
    SubProcessorObjection,
)


class FileNameField(serializers.Field):
    """The base name of an uploaded file, or null when none is uploaded."""

    def to_representation(self, value):
        return os.path.basename(value.name) if value else None


def _email(source: str) -> serializers.EmailField:
    return serializers.EmailField(source=f"{source}.email", read_only=True, allow_null=True)


# --- Sub-processors (art. 21.9, 21.10) -----------------------------------------------------
class SubProcessorSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="code", read_only=True)
    agreement_document = extend_schema_field({"type": "string", "nullable": True})(FileNameField)(
        read_only=True
    )

    class Meta:
        model = SubProcessor
        fields = [
            "id",
            "provider",
            "name",
            "kind",
            "country",
            "services",
            "agreement_date",
            "agreement_document",
            "in_eea",
            "safeguard",
            "active_from",
            "active_to",
        ]
        extra_kwargs = {
            "active_from": {
                "read_only": True,
                "help_text": "set when an announced change's notice has run (GDPR 28(2), art. 21.9)",
            }
        }


class SubProcessorObjectionSerializer(serializers.ModelSerializer):
    objected_by = _email("objected_by")
    resolved_by = _email("resolved_by")

    class Meta:
        model = SubProcessorObjection
        fields = [
            "id",
            "change",
            "client",
            "objected_by",
            "objected_at",
            "reason",
            "status",
            "decision",
            "resolution",
            "resolved_by",
            "resolved_at",
        ]


class SubProcessorChangeSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="code", read_only=True)
    sub_processor = SubProcessorSerializer(read_only=True)
    replaces = SubProcessorSerializer(read_only=True, allow_null=True)
    objections = serializers.SerializerMethodField(
        help_text="staff see every client's objection; a client only its own (GDPR 28(2))"
    )

    class Meta:
        model = SubProcessorChange
        fields = [
            "id",
            "provider",
            "kind",
            "sub_processor",
            "replaces",
            "description",
            "announced_at",
            "effective_at",
            "status",
            "objections",
        ]

    @extend_schema_field(SubProcessorObjectionSerializer(many=True))
    def get_objections(self, change):
        request = self.context.get("request")
        objections = change.objections.all()
        if request is None or not request.user.is_provider_staff:
            client_id = getattr(getattr(request, "user", None), "client_id", None)
            objections = [o for o in objections if o.client_id == client_id]
        return SubProcessorObjectionSerializer(objections, many=True).data


# --- Audits (art. 21.7) --------------------------------------------------------------------
class AuditRequestSerializer(serializers.ModelSerializer):
    requested_by = _email("requested_by")
    client_agreed_by = _email("client_agreed_by")
    provider_agreed_by = _email("provider_agreed_by")
    status_changed_by = _email("status_changed_by")
    confidentiality_declaration = extend_schema_field({"type": "string", "nullable": True})(
        FileNameField
    )(read_only=True, help_text="the auditor's signed declaration (art. 21.7.3), by file name")
    report = extend_schema_field({"type": "string", "nullable": True})(FileNameField)(
        read_only=True, help_text="the auditor's report, shared with the provider (art. 21.7.3)"
    )

    class Meta:
        model = AuditRequest
        fields = [
            "id",
            "client",
            "kind",
            "status",
            "requested_by",
            "requested_at",
            "on_behalf_of_client",
            "proposed_start",
            "earliest_start",
            "auditor_name",
            "auditor_firm",
            "auditor_accredited",
            "auditor_not_competitor",
            "requester_not_competitor",
            "requester_declared_at",
            "scope",
            "timing",
            "duration_days",
            "reimbursement_rate",
            "reimbursement_currency",
            "hours_spent",
            "client_agreed_at",
            "client_agreed_by",
            "provider_agreed_at",
            "provider_agreed_by",
            "confidentiality_declaration",
            "report",
            "report_shared_at",
            "status_changed_at",
            "status_changed_by",
            "refusal_reason",
        ]


# --- Data-subject requests (art. 21.5) -----------------------------------------------------
class DataSubjectRequestSerializer(serializers.ModelSerializer):
    logged_by = _email("logged_by")
    instructed_by = _email("instructed_by")
    completed_by = _email("completed_by")
    is_paused = serializers.BooleanField(
        read_only=True, help_text="waiting on the subject's identity check"
    )
    is_overdue = serializers.BooleanField(
        read_only=True,
        help_text="open, not paused and past its deadline (GDPR art. 12(3))",
    )

    class Meta:
        model = DataSubjectRequest
        fields = [
            "id",
            "request_id",
            "client",
            "type",
            "received_by",
            "subject_reference",
            "received_at",
            "logged_by",
            "due_at",
            "is_overdue",
            "extended",
            "extension_reason",
            "extension_told_at",
            "is_paused",
            "identity_check_since",
            "paused_seconds",
            "status",
            "instruction",
            "instruction_note",
            "instructed_at",
            "instructed_by",
            "action_taken",
            "completed_at",
            "completed_by",
            "assistance_cost",
            "assistance_cost_currency",
            "status_callback_url",
        ]


# --- Breaches (art. 21.11) -----------------------------------------------------------------
class BreachUpdateSerializer(serializers.ModelSerializer):
    created_by = _email("created_by")

    class Meta:
        model = BreachUpdate
        fields = ["id", "text", "created_at", "created_by"]


class BreachNotificationSerializer(serializers.ModelSerializer):
    """One affected client's notice as staff see it, with the time left to the deadline."""

    client_name = serializers.CharField(source="client.legal_name", read_only=True)
    notified_by = _email("notified_by")
    seconds_left = serializers.SerializerMethodField(
        help_text="seconds to the 48-hour deadline (negative once missed); null once notified"
    )

    class Meta:
        model = BreachNotification
        fields = [
            "id",
            "client",
            "client_name",
            "deadline",
            "seconds_left",
            "notified_at",
            "notified_by",
            "message",
            "escalated_near_at",
            "escalated_missed_at",
        ]

    def get_seconds_left(self, notice) -> int | None:
        left = notice.seconds_left()
        return None if left is None else int(left)


class BreachSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="code", read_only=True)
    logged_by = _email("logged_by")
    notifications = BreachNotificationSerializer(many=True, read_only=True)
    updates = BreachUpdateSerializer(many=True, read_only=True)

    class Meta:
        model = Breach
        fields = [
            "id",
            "provider",
            "detected_at",
            "aware_at",
            "description",
            "data_types",
            "approx_subjects",
            "measures",
            "root_cause",
            "logged_by",
            "logged_at",
            "closed_at",
            "notifications",
            "updates",
        ]


class BreachNoticeSerializer(serializers.ModelSerializer):
    """A client's own notice of a breach: what the provider has told it (art. 21.11)."""

    breach = serializers.IntegerField(source="breach_id", read_only=True)
    detected_at = MomentField(source="breach.detected_at", read_only=True)
    aware_at = MomentField(source="breach.aware_at", read_only=True)
    description = serializers.CharField(source="breach.description", read_only=True)
    data_types = serializers.CharField(source="breach.data_types", read_only=True)
    approx_subjects = serializers.IntegerField(source="breach.approx_subjects", read_only=True)
    measures = serializers.CharField(source="breach.measures", read_only=True)
    root_cause = serializers.CharField(source="breach.root_cause", read_only=True)
    updates = BreachUpdateSerializer(source="breach.updates", many=True, read_only=True)

    class Meta:
        model = BreachNotification
        fields = [
            "id",
            "breach",
            "client",
            "deadline",
            "notified_at",
            "message",
            "detected_at",
            "aware_at",
            "description",
            "data_types",
            "approx_subjects",
            "measures",
            "root_cause",
            "updates",
        ]


# --- Records of processing (art. 21.8, 24) -------------------------------------------------
class ProcessingRecordSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.legal_name", read_only=True)

    class Meta:
        model = ProcessingRecord
        fields = [
            "id",
            "client",
            "client_name",
            "subject_categories",
            "data_types",
            "purposes",
            "transfers",
            "retention",
            "toms_reference",
            "updated_at",
        ]


# --- Assistance (art. 21.6) ----------------------------------------------------------------
class AssistanceRequestSerializer(serializers.ModelSerializer):
    requested_by = _email("requested_by")

    class Meta:
        model = AssistanceRequest
        fields = [
            "id",
            "client",
            "kind",
            "description",
            "requested_by",
            "requested_at",
            "due_at",
            "status",
            "outcome",
            "assistance_cost",
            "assistance_cost_currency",
        ]
