"""Pages of billing, included at /billing/ by portal/urls.py (app_name "billing")."""

from django.urls import path

from .claims import views as claim_views
from .invoicing import credit_views, price_views, statement_views
from .invoicing import views as invoicing_views
from .premium import views as premium_views
from .prepaid import alert_views, views

app_name = "billing"
urlpatterns = [
    # The client's own wallet and limit
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("wallet/limit-request/", views.limit_request, name="limit_request"),
    path("wallet/restitution/", views.restitution_request, name="restitution_request"),
    path("alerts/", alert_views.alerts, name="alerts"),
    path("alerts/<int:pk>/remove/", alert_views.alert_remove, name="alert_remove"),
    # Staff: any client's wallet and limit, and the billing staff's actions on it
    path("clients/<int:pk>/", views.client_wallet, name="client_wallet"),
    path("clients/<int:pk>/ledger.csv", views.client_ledger_csv, name="client_ledger_csv"),
    path("clients/<int:pk>/top-up/", views.top_up, name="top_up"),
    path("clients/<int:pk>/lots/<int:lot_pk>/chargeback/", views.chargeback, name="chargeback"),
    path("clients/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("clients/<int:pk>/limit/", views.limit_change, name="limit_change"),
    path("clients/<int:pk>/messages-paid/", views.messages_paid, name="messages_paid"),
    # Staff queues
    path("limit-requests/", views.limit_requests, name="limit_requests"),
    path(
        "limit-requests/<int:pk>/<str:decision>/",
        views.limit_request_decide,
        name="limit_request_decide",
    ),
    path("restitutions/", views.restitutions, name="restitutions"),
    path(
        "restitutions/<int:pk>/<str:decision>/",
        views.restitution_decide,
        name="restitution_decide",
    ),
    # Loss claims both ways and the liability cap (art. 13)
    path("claims/", claim_views.claims, name="claims"),
    path("claims/<int:pk>/", claim_views.claim_detail, name="claim_detail"),
    path("claims/<int:pk>/remedy/", claim_views.claim_remedy, name="claim_remedy"),
    path("claims/<int:pk>/assess/", claim_views.claim_assess, name="claim_assess"),
    path("claims/<int:pk>/payouts/", claim_views.claim_payout, name="claim_payout"),
    # Premium SMS, direct carrier billing and premium voice: revenue and payouts (CX Part V)
    path("premium/", premium_views.statements, name="premium_statements"),
    path("premium/statements/<int:pk>/", premium_views.statement_detail, name="premium_statement"),
    path(
        "premium/statements/<int:pk>/receipts/",
        premium_views.receipt,
        name="premium_receipt",
    ),
    path(
        "premium/statements/<int:pk>/chargebacks/",
        premium_views.chargeback,
        name="premium_chargeback",
    ),
    path(
        "premium/statements/<int:pk>/deductions/",
        premium_views.deduction,
        name="premium_deduction",
    ),
    path(
        "premium/statements/<int:pk>/refund-campaign/",
        premium_views.refund_campaign,
        name="premium_refund_campaign",
    ),
    path("premium/statements/<int:pk>/issue/", premium_views.issue, name="premium_issue"),
    path("premium/statements/<int:pk>/offsets/", premium_views.offset, name="premium_offset"),
    path("premium/statements/<int:pk>/payouts/", premium_views.payout, name="premium_payout"),
    path("premium/statements/<int:pk>/dispute/", premium_views.dispute, name="premium_dispute"),
    path("premium/disputes/", premium_views.disputes, name="premium_disputes"),
    path(
        "premium/disputes/<int:pk>/resolve/",
        premium_views.dispute_resolve,
        name="premium_dispute_resolve",
    ),
    path("premium/documents/<int:pk>/", premium_views.document, name="premium_document"),
    path("premium/payouts/", premium_views.payouts, name="premium_payouts"),
    path(
        "premium/service-changes/",
        premium_views.service_changes,
        name="premium_service_changes",
    ),
    path(
        "premium/service-changes/<int:pk>/acknowledge/",
        premium_views.service_change_acknowledge,
        name="premium_service_change_acknowledge",
    ),
    # Invoicing (art. 4, 9, 10): the client's invoices, deposits and set-offs; staff queues
    path("invoices/", invoicing_views.invoice_list, name="invoices"),
    path("invoices/new/", invoicing_views.invoice_new, name="invoice_new"),
    path("invoices/overdue/", invoicing_views.overdue_list, name="invoices_overdue"),
    path("invoices/<int:pk>/", invoicing_views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", invoicing_views.invoice_pdf_download, name="invoice_pdf"),
    path(
        "invoices/<int:pk>/einvoice.xml",
        invoicing_views.invoice_einvoice_download,
        name="invoice_einvoice",
    ),
    path("invoices/<int:pk>/dispute/", invoicing_views.invoice_dispute, name="invoice_dispute"),
    path(
        "invoices/<int:pk>/confirm-fapiao/",
        invoicing_views.invoice_confirm_fapiao,
        name="invoice_confirm_fapiao",
    ),
    path("invoices/<int:pk>/issue/", invoicing_views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/void/", invoicing_views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/payment/", invoicing_views.invoice_payment, name="invoice_payment"),
    path("deposits/", invoicing_views.deposits, name="deposits"),
    path("deposits/demand/", invoicing_views.deposit_demand, name="deposit_demand"),
    path("deposits/<int:pk>/<str:action>/", invoicing_views.deposit_action, name="deposit_action"),
    path("set-offs/", invoicing_views.set_offs, name="set_offs"),
    path("recharges/", invoicing_views.recharges, name="recharges"),
    path("set-offs/record/", invoicing_views.set_off_record, name="set_off_record"),
    path("disputes/", invoicing_views.disputes, name="disputes"),
    path("disputes/<int:pk>/<str:action>/", invoicing_views.dispute_action, name="dispute_action"),
    path("fapiao/", invoicing_views.fapiao_queue, name="fapiao_queue"),
    path("fapiao/<int:pk>/issue/", invoicing_views.fapiao_issue, name="fapiao_issue"),
    # Client credit (art. 9.1; issue 12 §6): the client's own, staff's of their providers
    path("credits/", credit_views.credits, name="credits"),
    path("credits/<int:pk>/", credit_views.credit_detail, name="credit_detail"),
    path("credits/<int:pk>/refund/", credit_views.credit_refund, name="credit_refund"),
    # Bank statements in, payments matched (issue 14 §2): billing staff
    path("statements/", statement_views.statements, name="statements"),
    path("statements/unmatched/", statement_views.unmatched, name="statements_unmatched"),
    path("statements/<int:pk>/", statement_views.statement_detail, name="statement_detail"),
    path(
        "statements/entries/<int:pk>/<str:action>/",
        statement_views.entry_action,
        name="statement_entry_action",
    ),
    # Prices and every change of them (art. 4.2-4.4, 4.11); interest and CPI rates (4.6, 4.11)
    path("prices/", price_views.prices, name="prices"),
    path("prices/change/", price_views.price_change, name="price_change"),
    path("rates/", price_views.rates, name="rates"),
    path("rates/interest/", price_views.interest_rate_enter, name="interest_rate_enter"),
    path("rates/cpi/", price_views.cpi_rate_enter, name="cpi_rate_enter"),
    path("rates/exchange/", price_views.exchange_rate_enter, name="exchange_rate_enter"),
]
