"""Pages of accounts, included at "/" by portal/urls.py; every path sits under /accounts/."""

from django.urls import path

from . import views

urlpatterns = [
    # Sign-in, two-factor, password reset
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", views.two_factor, name="two_factor"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Onboarding
    path("accounts/sign-up/", views.sign_up, name="sign_up"),
    path("accounts/invitation/<str:token>/", views.invitation, name="invitation"),
    # The client's own company
    path("accounts/company/", views.company, name="company"),
    path("accounts/users/", views.users, name="users"),
    path("accounts/users/invite/", views.user_invite, name="user_invite"),
    path("accounts/users/<int:pk>/role/", views.user_change_role, name="user_change_role"),
    path("accounts/users/<int:pk>/remove/", views.user_remove, name="user_remove"),
    path("accounts/data-requests/", views.data_requests, name="data_requests"),
    path("accounts/data-requests/<int:pk>/", views.data_request_detail, name="data_request_detail"),
    path(
        "accounts/terms/<int:pk>/accept/",
        views.terms_decide,
        {"decision": "accept"},
        name="terms_accept",
    ),
    path(
        "accounts/terms/<int:pk>/object/",
        views.terms_decide,
        {"decision": "object"},
        name="terms_object",
    ),
    # Staff
    path("accounts/terms/publish/", views.terms_publish, name="terms_publish"),
    path("accounts/clients/", views.client_list, name="client_list"),
    path("accounts/clients/invite/", views.onboarding_invite, name="onboarding_invite"),
    path("accounts/clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("accounts/clients/<int:pk>/approve/", views.client_approve, name="client_approve"),
    path("accounts/clients/<int:pk>/reject/", views.client_reject, name="client_reject"),
    path("accounts/clients/<int:pk>/suspend/", views.client_suspend, name="client_suspend"),
    path("accounts/clients/<int:pk>/resume/", views.client_resume, name="client_resume"),
    path(
        "accounts/clients/<int:pk>/data-requests/",
        views.client_data_request_log,
        name="client_data_request_log",
    ),
    path("accounts/clients/<int:pk>/notice/", views.client_give_notice, name="client_give_notice"),
    path(
        "accounts/clients/<int:pk>/notice-of-default/",
        views.client_notice_of_default,
        name="client_notice_of_default",
    ),
    path("accounts/clients/<int:pk>/terminate/", views.client_terminate, name="client_terminate"),
    path("accounts/change-requests/", views.change_requests, name="change_requests"),
    path(
        "accounts/change-requests/<int:pk>/accept/",
        views.change_request_decide,
        {"decision": "accept"},
        name="change_request_accept",
    ),
    path(
        "accounts/change-requests/<int:pk>/reject/",
        views.change_request_decide,
        {"decision": "reject"},
        name="change_request_reject",
    ),
]
