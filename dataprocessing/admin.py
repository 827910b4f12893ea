"""Django admin for data processing. Rows whose changes carry a rule of the contract (audits, DSRs,
breaches, objections) are read-only here: they change through the services, via the portal.
Retention periods and the sub-processor register are edited here, with history."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    AssistanceRequest,
    AuditRequest,
    Breach,
    BreachNotification,
    DataSubjectRequest,
    DsrCallback,
    ProcessingRecord,
    RetentionPolicy,
    SubProcessor,
    SubProcessorChange,
    SubProcessorObjection,
)


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SubProcessor)
class SubProcessorAdmin(SimpleHistoryAdmin):
    # the model's constraint refuses an entry outside the EEA without a safeguard (art. 21.10)
    list_display = (
        "name",
        "provider",
        "kind",
        "country",
        "in_eea",
        "safeguard",
        "active_from",
        "active_to",
    )
    list_filter = ("provider", "kind", "in_eea")
    search_fields = ("name",)
    # Only an announced change's notice makes an entry active (GDPR art. 28(2), art. 21.9):
    # the admin shows active_from and never sets it (a posted value is ignored).
    readonly_fields = ("active_from",)


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(SimpleHistoryAdmin):
    list_display = ("provider", "category", "period_days")
    list_filter = ("provider",)


@admin.register(SubProcessorChange)
class SubProcessorChangeAdmin(ReadOnlyHistoryAdmin):
    list_display = ("sub_processor", "provider", "kind", "status", "announced_at", "effective_at")
    list_filter = ("provider", "status")


@admin.register(SubProcessorObjection)
class SubProcessorObjectionAdmin(ReadOnlyHistoryAdmin):
    list_display = ("change", "client", "status", "objected_at")
    list_filter = ("status",)


@admin.register(AuditRequest)
class AuditRequestAdmin(ReadOnlyHistoryAdmin):
    list_display = ("client", "kind", "status", "requested_at", "proposed_start", "earliest_start")
    list_filter = ("kind", "status")


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ReadOnlyHistoryAdmin):
    list_display = ("request_id", "client", "type", "status", "received_at", "due_at", "extended")
    list_filter = ("type", "status", "received_by")


@admin.register(DsrCallback)
class DsrCallbackAdmin(admin.ModelAdmin):
    list_display = (
        "request",
        "status",
        "url",
        "delivered",
        "attempts",
        "response_code",
        "attempted_at",
    )
    list_filter = ("delivered",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Breach)
class BreachAdmin(ReadOnlyHistoryAdmin):
    list_display = ("provider", "detected_at", "aware_at", "approx_subjects", "closed_at")
    list_filter = ("provider",)


@admin.register(BreachNotification)
class BreachNotificationAdmin(ReadOnlyHistoryAdmin):
    list_display = (
        "breach",
        "client",
        "deadline",
        "notified_at",
        "escalated_near_at",
        "escalated_missed_at",
    )


@admin.register(ProcessingRecord)
class ProcessingRecordAdmin(ReadOnlyHistoryAdmin):
    list_display = ("client", "updated_at")


@admin.register(AssistanceRequest)
class AssistanceRequestAdmin(ReadOnlyHistoryAdmin):
    list_display = ("client", "kind", "status", "requested_at", "due_at")
    list_filter = ("kind", "status")
