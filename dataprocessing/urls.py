"""Pages of data processing, included at /data-processing/ by portal/urls.py."""

from django.urls import path

from .views import (
    assistance,
    audits,
    breaches,
    documents,
    dsrs,
    home,
    mandatory,
    records,
    sub_processors,
)

app_name = "dataprocessing"

urlpatterns = [
    path("", home.home, name="home"),
    # sub-processors (art. 21.9, 21.10)
    path("sub-processors/", sub_processors.sub_processors, name="sub_processors"),
    path(
        "sub-processors/register/",
        sub_processors.sub_processor_register,
        name="sub_processor_register",
    ),
    path(
        "sub-processors/announce/",
        sub_processors.sub_processor_announce,
        name="sub_processor_announce",
    ),
    path(
        "sub-processors/<int:pk>/", sub_processors.sub_processor_detail, name="sub_processor_detail"
    ),
    path(
        "sub-processors/<int:pk>/agreement-document/",
        documents.sub_processor_document,
        name="sub_processor_document",
    ),
    path(
        "sub-processor-changes/<int:pk>/object/",
        sub_processors.sub_processor_object,
        name="sub_processor_object",
    ),
    path(
        "sub-processor-changes/<int:pk>/withdraw/",
        sub_processors.sub_processor_change_withdraw,
        name="sub_processor_change_withdraw",
    ),
    path(
        "sub-processor-objections/<int:pk>/resolve/",
        sub_processors.sub_processor_objection_resolve,
        name="sub_processor_objection_resolve",
    ),
    # processing under mandatory law (art. 21.1.2)
    path("mandatory-law/", mandatory.mandatory_processing, name="mandatory_processing"),
    path(
        "mandatory-law/<int:pk>/",
        mandatory.mandatory_processing_detail,
        name="mandatory_processing_detail",
    ),
    # audits (art. 21.7)
    path("audits/", audits.audits, name="audits"),
    path("audits/<int:pk>/", audits.audit_detail, name="audit_detail"),
    path(
        "audits/<int:pk>/documents/<str:document>/",
        documents.audit_document,
        name="audit_document",
    ),
    path(
        "audits/<int:pk>/<str:action>/",
        audits.audit_action,
        name="audit_action",
    ),
    # data-subject requests (art. 21.5)
    path("dsrs/", dsrs.dsrs, name="dsrs"),
    path(
        "dsrs/callback-secret/rotate/",
        dsrs.dsr_callback_secret_rotate,
        name="dsr_callback_secret_rotate",
    ),
    path("dsrs/<int:pk>/", dsrs.dsr_detail, name="dsr_detail"),
    path("dsrs/<int:pk>/<str:action>/", dsrs.dsr_action, name="dsr_action"),
    # breaches (art. 21.11)
    path("breaches/", breaches.breaches, name="breaches"),
    path("breaches/<int:pk>/", breaches.breach_detail, name="breach_detail"),
    path(
        "breaches/<int:pk>/notify/<int:notification_pk>/",
        breaches.breach_notify,
        name="breach_notify",
    ),
    path("breaches/<int:pk>/updates/", breaches.breach_update, name="breach_update"),
    path("breaches/<int:pk>/root-cause/", breaches.breach_root_cause, name="breach_root_cause"),
    path("breaches/<int:pk>/close/", breaches.breach_close, name="breach_close"),
    path("breach-notices/<int:pk>/", breaches.breach_notice_detail, name="breach_notice_detail"),
    # records of processing (art. 21.8, 24)
    path("records/", records.records, name="records"),
    path("records/<int:client_pk>/", records.record_detail, name="record_detail"),
    path("records/<int:client_pk>/csv/", records.record_csv, name="record_csv"),
    path("records/<int:client_pk>/pdf/", records.record_pdf, name="record_pdf"),
    # assistance (art. 21.6)
    path("assistance/", assistance.assistance, name="assistance"),
    path("assistance/<int:pk>/", assistance.assistance_detail, name="assistance_detail"),
]
