"""Pages of billing, included at /billing/ by portal/urls.py (app_name "billing")."""

from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    # The client's own wallet and limit
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("wallet/limit-request/", views.limit_request, name="limit_request"),
    path("wallet/restitution/", views.restitution_request, name="restitution_request"),
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
]
