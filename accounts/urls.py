"""Pages of accounts, included at "/" by portal/urls.py; every path sits under /accounts/."""

from django.urls import path

from .views import (
    agreements,
    change_requests,
    clients,
    data_requests,
    force_majeure,
    onboarding,
    sign_in,
    terms,
    users,
    webhooks,
)

urlpatterns = [
    # Sign-in, two-factor, password reset
    path("accounts/login/", sign_in.LoginView.as_view(), name="login"),
    path("accounts/logout/", sign_in.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", sign_in.two_factor, name="two_factor"),
    path("accounts/profile/", sign_in.profile, name="profile"),
    path("accounts/password-reset/", sign_in.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        sign_in.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        sign_in.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        sign_in.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Onboarding
    path("accounts/sign-up/", onboarding.sign_up, name="sign_up"),
    path("accounts/invitation/<str:token>/", onboarding.invitation, name="invitation"),
    # The client's own company
    path("accounts/company/", change_requests.company, name="company"),
    path("accounts/users/", users.users, name="users"),
    path("accounts/users/invite/", users.user_invite, name="user_invite"),
    path("accounts/users/<int:pk>/role/", users.user_change_role, name="user_change_role"),
    path("accounts/users/<int:pk>/remove/", users.user_remove, name="user_remove"),
    path("accounts/data-requests/", data_requests.data_requests, name="data_requests"),
    # Webhook endpoints the client sets up (issue 15 §2)
    path("accounts/webhooks/", webhooks.webhooks, name="webhooks"),
    path("accounts/webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook_detail"),
    path("accounts/webhooks/<int:pk>/rotate/", webhooks.webhook_rotate, name="webhook_rotate"),
    path(
        "accounts/webhooks/deliveries/<int:pk>/resend/",
        webhooks.webhook_delivery_resend,
        name="webhook_delivery_resend",
    ),
    path(
        "accounts/data-requests/<int:pk>/",
        data_requests.data_request_detail,
        name="data_request_detail",
    ),
    path(
        "accounts/data-requests/<int:pk>/close/",
        data_requests.data_request_close,
        name="data_request_close",
    ),
    path(
        "accounts/data-requests/<int:pk>/documents/<int:document_pk>/",
        data_requests.data_request_document,
        name="data_request_document",
    ),
    # Changes to the service, requested in writing (art. 5.3)
    path("accounts/service-changes/", change_requests.service_changes, name="service_changes"),
    path(
        "accounts/terms/<int:pk>/accept/",
        terms.terms_decide,
        {"decision": "accept"},
        name="terms_accept",
    ),
    path(
        "accounts/terms/<int:pk>/object/",
        terms.terms_decide,
        {"decision": "object"},
        name="terms_object",
    ),
    # The client's agreement: notice, termination, default (art. 15, 29.6)
    path("accounts/agreement/", agreements.agreement_page, name="agreement"),
    path("accounts/agreement/notice/", agreements.agreement_give_notice, name="agreement_notice"),
    path(
        "accounts/agreement/terminate-prepaid/",
        agreements.agreement_terminate_prepaid,
        name="agreement_terminate_prepaid",
    ),
    path(
        "accounts/agreement/notice-of-default/",
        agreements.agreement_notice_of_default,
        name="agreement_notice_of_default",
    ),
    path(
        "accounts/agreement/default-remedied/",
        agreements.agreement_default_remedied,
        name="agreement_default_remedied",
    ),
    path(
        "accounts/agreement/terminate/",
        agreements.agreement_terminate,
        name="agreement_terminate",
    ),
    path(
        "accounts/agreements/<int:pk>/evidence/",
        agreements.agreement_evidence,
        name="agreement_evidence",
    ),
    # Force majeure (art. 14, 15.5(b)): staff's situations, a client's notices
    path("accounts/force-majeure/", force_majeure.force_majeure_list, name="force_majeure_list"),
    path(
        "accounts/force-majeure/<int:pk>/",
        force_majeure.force_majeure_detail,
        name="force_majeure_detail",
    ),
    path(
        "accounts/force-majeure/<int:pk>/notices/<int:notice_pk>/notify/",
        force_majeure.force_majeure_notify,
        name="force_majeure_notify",
    ),
    path(
        "accounts/force-majeure/<int:pk>/end/",
        force_majeure.force_majeure_end,
        name="force_majeure_end",
    ),
    # Staff
    path("accounts/terms/publish/", terms.terms_publish, name="terms_publish"),
    path("accounts/terms/<int:pk>/", terms.terms_read, name="terms_read"),
    path("accounts/clients/", clients.client_list, name="client_list"),
    path("accounts/clients/invite/", onboarding.onboarding_invite, name="onboarding_invite"),
    path("accounts/clients/<int:pk>/", clients.client_detail, name="client_detail"),
    path("accounts/clients/<int:pk>/approve/", onboarding.client_approve, name="client_approve"),
    path("accounts/clients/<int:pk>/reject/", onboarding.client_reject, name="client_reject"),
    path("accounts/clients/<int:pk>/suspend/", agreements.client_suspend, name="client_suspend"),
    path("accounts/clients/<int:pk>/resume/", agreements.client_resume, name="client_resume"),
    path(
        "accounts/clients/<int:pk>/data-requests/",
        data_requests.client_data_request_log,
        name="client_data_request_log",
    ),
    path(
        "accounts/clients/<int:pk>/provider-requests/",
        data_requests.client_provider_request_send,
        name="client_provider_request_send",
    ),
    path(
        "accounts/clients/<int:pk>/notice/",
        agreements.client_give_notice,
        name="client_give_notice",
    ),
    path(
        "accounts/clients/<int:pk>/notice-of-default/",
        agreements.client_notice_of_default,
        name="client_notice_of_default",
    ),
    path(
        "accounts/clients/<int:pk>/agreement-terms/",
        agreements.client_agreement_terms,
        name="client_agreement_terms",
    ),
    path(
        "accounts/clients/<int:pk>/terminate/",
        agreements.client_terminate,
        name="client_terminate",
    ),
    path(
        "accounts/clients/<int:pk>/default-remedied/",
        agreements.client_default_remedied,
        name="client_default_remedied",
    ),
    path(
        "accounts/clients/<int:pk>/terminate-economic/",
        agreements.client_terminate_economic,
        name="client_terminate_economic",
    ),
    path("accounts/change-requests/", change_requests.change_requests, name="change_requests"),
    path(
        "accounts/change-requests/<int:pk>/accept/",
        change_requests.change_request_decide,
        {"decision": "accept"},
        name="change_request_accept",
    ),
    path(
        "accounts/change-requests/<int:pk>/reject/",
        change_requests.change_request_decide,
        {"decision": "reject"},
        name="change_request_reject",
    ),
]
