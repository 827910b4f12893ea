"""The billing API, included under /api/v1/ by portal.urls."""

from django.urls import path

from .views import limits, usage, wallet

urlpatterns = [
    # usage from the messaging platform (issue 3, section 2)
    path("usage/", usage.UsageApi.as_view(), name="api-usage"),
    # message limits (art. 26)
    path("message-limits/", limits.MessageLimitListApi.as_view(), name="api-message-limit-list"),
    path(
        "message-limits/<int:client_id>/",
        limits.MessageLimitDetailApi.as_view(),
        name="api-message-limit-detail",
    ),
    path(
        "message-limits/<int:client_id>/change/",
        limits.MessageLimitChangeApi.as_view(),
        name="api-message-limit-change",
    ),
    path(
        "limit-increase-requests/",
        limits.LimitIncreaseRequestListApi.as_view(),
        name="api-limit-increase-request-list",
    ),
    path(
        "limit-increase-requests/<int:pk>/",
        limits.LimitIncreaseRequestDetailApi.as_view(),
        name="api-limit-increase-request-detail",
    ),
    path(
        "limit-increase-requests/<int:pk>/approve/",
        limits.LimitIncreaseRequestApproveApi.as_view(),
        name="api-limit-increase-request-approve",
    ),
    path(
        "limit-increase-requests/<int:pk>/refuse/",
        limits.LimitIncreaseRequestRefuseApi.as_view(),
        name="api-limit-increase-request-refuse",
    ),
    path(
        "message-payments/", limits.MessagePaymentListApi.as_view(), name="api-message-payment-list"
    ),
    # the prepaid side (art. 29)
    path("wallet/", wallet.WalletApi.as_view(), name="api-wallet"),
    path("clients/<int:pk>/wallet/", wallet.ClientWalletApi.as_view(), name="api-client-wallet"),
    path("credit-lots/", wallet.CreditLotListApi.as_view(), name="api-credit-lot-list"),
    path("ledger/", wallet.LedgerApi.as_view(), name="api-ledger"),
    path("ledger.csv", wallet.LedgerCsvApi.as_view(), name="api-ledger-csv"),
    path("top-ups/", wallet.TopUpApi.as_view(), name="api-top-up"),
    path("chargebacks/", wallet.ChargebackApi.as_view(), name="api-chargeback"),
    path(
        "restitution-requests/",
        wallet.RestitutionRequestListApi.as_view(),
        name="api-restitution-request-list",
    ),
    path(
        "restitution-requests/<int:pk>/",
        wallet.RestitutionRequestDetailApi.as_view(),
        name="api-restitution-request-detail",
    ),
    path(
        "restitution-requests/<int:pk>/approve/",
        wallet.RestitutionRequestApproveApi.as_view(),
        name="api-restitution-request-approve",
    ),
    path(
        "restitution-requests/<int:pk>/refuse/",
        wallet.RestitutionRequestRefuseApi.as_view(),
        name="api-restitution-request-refuse",
    ),
]
