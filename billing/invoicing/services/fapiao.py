"""Fapiao (art. 4.8): the client confirms an invoice in writing, staff record the fapiao issued
within 7 days, and requests past their deadline are flagged."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext
from stdnum.cn import uscc

from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_date, clean_money
from accounts.kernel.l10n import money
from accounts.kernel.money import round_money, to_decimal
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.kernel.roles import require_billing_staff, require_client_admin
from accounts.models import Provider, User
from billing.models import FapiaoRequest, Invoice

from . import _common
from ._common import BATCH, HUNDRED

DIGITAL_KINDS = (FapiaoRequest.Kind.DIGITAL_SPECIAL, FapiaoRequest.Kind.DIGITAL_GENERAL)
SPECIAL_KINDS = (FapiaoRequest.Kind.DIGITAL_SPECIAL, FapiaoRequest.Kind.PAPER_SPECIAL)
BUYER_DETAILS = ("buyer_address", "buyer_phone", "buyer_bank", "buyer_account")


def fapiao_overdue(now: dt.datetime) -> Q:
    """A fapiao is overdue while it is still requested after its deadline, 7 days from the
    client's written confirmation (art. 4.8). A filter, so lists annotate it and the job
    selects by it."""
    return Q(status=FapiaoRequest.Status.REQUESTED, due_at__lt=now)


def _require_fapiao(provider: Provider) -> None:
    if not provider.fapiao_enabled:
        raise ApplicationError(
            gettext("%(provider)s does not issue fapiao; its invoices are VAT invoices (art. 4.8).")
            % {"provider": provider.name},
            field="invoice",
            article="4.8",
        )


def fapiao_confirm_check(*, invoice: Invoice, acting_user: User | None) -> None:
    """Raise why `acting_user` may not confirm `invoice` for a fapiao now (art. 4.8): only a
    client admin of the invoice's client, under a profile with fapiao, for an issued invoice
    not confirmed before."""
    _require_fapiao(invoice.provider)
    require_client_admin(
        acting_user,
        invoice.client,
        message=gettext("Only an admin of this client may do this (art. 5.2, 4.8)."),
        article="4.8",
    )
    if invoice.kind != Invoice.Kind.INVOICE or invoice.status in (
        Invoice.Status.DRAFT,
        Invoice.Status.VOID,
    ):
        raise ApplicationError(
            gettext("Only an issued invoice is confirmed for a fapiao (art. 4.8)."),
            field="invoice",
            article="4.8",
        )
    if FapiaoRequest.objects.filter(invoice=invoice).exists():
        raise Conflict(
            gettext("This invoice has already been confirmed for a fapiao."),
            field="invoice",
            article="4.8",
        )


BUYER_LIMITS = {
    "buyer_name": 300,
    "buyer_tax_id": 18,
    "buyer_address": 300,
    "buyer_phone": 50,
    "buyer_bank": 200,
    "buyer_account": 50,
}


def fapiao_buyer_initial(invoice: Invoice) -> dict[str, str]:
    """The buyer's details a fapiao request starts from: the client's registration details
    (legal name, registration number as the USCC, address); the client confirms or corrects
    them. The Client model keeps no phone or bank details, so those start empty."""
    client = invoice.client
    return {
        "buyer_name": client.legal_name,
        "buyer_tax_id": client.registration_number,
        "buyer_address": " ".join(client.address.split()),
    }


def _buyer_clean(buyer: dict[str, Any]) -> dict[str, str]:
    """The buyer's details as the client gave them: a name, a valid USCC, and the optional
    address, phone, bank and account within their lengths; every field's error at once."""
    unknown = set(buyer) - set(BUYER_LIMITS)
    if unknown:
        raise ValidationFailed(
            {name: [gettext("Not a buyer detail of a fapiao.")] for name in sorted(unknown)},
            article="4.8",
        )
    values = {name: str(buyer.get(name) or "").strip() for name in BUYER_LIMITS}
    values["buyer_tax_id"] = values["buyer_tax_id"].upper()
    errors: dict[str, list[str]] = {}
    for name, limit in BUYER_LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = [
                gettext("At most %(limit)s characters.") % {"limit": limit},
            ]
    if not values["buyer_name"]:
        errors.setdefault("buyer_name", [gettext("Give the buyer's name.")])
    if "buyer_tax_id" not in errors and not uscc.is_valid(values["buyer_tax_id"]):
        errors["buyer_tax_id"] = [
            gettext("The buyer's taxpayer ID is not a valid Unified Social Credit Code.")
        ]
    if errors:
        raise ValidationFailed(errors, article="4.8")
    return values


@transaction.atomic
def fapiao_confirm(
    *, invoice: Invoice, acting_user: User, buyer: dict[str, Any] | None = None
) -> FapiaoRequest:
    """The client confirms an issued invoice in writing; the fapiao is due 7 days later (art. 4.8).

    "CM will send invoice to client, and then provide Fapiao to client within seven (7) days
    upon receipt of written confirmation from the client." Only a client admin confirms,
    and only under a profile with fapiao (`fapiao_confirm_check`). With `buyer`, the buyer's
    details the client confirmed or corrected (the form starts from `fapiao_buyer_initial`)
    are kept on the request for the staff who issue the fapiao; bad details are refused,
    each named on its field, and nothing is recorded.
    """
    invoice = _common.lock_invoice(invoice)
    fapiao_confirm_check(invoice=invoice, acting_user=acting_user)
    values = _buyer_clean(buyer) if buyer is not None else {}
    now = _common.now()
    request = FapiaoRequest(
        invoice=invoice,
        confirmed_by=acting_user,
        confirmed_at=now,
        due_at=now + dt.timedelta(days=invoice.provider.fapiao_due_days),
        **values,
    )
    with_history_user(request, acting_user).save()
    notify(
        key=f"fapiao-requested:{request.pk}",
        client=invoice.client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=invoice.client.provider_id),
        subject=lambda: gettext("Fapiao requested for %(number)s") % {"number": invoice.number},
        body=lambda: (
            gettext(
                "%(client)s confirmed invoice %(number)s; the fapiao is due by %(due)s UTC (art. 4.8)."
            )
            % {
                "client": invoice.client.legal_name,
                "number": invoice.number,
                "due": f"{request.due_at:%Y-%m-%d %H:%M}",
            }
        ),
    )
    return request


def _number_errors(kind: str, number: str, code: str) -> dict[str, list[str]]:
    """A fully digital fapiao has a 20-digit number and no code; a paper one a 10- or 12-digit
    code and an 8-digit number."""
    errors: dict[str, list[str]] = {}
    if kind in DIGITAL_KINDS:
        if not re.fullmatch(r"\d{20}", number):
            errors["fapiao_number"] = [
                gettext("A fully digital fapiao number has exactly 20 digits.")
            ]
        if code:
            errors["fapiao_code"] = [gettext("A fully digital fapiao has no separate code.")]
    else:
        if not re.fullmatch(r"\d{10}|\d{12}", code):
            errors["fapiao_code"] = [gettext("A paper fapiao code has 10 or 12 digits.")]
        if not re.fullmatch(r"\d{8}", number):
            errors["fapiao_number"] = [gettext("A paper fapiao number has 8 digits.")]
    return errors


def _buyer_errors(
    kind: str, buyer_name: str, tax_id: str, buyer: dict[str, Any]
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (buyer_name or "").strip():
        errors["buyer_name"] = [gettext("Give the buyer's name.")]
    if not uscc.is_valid(tax_id):
        errors["buyer_tax_id"] = [
            gettext("The buyer's taxpayer ID is not a valid Unified Social Credit Code.")
        ]
    if kind in SPECIAL_KINDS:
        for field_name, value in buyer.items():
            if not value:
                errors[field_name] = [
                    gettext(
                        "A special VAT fapiao carries the buyer's address, phone, bank and account."
                    )
                ]
    return errors


def _amount_errors(
    invoice: Invoice, amount: Decimal, rate: Decimal, tax: Decimal, gross: Decimal
) -> dict[str, list[str]]:
    """The fapiao covers the invoice's subtotal; tax = round(amount × rate) half-up; total =
    amount + tax."""
    errors: dict[str, list[str]] = {}
    if amount != invoice.subtotal:
        errors["amount_excl_tax"] = [
            gettext("The fapiao covers the invoice: %(currency)s %(subtotal)s excluding tax.")
            % {"currency": invoice.currency, "subtotal": invoice.subtotal}
        ]
    if tax != round_money(amount * rate / HUNDRED):
        errors["tax_amount"] = [
            gettext("Tax at %(rate)s %% of %(amount)s is %(amount2)s.")
            % {"rate": rate, "amount": amount, "amount2": round_money(amount * rate / HUNDRED)}
        ]
    if gross != amount + tax:
        errors["total"] = [
            gettext("The total is the amount plus tax: %(amount)s.") % {"amount": amount + tax}
        ]
    return errors


def _record_issued(request: FapiaoRequest, values: dict[str, Any], acting_user: User) -> None:
    """Store the checked fapiao on its request and tell the client (art. 4.8)."""
    for field_name, value in values.items():
        setattr(request, field_name, value)
    request.status = FapiaoRequest.Status.ISSUED
    request.issued_by, request.issued_at = acting_user, _common.now()
    with_history_user(request, acting_user).save()
    invoice = request.invoice
    notify(
        key=f"fapiao-issued:{request.pk}",
        client=invoice.client,
        recipients=client_recipients(invoice.client),
        subject=lambda: gettext("Fapiao for invoice %(number)s") % {"number": invoice.number},
        body=lambda: (
            gettext("%(kind)s %(code)s %(number)s of %(date)s: %(amount)s (art. 4.8).")
            % {
                "kind": request.get_kind_display(),
                "code": request.fapiao_code,
                "number": request.fapiao_number,
                "date": f"{request.issue_date:%Y-%m-%d}",
                "amount": money(request.total, invoice.currency),
            }
        ),
    )


def _lock_request(request: FapiaoRequest) -> FapiaoRequest:
    return (
        FapiaoRequest.objects.select_for_update(of=("self",))
        .select_related("invoice__provider", "invoice__client")
        .get(pk=request.pk)
    )


@transaction.atomic
def fapiao_issue(
    *,
    request: FapiaoRequest,
    acting_user: User,
    kind: str,
    number: str,
    code: str = "",
    issue_date: dt.date,
    buyer_name: str,
    buyer_tax_id: str,
    buyer_address: str = "",
    buyer_phone: str = "",
    buyer_bank: str = "",
    buyer_account: str = "",
    amount_excl_tax,
    tax_rate=None,
    tax_amount,
    total,
) -> FapiaoRequest:
    """Staff record the fapiao issued for a confirmed invoice, its format checked (art. 4.8).

    A fully digital fapiao (数电票, special or general) has a 20-digit number and no code; a
    paper one a 10- or 12-digit code and an 8-digit number. The buyer's taxpayer ID is a valid
    Unified Social Credit Code; a special VAT fapiao also carries the buyer's address, phone,
    bank and account. The tax rate is the profile's (6 % for value-added telecom services) unless
    given; tax = round(amount × rate) half-up and total = amount + tax; the amount excluding
    tax is the invoice's subtotal.
    """
    require_billing_staff(acting_user)
    request = _lock_request(request)
    invoice = request.invoice
    _require_fapiao(invoice.provider)
    if request.status != FapiaoRequest.Status.REQUESTED:
        raise ApplicationError(
            gettext("The fapiao for this invoice has already been issued."),
            field="status",
            article="4.8",
        )
    if kind not in FapiaoRequest.Kind.values:
        raise ValidationFailed(
            {
                "kind": [
                    gettext("The kind is one of %(choices)s.")
                    % {"choices": ", ".join(FapiaoRequest.Kind.values)}
                ]
            },
            article="4.8",
        )
    number, code = (number or "").strip(), (code or "").strip()
    errors = _number_errors(kind, number, code)
    issue_date = clean_date(issue_date, field="issue_date")
    if issue_date > _common.today(invoice.provider):
        errors["issue_date"] = [gettext("A fapiao is not dated in the future.")]
    tax_id = (buyer_tax_id or "").strip().upper()
    raw_buyer = (buyer_address, buyer_phone, buyer_bank, buyer_account)
    buyer = {k: (v or "").strip() for k, v in zip(BUYER_DETAILS, raw_buyer, strict=True)}
    errors.update(_buyer_errors(kind, buyer_name, tax_id, buyer))
    amount = clean_money(amount_excl_tax, field="amount_excl_tax", article="4.8")
    rate = (
        invoice.provider.default_vat_rate
        if tax_rate is None
        else to_decimal(tax_rate, field="tax_rate")
    )
    tax = clean_money(tax_amount, field="tax_amount", allow_zero=True, article="4.8")
    gross = clean_money(total, field="total", article="4.8")
    errors.update(_amount_errors(invoice, amount, rate, tax, gross))
    duplicate = FapiaoRequest.objects.filter(
        fapiao_code=code, fapiao_number=number, status=FapiaoRequest.Status.ISSUED
    )
    if number and duplicate.exclude(pk=request.pk).exists():
        errors["fapiao_number"] = [
            gettext("A fapiao with this code and number is already recorded.")
        ]
    if errors:
        raise ValidationFailed(errors, article="4.8")
    values = {
        "kind": kind,
        "fapiao_number": number,
        "fapiao_code": code,
        "issue_date": issue_date,
        "buyer_name": buyer_name.strip(),
        "buyer_tax_id": tax_id,
        **buyer,
        "amount_excl_tax": amount,
        "tax_rate": rate,
        "tax_amount": tax,
        "total": gross,
    }
    _record_issued(request, values, acting_user)
    return request


def fapiao_overdue_flag(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Job: flag fapiao requests past their 7-day deadline to billing staff, once each (art. 4.8)."""
    now = now or _common.now()
    flagged = 0
    while True:
        batch = list(
            FapiaoRequest.objects.filter(fapiao_overdue(now), overdue_flagged_at=None)
            .select_related("invoice__client")
            .order_by("pk")[:BATCH]
        )
        for request in batch:
            with transaction.atomic():
                if not FapiaoRequest.objects.filter(pk=request.pk, overdue_flagged_at=None).update(
                    overdue_flagged_at=now
                ):
                    continue
                notify(
                    key=f"fapiao-overdue:{request.pk}",
                    client=request.invoice.client,
                    recipients=staff_emails(
                        User.Role.BILLING_STAFF, provider=request.invoice.client.provider_id
                    ),
                    subject=lambda: (
                        gettext("Fapiao overdue for %(number)s")
                        % {"number": request.invoice.number}
                    ),
                    body=lambda: (
                        gettext("The fapiao was due by %(due)s UTC (art. 4.8).")
                        % {"due": f"{request.due_at:%Y-%m-%d %H:%M}"}
                    ),
                )
                flagged += 1
        if len(batch) < BATCH:
            return {"flagged": flagged}
