"""Reads the invoicing pages and API need beyond billing.invoicing_selectors, each scoped.

A client's user sees only its own client's rows (never a draft invoice: drafts are the
provider's until issued); staff see every client's. One row is fetched through
`accounts.selectors.scoped_get`, so another client's id is a 404, never a 403.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Client, User
from accounts.selectors import scoped, scoped_get

from .models import Deposit, Dispute, FapiaoRequest, InterestRate, Invoice, Payment, Price, SetOff


def invoice_get(*, user: User, pk) -> Invoice:
    """One invoice or credit note the user may see; a client's user never sees a draft."""
    invoice = scoped_get(
        Invoice.objects.select_related("client__provider", "provider", "credit_note_for"),
        user=user,
        pk=pk,
    )
    if not user.is_provider_staff and invoice.status == Invoice.Status.DRAFT:
        raise Http404
    return invoice


def staff_invoice_list(*, filters: dict | None = None) -> QuerySet[Invoice]:
    """Every client's invoices for billing staff (drafts first when asked), newest first."""
    filters = filters or {}
    qs = Invoice.objects.select_related("client").only(
        "id",
        "client__id",
        "client__legal_name",
        "kind",
        "number",
        "status",
        "invoice_date",
        "due_date",
        "currency",
        "total",
        "amount_paid",
        "created_at",
    )
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("client"):
        qs = qs.filter(client_id=filters["client"])
    return qs.order_by("-created_at", "-id")


def overdue_invoices() -> QuerySet[Invoice]:
    """Invoices past their due date (art. 4.5), the longest overdue first."""
    return (
        Invoice.objects.filter(status=Invoice.Status.OVERDUE)
        .select_related("client")
        .order_by("due_date", "id")
    )


def payment_list(*, user: User, client: Client | None = None) -> QuerySet[Payment]:
    qs = scoped(
        Payment.objects.select_related("invoice"), user=user, client_field="invoice__client"
    )
    if client is not None:
        qs = qs.filter(invoice__client_id=client.pk)
    return qs.order_by("-received_on", "-pk")


def payment_get(*, user: User, pk) -> Payment:
    return scoped_get(
        Payment.objects.select_related("invoice"), user=user, pk=pk, client_field="invoice__client"
    )


def deposit_list(*, user: User, client: Client | None = None, status: str = "") -> QuerySet:
    qs = scoped(Deposit.objects.select_related("client"), user=user)
    if client is not None:
        qs = qs.filter(client_id=client.pk)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-demanded_at", "-pk")


def deposit_get(*, user: User, pk) -> Deposit:
    return scoped_get(Deposit.objects.select_related("client__provider"), user=user, pk=pk)


def set_off_list(*, user: User, client: Client | None = None) -> QuerySet[SetOff]:
    qs = scoped(
        SetOff.objects.select_related("client", "invoice", "deposit", "restitution", "credit_note"),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client_id=client.pk)
    return qs.order_by("-recorded_at", "-pk")


def set_off_get(*, user: User, pk) -> SetOff:
    return scoped_get(
        SetOff.objects.select_related("client", "invoice", "deposit", "restitution", "credit_note"),
        user=user,
        pk=pk,
    )


def dispute_list(*, user: User, client: Client | None = None, status: str = "") -> QuerySet:
    qs = scoped(
        Dispute.objects.select_related("invoice__client", "credit_note"),
        user=user,
        client_field="invoice__client",
    )
    if client is not None:
        qs = qs.filter(invoice__client_id=client.pk)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-raised_at", "-pk")


def dispute_get(*, user: User, pk) -> Dispute:
    return scoped_get(
        Dispute.objects.select_related(
            "invoice__client__provider", "invoice__provider", "credit_note"
        ),
        user=user,
        pk=pk,
        client_field="invoice__client",
    )


def fapiao_request_list(*, user: User, client: Client | None = None, status: str = "") -> QuerySet:
    qs = scoped(
        FapiaoRequest.objects.select_related("invoice__client", "invoice__provider"),
        user=user,
        client_field="invoice__client",
    )
    if client is not None:
        qs = qs.filter(invoice__client_id=client.pk)
    if status:
        qs = qs.filter(status=status)
    return (
        qs.order_by("due_at", "pk")
        if status == FapiaoRequest.Status.REQUESTED
        else qs.order_by("-confirmed_at", "-pk")
    )


def fapiao_request_get(*, user: User, pk) -> FapiaoRequest:
    return scoped_get(
        FapiaoRequest.objects.select_related("invoice__client__provider", "invoice__provider"),
        user=user,
        pk=pk,
        client_field="invoice__client",
    )


def price_list(*, user: User, client: Client | None = None) -> QuerySet[Price]:
    qs = scoped(Price.objects.all(), user=user)
    if client is not None:
        qs = qs.filter(client_id=client.pk)
    return qs.order_by("client_id", "channel", "-valid_from")


def interest_rate_list(*, provider_code: str = "") -> QuerySet[InterestRate]:
    qs = InterestRate.objects.select_related("provider")
    if provider_code:
        qs = qs.filter(provider__code=provider_code)
    return qs.order_by("provider__code", "-valid_from")


def queue_counts() -> dict:
    """Sizes of the invoicing queues on the billing staff's dashboard."""
    return {
        "drafts": Invoice.objects.filter(status=Invoice.Status.DRAFT).count(),
        "overdue": Invoice.objects.filter(status=Invoice.Status.OVERDUE).count(),
        "disputes": Dispute.objects.filter(
            status__in=[Dispute.Status.OPEN, Dispute.Status.ESCALATED]
        ).count(),
        "fapiao": FapiaoRequest.objects.filter(status=FapiaoRequest.Status.REQUESTED).count(),
    }
