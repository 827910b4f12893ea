"""The accounts API, included under /api/v1/ by portal.urls."""

from django.urls import path

from . import schema  # noqa: F401  (registers the authentication schemes)
from .views import agreements, clients, force_majeure, requests, terms, users

urlpatterns = [
    path("me/", users.MeApi.as_view(), name="api-me"),
    path("sign-up/", clients.SignUpApi.as_view(), name="api-sign-up"),
    # force majeure (art. 14.2, 15.5(b))
    path(
        "force-majeure/", force_majeure.ForceMajeureListApi.as_view(), name="api-force-majeure-list"
    ),
    path(
        "force-majeure/<int:pk>/",
        force_majeure.ForceMajeureDetailApi.as_view(),
        name="api-force-majeure-detail",
    ),
    path(
        "force-majeure/<int:pk>/notify/",
        force_majeure.ForceMajeureNotifyApi.as_view(),
        name="api-force-majeure-notify",
    ),
    path(
        "force-majeure/<int:pk>/end/",
        force_majeure.ForceMajeureEndApi.as_view(),
        name="api-force-majeure-end",
    ),
    path(
        "force-majeure-notices/",
        force_majeure.ForceMajeureNoticeListApi.as_view(),
        name="api-force-majeure-notice-list",
    ),
    path(
        "force-majeure-notices/<int:pk>/",
        force_majeure.ForceMajeureNoticeDetailApi.as_view(),
        name="api-force-majeure-notice-detail",
    ),
    # clients
    path("clients/", clients.ClientListApi.as_view(), name="api-client-list"),
    path("clients/<int:pk>/", clients.ClientDetailApi.as_view(), name="api-client-detail"),
    path(
        "clients/<int:pk>/history/", clients.ClientHistoryApi.as_view(), name="api-client-history"
    ),
    path(
        "clients/<int:pk>/approve/", clients.ClientApproveApi.as_view(), name="api-client-approve"
    ),
    path("clients/<int:pk>/reject/", clients.ClientRejectApi.as_view(), name="api-client-reject"),
    path(
        "clients/<int:pk>/suspend/", clients.ClientSuspendApi.as_view(), name="api-client-suspend"
    ),
    path("clients/<int:pk>/resume/", clients.ClientResumeApi.as_view(), name="api-client-resume"),
    # change requests (art. 5.5)
    path(
        "change-requests/", requests.ChangeRequestListApi.as_view(), name="api-change-request-list"
    ),
    path(
        "service-change-requests/",
        requests.ServiceChangeRequestListApi.as_view(),
        name="api-service-change-request-list",
    ),
    path(
        "change-requests/<int:pk>/",
        requests.ChangeRequestDetailApi.as_view(),
        name="api-change-request-detail",
    ),
    path(
        "change-requests/<int:pk>/accept/",
        requests.ChangeRequestAcceptApi.as_view(),
        name="api-change-request-accept",
    ),
    path(
        "change-requests/<int:pk>/reject/",
        requests.ChangeRequestRejectApi.as_view(),
        name="api-change-request-reject",
    ),
    # data requests (art. 5.6)
    path("data-requests/", requests.DataRequestListApi.as_view(), name="api-data-request-list"),
    path(
        "data-requests/<int:pk>/",
        requests.DataRequestDetailApi.as_view(),
        name="api-data-request-detail",
    ),
    path(
        "data-requests/<int:pk>/answer/",
        requests.DataRequestAnswerApi.as_view(),
        name="api-data-request-answer",
    ),
    path(
        "data-requests/<int:pk>/close/",
        requests.DataRequestCloseApi.as_view(),
        name="api-data-request-close",
    ),
    # users and invitations (art. 5.2)
    path("users/", users.UserListApi.as_view(), name="api-user-list"),
    path("users/<int:pk>/", users.UserDetailApi.as_view(), name="api-user-detail"),
    path("invitations/", users.InvitationListApi.as_view(), name="api-invitation-list"),
    path("invitations/accept/", users.InvitationAcceptApi.as_view(), name="api-invitation-accept"),
    # agreements (art. 15)
    path("agreements/", agreements.AgreementListApi.as_view(), name="api-agreement-list"),
    path(
        "agreements/<int:pk>/", agreements.AgreementDetailApi.as_view(), name="api-agreement-detail"
    ),
    path(
        "agreements/<int:pk>/give-notice/",
        agreements.AgreementGiveNoticeApi.as_view(),
        name="api-agreement-give-notice",
    ),
    path(
        "agreements/<int:pk>/notice-of-default/",
        agreements.AgreementNoticeOfDefaultApi.as_view(),
        name="api-agreement-notice-of-default",
    ),
    path(
        "agreements/<int:pk>/default-remedied/",
        agreements.AgreementDefaultRemediedApi.as_view(),
        name="api-agreement-default-remedied",
    ),
    path(
        "agreements/<int:pk>/terminate/",
        agreements.AgreementTerminateApi.as_view(),
        name="api-agreement-terminate",
    ),
    path(
        "agreements/<int:pk>/terminate-economic/",
        agreements.AgreementTerminateEconomicApi.as_view(),
        name="api-agreement-terminate-economic",
    ),
    # terms (art. 18.3)
    path("terms-versions/", terms.TermsVersionListApi.as_view(), name="api-terms-version-list"),
    path(
        "terms-versions/<int:pk>/",
        terms.TermsVersionDetailApi.as_view(),
        name="api-terms-version-detail",
    ),
    path(
        "terms-acceptances/",
        terms.TermsAcceptanceListApi.as_view(),
        name="api-terms-acceptance-list",
    ),
    path(
        "terms-acceptances/<int:pk>/",
        terms.TermsAcceptanceDetailApi.as_view(),
        name="api-terms-acceptance-detail",
    ),
    path(
        "terms-acceptances/<int:pk>/accept/",
        terms.TermsAcceptanceAcceptApi.as_view(),
        name="api-terms-acceptance-accept",
    ),
    path(
        "terms-acceptances/<int:pk>/object/",
        terms.TermsAcceptanceObjectApi.as_view(),
        name="api-terms-acceptance-object",
    ),
    path(
        "terms-acceptances/<int:pk>/cancel-agreement/",
        terms.TermsAcceptanceCancelAgreementApi.as_view(),
        name="api-terms-acceptance-cancel-agreement",
    ),
]
