"""The data-processing API (Part II, art. 19–24), included under /api/v1/ by portal.urls."""

from django.urls import path

from .views import assistance, audits, breaches, dsrs, records, sub_processors

urlpatterns = [
    # sub-processors (art. 21.9, 21.10; GDPR 28(2))
    path(
        "sub-processors/",
        sub_processors.SubProcessorListApi.as_view(),
        name="api-sub-processor-list",
    ),
    path(
        "sub-processors/<int:pk>/",
        sub_processors.SubProcessorDetailApi.as_view(),
        name="api-sub-processor-detail",
    ),
    path(
        "sub-processor-changes/",
        sub_processors.SubProcessorChangeListApi.as_view(),
        name="api-sub-processor-change-list",
    ),
    path(
        "sub-processor-changes/<int:pk>/",
        sub_processors.SubProcessorChangeDetailApi.as_view(),
        name="api-sub-processor-change-detail",
    ),
    path(
        "sub-processor-changes/<int:pk>/object/",
        sub_processors.SubProcessorChangeObjectApi.as_view(),
        name="api-sub-processor-change-object",
    ),
    path(
        "sub-processor-changes/<int:pk>/withdraw/",
        sub_processors.SubProcessorChangeWithdrawApi.as_view(),
        name="api-sub-processor-change-withdraw",
    ),
    path(
        "sub-processor-objections/<int:pk>/resolve/",
        sub_processors.SubProcessorObjectionResolveApi.as_view(),
        name="api-sub-processor-objection-resolve",
    ),
    # audits (art. 21.7)
    path("audit-requests/", audits.AuditRequestListApi.as_view(), name="api-audit-request-list"),
    path(
        "audit-requests/<int:pk>/",
        audits.AuditRequestDetailApi.as_view(),
        name="api-audit-request-detail",
    ),
    path(
        "audit-requests/<int:pk>/agree/",
        audits.AuditRequestAgreeApi.as_view(),
        name="api-audit-request-agree",
    ),
    path(
        "audit-requests/<int:pk>/confidentiality/",
        audits.AuditRequestConfidentialityApi.as_view(),
        name="api-audit-request-confidentiality",
    ),
    path(
        "audit-requests/<int:pk>/start/",
        audits.AuditRequestStartApi.as_view(),
        name="api-audit-request-start",
    ),
    path(
        "audit-requests/<int:pk>/report/",
        audits.AuditRequestReportApi.as_view(),
        name="api-audit-request-report",
    ),
    path(
        "audit-requests/<int:pk>/complete/",
        audits.AuditRequestCompleteApi.as_view(),
        name="api-audit-request-complete",
    ),
    path(
        "audit-requests/<int:pk>/refuse/",
        audits.AuditRequestRefuseApi.as_view(),
        name="api-audit-request-refuse",
    ),
    path(
        "audit-requests/<int:pk>/cancel/",
        audits.AuditRequestCancelApi.as_view(),
        name="api-audit-request-cancel",
    ),
    path(
        "audit-requests/<int:pk>/declare/",
        audits.AuditRequestDeclareApi.as_view(),
        name="api-audit-request-declare",
    ),
    # data-subject requests (art. 21.5)
    path("data-subject-requests/", dsrs.DataSubjectRequestListApi.as_view(), name="api-dsr-list"),
    path(
        "data-subject-requests/<int:pk>/",
        dsrs.DataSubjectRequestDetailApi.as_view(),
        name="api-dsr-detail",
    ),
    path(
        "data-subject-requests/<int:pk>/instruct/",
        dsrs.DataSubjectRequestInstructApi.as_view(),
        name="api-dsr-instruct",
    ),
    path(
        "data-subject-requests/<int:pk>/record-action/",
        dsrs.DataSubjectRequestRecordActionApi.as_view(),
        name="api-dsr-record-action",
    ),
    path(
        "data-subject-requests/<int:pk>/extend/",
        dsrs.DataSubjectRequestExtendApi.as_view(),
        name="api-dsr-extend",
    ),
    path(
        "data-subject-requests/<int:pk>/pause/",
        dsrs.DataSubjectRequestPauseApi.as_view(),
        name="api-dsr-pause",
    ),
    path(
        "data-subject-requests/<int:pk>/resume/",
        dsrs.DataSubjectRequestResumeApi.as_view(),
        name="api-dsr-resume",
    ),
    path(
        "data-subject-requests/<int:pk>/cancel/",
        dsrs.DataSubjectRequestCancelApi.as_view(),
        name="api-dsr-cancel",
    ),
    # OpenDSR (OpenGDPR) shape
    path(
        "opendsr/requests/", dsrs.OpenDsrRequestListApi.as_view(), name="api-opendsr-request-list"
    ),
    path(
        "opendsr/requests/<uuid:subject_request_id>/",
        dsrs.OpenDsrRequestDetailApi.as_view(),
        name="api-opendsr-request-detail",
    ),
    # breaches (art. 21.11)
    path("breaches/", breaches.BreachListApi.as_view(), name="api-breach-list"),
    path("breaches/<int:pk>/", breaches.BreachDetailApi.as_view(), name="api-breach-detail"),
    path("breaches/<int:pk>/notify/", breaches.BreachNotifyApi.as_view(), name="api-breach-notify"),
    path(
        "breaches/<int:pk>/updates/", breaches.BreachUpdateApi.as_view(), name="api-breach-update"
    ),
    path(
        "breaches/<int:pk>/root-cause/",
        breaches.BreachRootCauseApi.as_view(),
        name="api-breach-root-cause",
    ),
    path("breaches/<int:pk>/close/", breaches.BreachCloseApi.as_view(), name="api-breach-close"),
    path("breach-notices/", breaches.BreachNoticeListApi.as_view(), name="api-breach-notice-list"),
    path(
        "breach-notices/<int:pk>/",
        breaches.BreachNoticeDetailApi.as_view(),
        name="api-breach-notice-detail",
    ),
    # records of processing (art. 21.8, 24)
    path(
        "processing-records/",
        records.ProcessingRecordListApi.as_view(),
        name="api-processing-record-list",
    ),
    path(
        "processing-records/<int:pk>/",
        records.ProcessingRecordDetailApi.as_view(),
        name="api-processing-record-detail",
    ),
    path(
        "processing-records/<int:pk>/csv/",
        records.ProcessingRecordCsvApi.as_view(),
        name="api-processing-record-csv",
    ),
    # assistance (art. 21.6)
    path(
        "assistance-requests/",
        assistance.AssistanceRequestListApi.as_view(),
        name="api-assistance-request-list",
    ),
    path(
        "assistance-requests/<int:pk>/",
        assistance.AssistanceRequestDetailApi.as_view(),
        name="api-assistance-request-detail",
    ),
]
