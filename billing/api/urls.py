"""The billing API, included under /api/v1/ by portal.urls."""

from django.urls import path

from billing.claims import api as claims
from billing.invoicing.api.views import (
    credits,
    deposits,
    disputes,
    fapiao,
    invoices,
    payments,
    prices,
    recharges,
    set_offs,
)
from billing.premium import api as premium
from billing.prepaid.api.views import limits, usage, wallet

urlpatterns = [
    # loss claims both ways and the liability cap (art. 13)
    path("loss-claims/", claims.LossClaimListApi.as_view(), name="api-loss-claim-list"),
    path(
        "loss-claims/<int:pk>/", claims.LossClaimDetailApi.as_view(), name="api-loss-claim-detail"
    ),
    path(
        "loss-claims/<int:pk>/remedy/",
        claims.LossClaimRemedyApi.as_view(),
        name="api-loss-claim-remedy",
    ),
    path(
        "loss-claims/<int:pk>/assess/",
        claims.LossClaimAssessApi.as_view(),
        name="api-loss-claim-assess",
    ),
    path(
        "loss-claims/<int:pk>/payouts/",
        claims.LossClaimPayoutApi.as_view(),
        name="api-loss-claim-payouts",
    ),
    # premium SMS, direct carrier billing and premium voice: revenue and payouts (CX Part V)
    path(
        "premium-statements/",
        premium.PremiumStatementListApi.as_view(),
        name="api-premium-statement-list",
    ),
    path(
        "premium-statements/<int:pk>/",
        premium.PremiumStatementDetailApi.as_view(),
        name="api-premium-statement-detail",
    ),
    path(
        "premium-statements/<int:pk>/issue/",
        premium.PremiumStatementIssueApi.as_view(),
        name="api-premium-statement-issue",
    ),
    path(
        "premium-statements/<int:pk>/receipts/",
        premium.PremiumReceiptApi.as_view(),
        name="api-premium-statement-receipts",
    ),
    path(
        "premium-statements/<int:pk>/chargebacks/",
        premium.PremiumChargebackApi.as_view(),
        name="api-premium-statement-chargebacks",
    ),
    path(
        "premium-statements/<int:pk>/deductions/",
        premium.PremiumDeductionApi.as_view(),
        name="api-premium-statement-deductions",
    ),
    path(
        "premium-statements/<int:pk>/refund-campaign/",
        premium.PremiumRefundCampaignApi.as_view(),
        name="api-premium-statement-refund-campaign",
    ),
    path(
        "premium-statements/<int:pk>/offsets/",
        premium.PremiumOffsetApi.as_view(),
        name="api-premium-statement-offsets",
    ),
    path(
        "premium-statements/<int:pk>/payouts/",
        premium.PremiumPayoutApi.as_view(),
        name="api-premium-statement-payouts",
    ),
    path(
        "premium-statements/<int:pk>/disputes/",
        premium.PremiumStatementDisputeApi.as_view(),
        name="api-premium-statement-disputes",
    ),
    path(
        "premium-disputes/",
        premium.PremiumDisputeListApi.as_view(),
        name="api-premium-dispute-list",
    ),
    path(
        "premium-disputes/<int:pk>/",
        premium.PremiumDisputeDetailApi.as_view(),
        name="api-premium-dispute-detail",
    ),
    path(
        "premium-disputes/<int:pk>/resolve/",
        premium.PremiumDisputeResolveApi.as_view(),
        name="api-premium-dispute-resolve",
    ),
    path(
        "premium-payouts/", premium.PremiumPayoutListApi.as_view(), name="api-premium-payout-list"
    ),
    path(
        "premium-service-changes/",
        premium.PremiumServiceChangeListApi.as_view(),
        name="api-premium-service-change-list",
    ),
    path(
        "premium-service-changes/<int:pk>/acknowledge/",
        premium.PremiumServiceChangeAcknowledgeApi.as_view(),
        name="api-premium-service-change-acknowledge",
    ),
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
    path("invoices/", invoices.InvoiceListApi.as_view(), name="api-invoice-list"),
    path("invoices/<int:pk>/", invoices.InvoiceDetailApi.as_view(), name="api-invoice-detail"),
    path("invoices/<int:pk>/pdf/", invoices.InvoicePdfApi.as_view(), name="api-invoice-pdf"),
    path(
        "invoices/<int:pk>/einvoice/",
        invoices.InvoiceEInvoiceApi.as_view(),
        name="api-invoice-einvoice",
    ),
    path("invoices/<int:pk>/issue/", invoices.InvoiceIssueApi.as_view(), name="api-invoice-issue"),
    path("invoices/<int:pk>/void/", invoices.InvoiceVoidApi.as_view(), name="api-invoice-void"),
    path(
        "invoices/<int:pk>/confirm-fapiao/",
        invoices.InvoiceConfirmFapiaoApi.as_view(),
        name="api-invoice-confirm-fapiao",
    ),
    path("payments/", payments.PaymentListApi.as_view(), name="api-payment-list"),
    path("payments/<int:pk>/", payments.PaymentDetailApi.as_view(), name="api-payment-detail"),
    path("deposits/", deposits.DepositListApi.as_view(), name="api-deposit-list"),
    path("deposits/<int:pk>/", deposits.DepositDetailApi.as_view(), name="api-deposit-detail"),
    path(
        "deposits/<int:pk>/adjust/", deposits.DepositAdjustApi.as_view(), name="api-deposit-adjust"
    ),
    path(
        "deposits/<int:pk>/mark-held/",
        deposits.DepositMarkHeldApi.as_view(),
        name="api-deposit-mark-held",
    ),
    path(
        "deposits/<int:pk>/settle/", deposits.DepositSettleApi.as_view(), name="api-deposit-settle"
    ),
    path(
        "deposits/<int:pk>/refund/", deposits.DepositRefundApi.as_view(), name="api-deposit-refund"
    ),
    path("client-credits/", credits.ClientCreditListApi.as_view(), name="api-client-credit-list"),
    path(
        "client-credits/<int:pk>/",
        credits.ClientCreditDetailApi.as_view(),
        name="api-client-credit-detail",
    ),
    path(
        "client-credits/<int:pk>/entries/",
        credits.ClientCreditEntriesApi.as_view(),
        name="api-client-credit-entries",
    ),
    path(
        "client-credits/<int:pk>/refund/",
        credits.ClientCreditRefundApi.as_view(),
        name="api-client-credit-refund",
    ),
    path("set-offs/", set_offs.SetOffListApi.as_view(), name="api-set-off-list"),
    path("recharges/", recharges.RechargeListApi.as_view(), name="api-recharge-list"),
    path("set-offs/<int:pk>/", set_offs.SetOffDetailApi.as_view(), name="api-set-off-detail"),
    path("fapiao-requests/", fapiao.FapiaoRequestListApi.as_view(), name="api-fapiao-request-list"),
    path(
        "fapiao-requests/<int:pk>/",
        fapiao.FapiaoRequestDetailApi.as_view(),
        name="api-fapiao-request-detail",
    ),
    path(
        "fapiao-requests/<int:pk>/issue/",
        fapiao.FapiaoRequestIssueApi.as_view(),
        name="api-fapiao-request-issue",
    ),
    path("disputes/", disputes.DisputeListApi.as_view(), name="api-dispute-list"),
    path("disputes/<int:pk>/", disputes.DisputeDetailApi.as_view(), name="api-dispute-detail"),
    path(
        "disputes/<int:pk>/escalate/",
        disputes.DisputeEscalateApi.as_view(),
        name="api-dispute-escalate",
    ),
    path(
        "disputes/<int:pk>/resolve/",
        disputes.DisputeResolveApi.as_view(),
        name="api-dispute-resolve",
    ),
    path("interest-rates/", prices.InterestRateListApi.as_view(), name="api-interest-rate-list"),
    path("prices/", prices.PriceListApi.as_view(), name="api-price-list"),
    path("price-changes/", prices.PriceChangeListApi.as_view(), name="api-price-change-list"),
    path("cpi-adjustments/", prices.CpiAdjustmentListApi.as_view(), name="api-cpi-adjustment-list"),
]
