"""Pages of data processing, included at /data-processing/ by portal/urls.py."""

from django.urls import path

from . import views

app_name = "dataprocessing"

urlpatterns = [
    path("", views.home, name="home"),
    # sub-processors (art. 21.9, 21.10)
    path("sub-processors/", views.sub_processors, name="sub_processors"),
    path("sub-processors/register/", views.sub_processor_register, name="sub_processor_register"),
    path("sub-processors/announce/", views.sub_processor_announce, name="sub_processor_announce"),
    path("sub-processors/<int:pk>/", views.sub_processor_detail, name="sub_processor_detail"),
    path(
        "sub-processor-changes/<int:pk>/object/",
        views.sub_processor_object,
        name="sub_processor_object",
    ),
    path(
        "sub-processor-changes/<int:pk>/withdraw/",
        views.sub_processor_change_withdraw,
        name="sub_processor_change_withdraw",
    ),
    path(
        "sub-processor-objections/<int:pk>/resolve/",
        views.sub_processor_objection_resolve,
        name="sub_processor_objection_resolve",
    ),
    # audits (art. 21.7)
    path("audits/", views.audits, name="audits"),
    path("audits/<int:pk>/", views.audit_detail, name="audit_detail"),
    path(
        "audits/<int:pk>/<str:action>/",
        views.audit_action,
        name="audit_action",
    ),
    # data-subject requests (art. 21.5)
    path("dsrs/", views.dsrs, name="dsrs"),
    path("dsrs/<int:pk>/", views.dsr_detail, name="dsr_detail"),
    path("dsrs/<int:pk>/<str:action>/", views.dsr_action, name="dsr_action"),
    # breaches (art. 21.11)
    path("breaches/", views.breaches, name="breaches"),
    path("breaches/<int:pk>/", views.breach_detail, name="breach_detail"),
    path(
        "breaches/<int:pk>/notify/<int:notification_pk>/",
        views.breach_notify,
        name="breach_notify",
    ),
    path("breaches/<int:pk>/updates/", views.breach_update, name="breach_update"),
    path("breaches/<int:pk>/root-cause/", views.breach_root_cause, name="breach_root_cause"),
    path("breaches/<int:pk>/close/", views.breach_close, name="breach_close"),
    path("breach-notices/<int:pk>/", views.breach_notice_detail, name="breach_notice_detail"),
    # records of processing (art. 21.8, 24)
    path("records/", views.records, name="records"),
    path("records/<int:client_pk>/", views.record_detail, name="record_detail"),
    path("records/<int:client_pk>/csv/", views.record_csv, name="record_csv"),
    path("records/<int:client_pk>/pdf/", views.record_pdf, name="record_pdf"),
    # assistance (art. 21.6)
    path("assistance/", views.assistance, name="assistance"),
    path("assistance/<int:pk>/", views.assistance_detail, name="assistance_detail"),
]
