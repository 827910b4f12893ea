"""Pages of invoicing (art. 4, 9, 10): the client's invoices (keyset-paged list, detail with
lines, payments, interest so far, disputes, what is due now, fapiao, PDF), deposits and
set-offs; the billing staff's drafts, issue, void, payments, deposits, set-offs, disputes
queue, fapiao queue and overdue list.

Thin views: forms check the shape, billing.invoicing.services make every change and refuse
with an ApplicationError shown on the field it names, billing.invoicing.selectors read (scoped:
another client's id is 404) and compute what a page shows or offers.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.forms import add_service_error
from accounts.kernel.errors import ApplicationError, NotFound, ValidationFailed
from accounts.kernel.l10n import money
from accounts.kernel.pages import PAGE_SIZE, billing_staff_required, not_allowed_is_403, paginate
from billing.models import Dispute, FapiaoRequest, Invoice, Recharge

from . import einvoice, selectors
from .forms import (
    DEPOSIT_ACTION_LABELS,
    DEPOSIT_ACTIONS,
    DepositDemandForm,
    DisputeForm,
    DraftInvoiceForm,
    EscalateForm,
    FapiaoConfirmForm,
    FapiaoIssueForm,
    InvoiceFilterForm,
    IssueForm,
    PaymentForm,
    ResolveForm,
    SetOffClientForm,
    SetOffForm,
    VoidForm,
)
from .payment_qr import epc_qr_data_uri
from .pdf import invoice_pdf, invoice_pdf_filename
from .services import _common
from .services import deposits as deposit_services
from .services import disputes as dispute_services
from .services import fapiao as fapiao_services
from .services import invoices as invoice_services
from .services import payments as payment_services
from .services import set_offs as set_off_services


def _own_client(request):
    if not request.user.client_id:
        raise Http404
    return account_selectors.client_get(user=request.user, pk=request.user.client_id)


def _client_filter(request):
    """Staff may narrow a list to one client with ?client=; a client's user sees its own."""
    if not request.user.is_provider_staff:
        return _own_client(request)
    raw = request.GET.get("client") or ""
    return account_selectors.client_get(user=request.user, pk=int(raw)) if raw.isdigit() else None


# --- Invoice list ---------------------------------------------------------------------------
@login_required
def invoice_list(request):
    """The client's invoices, newest first, by state and month; keyset pages (constant cost)."""
    if request.user.is_provider_staff:
        return staff_invoice_list(request)
    client = _own_client(request)
    form = InvoiceFilterForm(
        request.GET if ("status" in request.GET or "period" in request.GET) else None
    )
    try:
        page = selectors.invoice_list(
            user=request.user,
            client=client,
            filters=form.filters(),
            cursor=request.GET.get("cursor") or None,
            page_size=PAGE_SIZE,
        )
    except ValueError:
        raise Http404 from None
    return render(
        request,
        "billing/invoices/list.html",
        {
            "client": client,
            "form": form,
            # the client's provider sends e-invoices: each issued row links its XML too
            "einvoices": einvoice.provider_einvoice_ready(client.provider),
            "invoices": page.items,
            "next_cursor": page.next_cursor,
            "paged": bool(request.GET.get("cursor")),
        },
    )


@billing_staff_required
def staff_invoice_list(request):
    status = request.GET.get("status") or ""
    client = _client_filter(request)
    qs = selectors.staff_invoice_list(
        user=request.user,
        filters={
            "status": status if status in Invoice.Status.values else "",
            "client": client and client.pk,
        },
    )
    return render(
        request,
        "billing/invoices/staff_list.html",
        {
            "invoices": paginate(request, qs),
            "statuses": Invoice.Status.choices,
            "status": status,
            "client_filter": client,
            "counts": selectors.queue_counts(user=request.user),
        },
    )


@billing_staff_required
def overdue_list(request):
    """Invoices past their due date, the longest overdue first (art. 4.5, 7.1)."""
    return render(
        request,
        "billing/invoices/overdue.html",
        {"invoices": paginate(request, selectors.overdue_invoices(user=request.user))},
    )


# --- Invoice detail -------------------------------------------------------------------------
def _detail_context(request, pk: int, bound: dict | None = None) -> dict:
    bound = bound or {}
    detail = selectors.invoice_detail(user=request.user, pk=pk)
    invoice = detail.invoice
    can = selectors.invoice_actions(user=request.user, invoice=invoice)
    provider = invoice.provider
    today = _common.today(provider)
    context = {
        "d": detail,
        "qr_src": epc_qr_data_uri(detail.pay.epc if detail.pay else None),
        "invoice": invoice,
        "client": invoice.client,
        "provider": provider,
        "staff_view": request.user.is_provider_staff,
        "fapiao_enabled": provider.fapiao_enabled,
        "einvoice_ready": einvoice.einvoice_ready(invoice),
        "einvoice_missing": (
            einvoice.einvoice_missing(provider) if einvoice.einvoice_applies(invoice) else []
        ),
        "can_confirm_fapiao": can.confirm_fapiao,
        "fapiao_form": (
            bound.get("fapiao_form") or FapiaoConfirmForm(invoice=invoice, prefix="fapiao")
        )
        if can.confirm_fapiao
        else None,
        "dispute_form": bound.get("dispute_form")
        or (DisputeForm(invoice=invoice) if can.dispute else None),
        "dispute_closed_reason": "" if "dispute_form" in bound else can.dispute_closed_reason,
    }
    if request.user.is_billing_staff:
        context["issue_form"] = (bound.get("issue_form") or IssueForm()) if can.issue else None
        context["void_form"] = (bound.get("void_form") or VoidForm()) if can.void else None
        context["payment_form"] = (
            (bound.get("payment_form") or PaymentForm(initial={"received_on": today}))
            if can.record_payment
            else None
        )
        context["open_action"] = bound.get("open_action")
    return context


def _render_detail(request, pk: int, bound=None, status=200):
    return render(
        request,
        "billing/invoices/detail.html",
        _detail_context(request, pk, bound),
        status=status,
    )


@login_required
def invoice_detail(request, pk: int):
    return _render_detail(request, pk)


@login_required
def invoice_pdf_download(request, pk: int):
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
    return response


@login_required
def invoice_einvoice_download(request, pk: int):
    """The e-invoice XML alone (EN 16931, Factur-X CII; issue 14 §3), under the same tenant
    rules as the PDF: another client's id is 404; an invoice without one is 404 too, and one
    whose profile still lacks the seller's VAT number is 409 naming the field."""
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    try:
        document = einvoice.invoice_einvoice(invoice)
    except NotFound:
        raise
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(document.xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


def _invoice_action(form_name: str, form_class, call, *, staff: bool, field_map=None):
    """A POST on one invoice: bind the form, call the service, show a refusal on its field."""

    @require_POST
    @login_required
    def view(request, pk: int):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        if staff and not request.user.is_billing_staff:
            raise PermissionDenied
        form = form_class(
            request.POST, **({"invoice": invoice} if form_class is DisputeForm else {})
        )
        if form.is_valid():
            try:
                with not_allowed_is_403():
                    done = call(request, invoice, form.cleaned_data)
            except ApplicationError as exc:
                add_service_error(form, exc, field_map=field_map)
            else:
                messages.success(request, done[0])
                return redirect("billing:invoice_detail", pk=done[1])
        return _render_detail(
            request, invoice.pk, {form_name: form, "open_action": form_name}, status=400
        )

    return view


def _dispute(request, invoice, data):
    dispute = dispute_services.dispute_raise(
        invoice=invoice, amount=data["amount"], reason=data["reason"], acting_user=request.user
    )
    withholding = dispute_services.dispute_withholding(
        invoice=invoice, amount=dispute.amount, allowed=dispute.withholdable
    )
    return f"Dispute raised. {withholding.outcome}", invoice.pk


def _issue(request, invoice, data):
    issued = invoice_services.invoice_issue(
        invoice=invoice, acting_user=request.user, invoice_date=data["invoice_date"]
    )
    return (
        f"Invoice {issued.number} issued, due on {issued.due_date:%d %b %Y}; the client is emailed.",
        issued.pk,
    )


def _void(request, invoice, data):
    note = invoice_services.invoice_void(
        invoice=invoice, acting_user=request.user, reason=data["reason"]
    )
    if note is None:
        return "Draft voided.", invoice.pk
    return f"Invoice {invoice.number} voided by credit note {note.number}.", invoice.pk


def _payment(request, invoice, data):
    payment = payment_services.payment_record(
        invoice=invoice,
        amount=data["amount"],
        bank_fee=data["bank_fee"] or 0,
        received_on=data["received_on"],
        reference=data["reference"],
        idempotency_key=f"page-payment:{data['key']}",
        acting_user=request.user,
        excess_to_credit=bool(data.get("excess_to_credit")),
    )
    return f"Payment of {payment.currency} {payment.amount} recorded.", invoice.pk


invoice_dispute = _invoice_action("dispute_form", DisputeForm, _dispute, staff=False)
invoice_issue = _invoice_action("issue_form", IssueForm, _issue, staff=True)
invoice_void = _invoice_action("void_form", VoidForm, _void, staff=True)
invoice_payment = _invoice_action(
    "payment_form", PaymentForm, _payment, staff=True, field_map={"idempotency_key": "__all__"}
)


@require_POST
@login_required
def invoice_confirm_fapiao(request, pk: int):
    """The client admin confirms the invoice in writing for a fapiao (art. 4.8)."""
    invoice = selectors.invoice_get(user=request.user, pk=pk)
    form = FapiaoConfirmForm(request.POST, prefix="fapiao")
    try:
        with not_allowed_is_403():
            fapiao_services.fapiao_confirm_check(invoice=invoice, acting_user=request.user)
            if not form.is_valid():
                return _render_detail(request, pk, {"fapiao_form": form}, status=400)
            fapiao = fapiao_services.fapiao_confirm(
                invoice=invoice, acting_user=request.user, buyer=form.cleaned_data
            )
    except ValidationFailed as exc:
        add_service_error(form, exc)
        return _render_detail(request, pk, {"fapiao_form": form}, status=400)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        local = timezone.localtime(fapiao.due_at, timezone=ZoneInfo(invoice.provider.timezone))
        messages.success(
            request,
            _("Confirmed in writing: the fapiao is due by %(date)s (art. 4.8).")
            % {"date": date_format(local.date())},
        )
    return redirect("billing:invoice_detail", pk=invoice.pk)


@billing_staff_required
def invoice_new(request):
    """Staff draft a manual invoice (art. 4.1); issuing is a second step."""
    initial = {}
    if request.GET.get("client", "").isdigit():
        initial["client"] = int(request.GET["client"])
    form = DraftInvoiceForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            draft = invoice_services.invoice_draft(
                client=form.cleaned_data["client"],
                lines=form.lines(),
                notes=form.cleaned_data["notes"],
                acting_user=request.user,
                payment_term_days=form.cleaned_data["payment_term_days"],
            )
        except ApplicationError as exc:
            add_service_error(
                form,
                exc,
                field_map={f"lines[{i}].unit_price": f"unit_price_{i + 1}" for i in range(3)},
            )
        else:
            messages.success(
                request,
                _("Draft of %(amount)s saved; check it and issue it.")
                % {"amount": money(draft.total, draft.currency)},
            )
            return redirect("billing:invoice_detail", pk=draft.pk)
    return render(
        request, "billing/invoices/new.html", {"form": form}, status=400 if form.errors else 200
    )


# --- Deposits and set-offs ------------------------------------------------------------------
def _deposits_context(request, bound=None) -> dict:
    bound = bound or {}
    client = _client_filter(request)
    deposits = paginate(request, selectors.deposit_list(user=request.user, client=client))
    failed = bound.get("failed")
    for deposit in deposits:
        deposit.forms = {}
        for name in selectors.deposit_actions(user=request.user, deposit=deposit):
            if failed and failed[0] == deposit.pk and failed[1] == name:
                deposit.forms[name] = failed[2]
            else:
                deposit.forms[name] = DEPOSIT_ACTIONS[name](
                    prefix=name, auto_id=f"id_d{deposit.pk}_{name}_%s"
                )
    staff = request.user.is_billing_staff
    return {
        "client": client,
        "deposits": deposits,
        "set_offs": selectors.set_off_list(user=request.user, client=client)[:50],
        "demand_form": bound.get("demand_form")
        or (DepositDemandForm(user=request.user) if staff else None),
    }


@login_required
def deposits(request):
    """Deposits demanded and their status, and the set-offs recorded (art. 4.7, 9.1)."""
    return render(request, "billing/invoices/deposits.html", _deposits_context(request))


@require_POST
@billing_staff_required
def deposit_demand(request):
    form = DepositDemandForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            deposit = deposit_services.deposit_demand(acting_user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Deposit of %(amount)s demanded; the client is emailed.")
                % {"amount": money(deposit.amount, deposit.currency)},
            )
            return redirect("billing:deposits")
    return render(
        request,
        "billing/invoices/deposits.html",
        _deposits_context(request, {"demand_form": form}),
        status=400,
    )


DEPOSIT_CALLS = {
    "mark-held": deposit_services.deposit_mark_held,
    "adjust": deposit_services.deposit_adjust,
    "settle": deposit_services.deposit_settle,
    "refund": deposit_services.deposit_refund_record,
}


@require_POST
@billing_staff_required
def deposit_action(request, pk: int, action: str):
    deposit = selectors.deposit_get(user=request.user, pk=pk)
    if action not in DEPOSIT_ACTIONS:
        raise Http404
    form = DEPOSIT_ACTIONS[action](request.POST, prefix=action, auto_id=f"id_d{pk}_{action}_%s")
    if form.is_valid():
        try:
            DEPOSIT_CALLS[action](deposit=deposit, acting_user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Deposit %(pk)s: %(action)s recorded.")
                % {"pk": deposit.pk, "action": DEPOSIT_ACTION_LABELS.get(action, action)},
            )
            return redirect("billing:deposits")
    return render(
        request,
        "billing/invoices/deposits.html",
        _deposits_context(request, {"failed": (pk, action, form)}),
        status=400,
    )


def _set_off_form(request, client, data=None):
    """The set-off form for one client: its open invoices and what the provider owes it."""
    return SetOffForm(
        data,
        sources=selectors.set_off_sources(user=request.user, client=client),
        invoices=selectors.set_off_open_invoices(user=request.user, client=client),
    )


@login_required
def set_offs(request, *, form=None, status=200):
    """Set-offs, each naming what the provider owed and the invoice it settled (art. 9.1).
    Staff first pick one client (by number or name); the form then lists that client's open
    invoices and sources only."""
    client = _client_filter(request)
    client_form = None
    if request.user.is_billing_staff and client is None:
        client_form = SetOffClientForm(
            request.GET if "find-client" in request.GET else None, prefix="find"
        )
        client_form.fields["client"].queryset = account_selectors.clients_visible_to(request.user)
        if client_form.is_bound and client_form.is_valid():
            picked = client_form.cleaned_data["client"]
            return redirect(f"{reverse('billing:set_offs')}?client={picked.pk}")
    if form is None and request.user.is_billing_staff and client is not None:
        form = _set_off_form(request, client)
    context = {
        "client": client,
        "client_form": client_form,
        "set_offs": paginate(request, selectors.set_off_list(user=request.user, client=client)),
        "form": form,
    }
    return render(request, "billing/invoices/set_offs.html", context, status=status)


@login_required
def recharges(request):
    """Sums charged besides usage, each with its source and the invoice that bills it: used
    credit and fee after a chargeback (art. 29.4), assistance (21.5.2, 21.6), audit time
    (21.7.2), activation costs (7.3). Staff see their providers' clients (or one, ?client=)."""
    client = _client_filter(request)
    status = request.GET.get("status") or ""
    if status not in Recharge.Status.values:
        status = ""
    context = {
        "client": client,
        "status": status,
        "statuses": Recharge.Status.choices,
        "recharges": paginate(
            request, selectors.recharge_list(user=request.user, client=client, status=status)
        ),
    }
    return render(request, "billing/invoices/recharges.html", context)


def _found(form, field: str, message: str, read):
    """What `read()` finds, or None with `message` on the form's `field`."""
    try:
        return read()
    except NotFound:
        form.add_error(field, message)
        return None


@require_POST
@billing_staff_required
def set_off_record(request):
    """Record a set-off for the client named by ?client= (art. 9.1)."""
    client = _client_filter(request)
    if client is None:
        return redirect("billing:set_offs")
    form = _set_off_form(request, client, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        source_obj = _found(
            form,
            "source",
            "No such deposit, restitution request or credit note.",
            lambda: selectors.set_off_source_get(
                user=request.user, source=data["source"], pk=data["source_id"]
            ),
        )
        invoice = _found(
            form,
            "invoice",
            "No such invoice.",
            lambda: selectors.invoice_get(user=request.user, pk=data["invoice"]),
        )
        if not form.errors:
            try:
                set_off = set_off_services.set_off_record(
                    client=invoice.client,
                    source=data["source"],
                    source_obj=source_obj,
                    invoice=invoice,
                    amount=data["amount"],
                    acting_user=request.user,
                    idempotency_key=f"page-set-off:{data['key']}",
                )
            except ApplicationError as exc:
                add_service_error(
                    form, exc, field_map={"source_obj": "source", "idempotency_key": "__all__"}
                )
            else:
                messages.success(
                    request,
                    _("%(amount)s set off against %(invoice)s; the client is emailed.")
                    % {
                        "amount": money(set_off.amount, set_off.currency),
                        "invoice": invoice.number,
                    },
                )
                return redirect(f"{reverse('billing:set_offs')}?client={client.pk}")
    return set_offs(request, form=form, status=400)


# --- Disputes queue -------------------------------------------------------------------------
def _dispute_rows(request, failed=None):
    status = request.GET.get("status", "open")
    client = _client_filter(request)
    qs = selectors.dispute_list(
        user=request.user,
        client=client,
        status=status if status in Dispute.Status.values else "",
        unresolved=status == "open",
    )
    page = paginate(request, qs)
    selectors.with_withheld(page)
    for dispute in page:
        if request.user.is_billing_staff and dispute.status in (
            Dispute.Status.OPEN,
            Dispute.Status.ESCALATED,
        ):
            for name, form_class in (("escalate", EscalateForm), ("resolve", ResolveForm)):
                form = (
                    failed[2]
                    if failed and failed[0] == dispute.pk and failed[1] == name
                    else form_class(prefix=name, auto_id=f"id_{name}{dispute.pk}_%s")
                )
                setattr(dispute, f"{name}_form", form)
    return {
        "disputes": page,
        "status": status,
        "statuses": [
            ("open", _("Unresolved (pending check, open or escalated)")),
            *Dispute.Status.choices,
        ],
    }


@login_required
def disputes(request, *, failed=None, status=200):
    """Disputes: the staff's queue (oldest open first) or the client's own (art. 10)."""
    return render(
        request, "billing/invoices/disputes.html", _dispute_rows(request, failed), status=status
    )


@require_POST
@billing_staff_required
def dispute_action(request, pk: int, action: str):
    dispute = selectors.dispute_get(user=request.user, pk=pk)
    if action == "escalate":
        form = EscalateForm(request.POST, prefix="escalate", auto_id=f"id_escalate{pk}_%s")
        call = dispute_services.dispute_escalate
    elif action == "resolve":
        form = ResolveForm(request.POST, prefix="resolve", auto_id=f"id_resolve{pk}_%s")
        call = dispute_services.dispute_resolve
    else:
        raise Http404
    if form.is_valid():
        try:
            call(dispute=dispute, acting_user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_service_error(form, exc, field_map={"status": "__all__"})
        else:
            messages.success(
                request,
                (
                    _("Dispute on %(invoice)s: escalated.")
                    if action == "escalate"
                    else _("Dispute on %(invoice)s: resolved.")
                )
                % {"invoice": dispute.invoice.number},
            )
            return redirect("billing:disputes")
    return disputes(request, failed=(pk, action, form), status=400)


# --- Fapiao queue ---------------------------------------------------------------------------
@login_required
def fapiao_queue(request, *, failed=None, status=200):
    """Fapiao requests, nearest deadline first; staff record the issued fapiao (art. 4.8)."""
    state = request.GET.get("status", "requested")
    client = _client_filter(request)
    qs = selectors.fapiao_request_list(
        user=request.user,
        client=client,
        status=state if state in FapiaoRequest.Status.values else "",
    )
    page = paginate(request, qs)
    for item in page:
        if request.user.is_billing_staff and item.status == FapiaoRequest.Status.REQUESTED:
            item.issue_form = (
                failed[1]
                if failed and failed[0] == item.pk
                else FapiaoIssueForm(request=item, prefix="fapiao", auto_id=f"id_f{item.pk}_%s")
            )
    return render(
        request,
        "billing/invoices/fapiao.html",
        {"items": page, "status": state, "statuses": FapiaoRequest.Status.choices},
        status=status,
    )


@require_POST
@billing_staff_required
def fapiao_issue(request, pk: int):
    item = selectors.fapiao_request_get(user=request.user, pk=pk)
    form = FapiaoIssueForm(request.POST, prefix="fapiao", auto_id=f"id_f{pk}_%s")
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            fapiao_services.fapiao_issue(request=item, acting_user=request.user, **data)
        except ApplicationError as exc:
            add_service_error(
                form, exc, field_map={"fapiao_number": "number", "fapiao_code": "code"}
            )
        else:
            messages.success(
                request,
                _("Fapiao for %(invoice)s recorded; the client is emailed.")
                % {"invoice": item.invoice.number},
            )
            return redirect("billing:fapiao_queue")
    return fapiao_queue(request, failed=(pk, form), status=400)
