"""The billing API, included under /api/v1/ by portal.urls."""

from django.urls import path

from billing.prepaid.api.views import limits, usage, wallet

from .views import invoicing

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
    # invoicing (art. 4, 9, 10): invoices, payments, deposits, set-offs, fapiao, disputes, rates, prices
    path("invoices/", invoicing.InvoiceListApi.as_view(), name="api-invoice-list"),
    path("invoices/<int:pk>/", invoicing.InvoiceDetailApi.as_view(), name="api-invoice-detail"),
    path("invoices/<int:pk>/pdf/", invoicing.InvoicePdfApi.as_view(), name="api-invoice-pdf"),
    path("invoices/<int:pk>/issue/", invoicing.InvoiceIssueApi.as_view(), name="api-invoice-issue"),
    path("invoices/<int:pk>/void/", invoicing.InvoiceVoidApi.as_view(), name="api-invoice-void"),
    path(
        "invoices/<int:pk>/confirm-fapiao/",
        invoicing.InvoiceConfirmFapiaoApi.as_view(),
        name="api-invoice-confirm-fapiao",
    ),
    path("payments/", invoicing.PaymentListApi.as_view(), name="api-payment-list"),
    path("payments/<int:pk>/", invoicing.PaymentDetailApi.as_view(), name="api-payment-detail"),
    path("deposits/", invoicing.DepositListApi.as_view(), name="api-deposit-list"),
    path("deposits/<int:pk>/", invoicing.DepositDetailApi.as_view(), name="api-deposit-detail"),
    path(
        "deposits/<int:pk>/adjust/", invoicing.DepositAdjustApi.as_view(), name="api-deposit-adjust"
    ),
    path(
        "deposits/<int:pk>/mark-held/",
        invoicing.DepositMarkHeldApi.as_view(),
        name="api-deposit-mark-held",
    ),
    path(
        "deposits/<int:pk>/settle/", invoicing.DepositSettleApi.as_view(), name="api-deposit-settle"
    ),
    path(
        "deposits/<int:pk>/refund/", invoicing.DepositRefundApi.as_view(), name="api-deposit-refund"
    ),
    path("set-offs/", invoicing.SetOffListApi.as_view(), name="api-set-off-list"),
    path("set-offs/<int:pk>/", invoicing.SetOffDetailApi.as_view(), name="api-set-off-detail"),
    path(
        "fapiao-requests/", invoicing.FapiaoRequestListApi.as_view(), name="api-fapiao-request-list"
    ),
    path(
        "fapiao-requests/<int:pk>/",
        invoicing.FapiaoRequestDetailApi.as_view(),
        name="api-fapiao-request-detail",
    ),
    path(
        "fapiao-requests/<int:pk>/issue/",
        invoicing.FapiaoRequestIssueApi.as_view(),
        name="api-fapiao-request-issue",
    ),
    path("disputes/", invoicing.DisputeListApi.as_view(), name="api-dispute-list"),
    path("disputes/<int:pk>/", invoicing.DisputeDetailApi.as_view(), name="api-dispute-detail"),
    path(
        "disputes/<int:pk>/escalate/",
        invoicing.DisputeEscalateApi.as_view(),
        name="api-dispute-escalate",
    ),
    path(
        "disputes/<int:pk>/resolve/",
        invoicing.DisputeResolveApi.as_view(),
        name="api-dispute-resolve",
    ),
    path("interest-rates/", invoicing.InterestRateListApi.as_view(), name="api-interest-rate-list"),
    path("prices/", invoicing.PriceListApi.as_view(), name="api-price-list"),
]
