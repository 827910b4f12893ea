"""Reads of premium services' revenue, scoped: staff see their providers' clients, a client's users
their own client's; another's id is NotFound (404), and so is everything for a client whose
provider does not offer premium services (the profile's `offers_premium_services`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from accounts.kernel.errors import NotFound
from accounts.models import Client, User
from accounts.selectors import providers_visible_to, scoped
from billing.models import (
    PremiumDispute,
    PremiumDisputeDocument,
    PremiumLedgerEntry,
    PremiumServiceChange,
    PremiumStatement,
)

ZERO = Decimal("0")
Kind = PremiumLedgerEntry.Kind
OFFERED = {"client__provider__offers_premium_services": True}


def premium_offered_to(user: User) -> bool:
    """Whether the user sees premium services at all: a client's users when their provider
    offers them, staff when one of the providers they serve does (the navigation and the pages)."""
    if not user.is_authenticated:
        return False
    if not user.is_provider_staff and not user.client_id:
        return False
    return providers_visible_to(user).filter(offers_premium_services=True).exists()


def require_offered(user: User) -> None:
    """Pages and API of premium services answer 404 to whoever has none (a cm-cn client)."""
    if not premium_offered_to(user):
        raise NotFound


def statement_list(*, user: User, client: Client | None = None) -> QuerySet[PremiumStatement]:
    qs = scoped(
        PremiumStatement.objects.filter(**OFFERED).select_related("client__provider"), user=user
    )
    if not user.is_provider_staff:
        # a draft is the staff's work in progress: the client sees a statement once issued
        qs = qs.filter(status=PremiumStatement.Status.ISSUED)
    if client is not None:
        qs = qs.filter(client=client)
    return qs.order_by("-period_start", "-pk")


def statement_get(*, user: User, pk: int | str) -> PremiumStatement:
    statement = statement_list(user=user).filter(pk=pk).first()
    if statement is None:
        raise NotFound
    return statement


@dataclass
class StatementSummary:
    """What a statement shows both sides: what the operator billed and actually paid, what was
    deducted (by kind), offset and paid out, and what is left to pay out (never more than was
    received) or, when deductions exceed it, what the client owes."""

    currency: str
    billed: Decimal | None
    received: Decimal
    not_received: Decimal | None
    deductions: dict[str, Decimal] = field(default_factory=dict)
    offsets: Decimal = ZERO
    paid_out: Decimal = ZERO
    balance: Decimal = ZERO
    dispute_open: bool = False

    @property
    def available(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def owed_by_client(self) -> Decimal:
        return max(-self.balance, ZERO)

    @property
    def deduction_rows(self) -> list[tuple[str, Decimal]]:
        return [(str(Kind(k).label), -v) for k, v in self.deductions.items()]


def statement_summary(
    statement: PremiumStatement, now: dt.datetime | None = None
) -> StatementSummary:
    sums = {
        row["kind"]: row["total"]
        for row in PremiumLedgerEntry.objects.filter(statement=statement)
        .values("kind")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    billed_rows = PremiumLedgerEntry.objects.filter(statement=statement, kind=Kind.RECEIPT)
    billed = billed_rows.filter(operator_billed__isnull=False).aggregate(s=Sum("operator_billed"))[
        "s"
    ]
    received = sums.get(Kind.RECEIPT, ZERO)
    # what the operators billed and have not paid (yet): shown, never paid out
    billed_paid = billed_rows.filter(operator_billed__isnull=False).aggregate(s=Sum("amount"))["s"]
    not_received = None if billed is None else billed - (billed_paid or ZERO)
    now = now or timezone.now()
    return StatementSummary(
        currency=statement.currency,
        billed=billed,
        received=received,
        not_received=not_received,
        deductions={
            k: sums[k]
            for k in (
                Kind.CHARGEBACK,
                Kind.CHARGEBACK_FEE,
                Kind.COMPLAINT_FEE,
                Kind.REFUND_CAMPAIGN,
                Kind.TAX_WITHHELD,
            )
            if k in sums
        },
        offsets=-sums.get(Kind.OFFSET, ZERO),
        paid_out=-sums.get(Kind.PAYOUT, ZERO),
        balance=sum(sums.values(), ZERO),
        dispute_open=bool(statement.dispute_deadline and now <= statement.dispute_deadline),
    )


def statement_entries(statement: PremiumStatement) -> QuerySet[PremiumLedgerEntry]:
    return (
        PremiumLedgerEntry.objects.filter(statement=statement)
        .select_related("set_off__invoice")
        .order_by("recorded_at", "pk")
    )


def payout_list(*, user: User, client: Client | None = None) -> QuerySet[PremiumLedgerEntry]:
    """Every payout the user may see, newest first (the client sees what it was paid)."""
    qs = scoped(
        PremiumLedgerEntry.objects.filter(kind=Kind.PAYOUT, **OFFERED).select_related(
            "statement", "client"
        ),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client=client)
    return qs.order_by("-recorded_at", "-pk")


def dispute_list(*, user: User, client: Client | None = None) -> QuerySet[PremiumDispute]:
    qs = scoped(
        PremiumDispute.objects.filter(**OFFERED)
        .select_related("statement", "client", "raised_by")
        .prefetch_related("documents"),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client=client)
    return qs.order_by("-raised_at", "-pk")


def dispute_get(*, user: User, pk: int | str) -> PremiumDispute:
    dispute = dispute_list(user=user).filter(pk=pk).first()
    if dispute is None:
        raise NotFound
    return dispute


def document_get(*, user: User, pk: int | str) -> FieldFile:
    """A dispute's document for the parties only (anyone else: 404)."""
    document = (
        scoped(PremiumDisputeDocument.objects.all(), user=user, client_field="dispute__client")
        .filter(pk=pk, dispute__client__provider__offers_premium_services=True)
        .first()
    )
    if document is None or not document.file:
        raise NotFound
    return document.file


def service_change_list(
    *, user: User, client: Client | None = None
) -> QuerySet[PremiumServiceChange]:
    qs = scoped(
        PremiumServiceChange.objects.filter(**OFFERED).select_related("client", "notified_by"),
        user=user,
    )
    if client is not None:
        qs = qs.filter(client=client)
    return qs.order_by("-notified_at", "-pk")


def service_change_get(*, user: User, pk: int | str) -> PremiumServiceChange:
    notice = service_change_list(user=user).filter(pk=pk).first()
    if notice is None:
        raise NotFound
    return notice
