"""Pages of the prepaid wallet and the message limit (art. 26, 29): the client's wallet page and
the staff's actions and queues.

Views are thin: forms check the shape, services (billing.prepaid.services) make every change
and refuse with an ApplicationError shown on the field it names, billing.prepaid.selectors
read. Another client's id answers 404 (accounts.selectors.client_get, the selectors' NotFound).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.forms import add_service_error
from accounts.kernel.csv_export import csv_response
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import billing_staff_required, not_allowed_is_403, paginate
from billing.models import LimitIncreaseRequest, RestitutionRequest

from . import selectors
from .forms import (
    ApproveForm,
    ChargebackForm,
    LedgerFilterForm,
    LimitChangeForm,
    LimitIncreaseRequestForm,
    MessagesPaidForm,
    RefuseForm,
    ReopenForm,
    RestitutionRequestForm,
    TopUpForm,
)
from .services import chargebacks, limits, restitution, wallets

SMALL_PAGE = 10
# A service's refusal of a hidden key is shown above the form.
KEY_ERRORS = {"idempotency_key": "__all__"}


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _own_client(request):
    """The signed-in client user's company, or None for staff (who have no wallet of their own)."""
    if not request.user.client_id:
        return None
    return account_selectors.client_get(user=request.user, pk=request.user.client_id)


def _staff_client(request, pk):
    """The client for a staff page: 404 for one the user may not see, 403 for a client's own."""
    client = account_selectors.client_get(user=request.user, pk=pk)
    if not request.user.is_provider_staff:
        raise PermissionDenied
    return client


# --- The wallet page (client and staff) ----------------------------------------------------
def _ledger_filters(request) -> tuple[LedgerFilterForm, dict]:
    form = LedgerFilterForm(request.GET or None)
    if not form.is_bound:
        return form, {}
    form.is_valid()
    # Only the filters that are valid apply; an invalid one is shown on its field.
    return form, {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}


def _filter_query(filters: dict) -> str:
    return urlencode(
        {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in filters.items()}
    )


STAFF_FORMS = {
    "top_up_form": TopUpForm,
    "limit_change_form": LimitChangeForm,
    "messages_paid_form": MessagesPaidForm,
    "reopen_form": ReopenForm,
}


def _wallet_context(request, client, *, staff_view: bool, bound: dict | None = None) -> dict:
    bound = bound or {}
    user = request.user
    summary = selectors.wallet_summary(client=client)
    filter_form, filters = _ledger_filters(request)
    limit = selectors.message_limit_get(client=client)
    lots_page = paginate(request, summary["lots"], param="lot_page", per_page=SMALL_PAGE)
    query = _filter_query(filters)
    if staff_view:
        csv_url = reverse("billing:client_ledger_csv", args=[client.pk])
    else:
        csv_url = reverse("billing:ledger_csv")
    limit_requests = selectors.limit_request_list(user=user, client=client)
    restitutions = selectors.restitution_request_list(user=user, client=client)
    own_admin = user.is_client_admin and user.client_id == client.pk
    pending_limit_request = limit_requests.filter(
        status=LimitIncreaseRequest.Status.PENDING
    ).first()
    restitution_pending = restitutions.filter(status=RestitutionRequest.Status.PENDING).exists()
    context = {
        "client": client,
        "staff_view": staff_view,
        "summary": summary,
        "prepaid": client.billing_mode == client.BillingMode.PREPAID,
        "top_up": selectors.top_up_instructions(client=client)
        if client.billing_mode == client.BillingMode.PREPAID
        else None,
        "lots": lots_page,
        "filter_form": filter_form,
        "ledger": paginate(request, selectors.ledger_list(client=client, filters=filters)),
        "csv_url": f"{csv_url}?{query}" if query else csv_url,
        "limit": limit,
        "limit_changes": limit["changes"][:5],
        "gauge": selectors.limit_gauge(limit),
        "limit_requests": paginate(request, limit_requests, param="req_page", per_page=SMALL_PAGE),
        "pending_limit_request": pending_limit_request,
        "restitutions": paginate(request, restitutions, param="rr_page", per_page=SMALL_PAGE),
        "limit_form": None,
        "restitution_form": None,
        "open_action": bound.get("open_action"),
    }
    # A form that was just refused is shown again with its errors, whatever the state.
    if "limit_form" in bound:
        context["limit_form"] = bound["limit_form"]
    elif own_admin and pending_limit_request is None:
        context["limit_form"] = LimitIncreaseRequestForm()
    if "restitution_form" in bound:
        context["restitution_form"] = bound["restitution_form"]
    elif own_admin and not restitution_pending and selectors.restitution_possible(client=client):
        context["restitution_form"] = RestitutionRequestForm()
    if staff_view and user.is_billing_staff:
        for name, form_class in STAFF_FORMS.items():
            kwargs = (
                {
                    "provider": client.provider,
                    "currency": account_selectors.agreed_currency(client=client),
                }
                if form_class is TopUpForm
                else {}
            )
            context[name] = bound.get(name) or form_class(
                prefix=name.removesuffix("_form"), **kwargs
            )
        context["closed_after_chargeback"] = selectors.closed_after_chargeback(client=client)
        charged_back = selectors.charged_back_lot_ids(client=client)
        failed = bound.get("chargeback")  # (lot id, bound form) after a refusal
        for row in lots_page:
            row["charged_back"] = row["id"] in charged_back
            if failed and failed[0] == row["id"]:
                row["chargeback_form"] = failed[1]
            else:
                row["chargeback_form"] = ChargebackForm(
                    prefix="chargeback", auto_id=f"id_cb{row['id']}_%s"
                )
    return context


def _render_wallet(request, client, *, staff_view: bool, bound: dict | None = None, status=200):
    return render(
        request,
        "billing/wallet.html",
        _wallet_context(request, client, staff_view=staff_view, bound=bound),
        status=status,
    )


@login_required
def wallet(request):
    """The client's wallet: balance, usable now, pending, lots, ledger, limit gauge (art. 26, 29)."""
    client = _own_client(request)
    if client is None:
        return redirect("client_list")
    return _render_wallet(request, client, staff_view=False)


@login_required
def client_wallet(request, pk: int):
    """Any client's wallet and limit, for staff, with the billing staff's actions."""
    client = account_selectors.client_get(user=request.user, pk=pk)
    if not request.user.is_provider_staff:
        return redirect("billing:wallet")
    return _render_wallet(request, client, staff_view=True)


def _csv_response(client, filters: dict) -> StreamingHttpResponse:
    """The ledger streamed through the kernel's one CSV helper (no formula injection)."""
    stamp = timezone.now().strftime("%Y%m%d")
    return csv_response(
        f"ledger-{client.pk}-{stamp}.csv",
        selectors.CSV_COLUMNS,
        selectors.ledger_csv_rows(client=client, filters=filters),
    )


@login_required
def ledger_csv(request):
    client = _own_client(request)
    if client is None:
        raise Http404
    return _csv_response(client, _ledger_filters(request)[1])


@login_required
def client_ledger_csv(request, pk: int):
    client = _staff_client(request, pk)
    return _csv_response(client, _ledger_filters(request)[1])


# --- Client actions -------------------------------------------------------------------------
@require_POST
@login_required
def limit_request(request):
    """A client admin asks for a higher message limit (art. 26.2)."""
    client = _own_client(request)
    if client is None:
        return redirect("dashboard")
    form = LimitIncreaseRequestForm(request.POST)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                limits.limit_increase_request(
                    client=client, acting_user=request.user, **form.cleaned_data
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Your request for a higher message limit is with billing staff; "
                    "it needs the provider's written approval (art. 26.2)."
                ),
            )
            return redirect("billing:wallet")
    return _render_wallet(request, client, staff_view=False, bound={"limit_form": form}, status=400)


@require_POST
@login_required
def restitution_request(request):
    """A terminating prepaid client asks in writing for its remaining credit (art. 29.6)."""
    client = _own_client(request)
    if client is None:
        return redirect("dashboard")
    form = RestitutionRequestForm(request.POST)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                restitution.restitution_request(
                    client=client, acting_user=request.user, reason=form.cleaned_data["reason"]
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Your restitution request was sent to billing staff."))
            return redirect("billing:wallet")
    return _render_wallet(
        request, client, staff_view=False, bound={"restitution_form": form}, status=400
    )


# --- Staff actions on a client --------------------------------------------------------------
def _staff_action(form_name: str, call, *, field_map: dict | None = None):
    """A billing staff action on a client's wallet or limit: bind the form, call the service,
    show a refusal on the field it names (the wallet page again, with the form open)."""

    @require_POST
    @login_required
    def view(request, pk: int):
        client = _staff_client(request, pk)
        form_class = STAFF_FORMS[form_name]
        kwargs = (
            {
                "provider": client.provider,
                "currency": account_selectors.agreed_currency(client=client),
            }
            if form_class is TopUpForm
            else {}
        )
        form = form_class(request.POST, prefix=form_name.removesuffix("_form"), **kwargs)
        if form.is_valid():
            try:
                with not_allowed_is_403():
                    success = call(request, client, form.cleaned_data)
            except ApplicationError as exc:
                add_service_error(form, exc, field_map=field_map)
            else:
                messages.success(request, success)
                return redirect("billing:client_wallet", pk=client.pk)
        return _render_wallet(
            request,
            client,
            staff_view=True,
            bound={form_name: form, "open_action": form_name},
            status=400,
        )

    return view


def _top_up(request, client, data) -> str:
    lot = wallets.wallet_top_up(
        wallet=wallets.wallet_for_client(client=client),
        amount=data["amount"],
        received_at=data["received_at"],
        reference=data["reference"],
        idempotency_key=f"page-top-up:{data['key']}",
        acting_user=request.user,
    )
    return (
        f"Top-up of {lot.currency} {lot.amount} recorded ({lot.reference}); usable from "
        f"{lot.purchase_date:%d %b %Y} + 1 day, expires on {lot.expires_on:%d %b %Y} (art. 29.3)."
    )


def _limit_change(request, client, data) -> str:
    change = limits.limit_change(
        client=client,
        new_limit=data["new_limit"],
        reason=data["reason"],
        acting_user=request.user,
    )
    return f"Message limit changed to {change.new_limit:,}; the client is emailed (art. 26.2)."


def _messages_paid(request, client, data) -> str:
    payment = limits.messages_paid_record(
        client=client,
        messages=data["messages"],
        reference=data["reference"],
        idempotency_key=f"page-messages-paid:{data['key']}",
        acting_user=request.user,
    )
    return ngettext(
        "%(count)s message recorded as paid.",
        "%(count)s messages recorded as paid.",
        payment.messages,
    ) % {"count": f"{payment.messages:,}"}


def _reopen(request, client, data) -> str:
    chargebacks.account_reopen(
        client=client,
        reason=data["reason"],
        acting_user=request.user,
        activation_cost=data.get("activation_cost"),
    )
    return "Account reopened."


top_up = _staff_action("top_up_form", _top_up, field_map=KEY_ERRORS)
limit_change = _staff_action("limit_change_form", _limit_change)
messages_paid = _staff_action("messages_paid_form", _messages_paid, field_map=KEY_ERRORS)
reopen = _staff_action("reopen_form", _reopen)


@require_POST
@login_required
def chargeback(request, pk: int, lot_pk: int):
    """Record a chargeback against one of the client's top-ups (art. 29.4)."""
    client = _staff_client(request, pk)
    lot = selectors.lot_get(user=request.user, pk=lot_pk, client=client)
    form = ChargebackForm(request.POST, prefix="chargeback", auto_id=f"id_cb{lot.pk}_%s")
    if form.is_valid():
        try:
            with not_allowed_is_403():
                chargebacks.chargeback_record(
                    lot=lot,
                    acting_user=request.user,
                    reference=form.cleaned_data["reference"],
                    reason=form.cleaned_data["reason"],
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Chargeback recorded against %(lot)s; its remaining credit is reversed "
                    "and the account closed (art. 29.4)."
                )
                % {"lot": lot.reference or _("lot %(number)s") % {"number": lot.pk}},
            )
            return redirect("billing:client_wallet", pk=client.pk)
    return _render_wallet(
        request, client, staff_view=True, bound={"chargeback": (lot.pk, form)}, status=400
    )


# --- Staff queues ---------------------------------------------------------------------------
def _queue_context(request, queryset, statuses, *, failed=None) -> dict:
    status = request.GET.get("status", "pending")
    client_id = request.GET.get("client") or ""
    qs = queryset
    if status:
        qs = qs.filter(status=status)
    if client_id.isdigit():
        qs = qs.filter(client_id=int(client_id))
    qs = qs.order_by("requested_at", "pk") if status == "pending" else qs
    page = paginate(request, qs)
    failed_errors = []
    if failed and failed[0] not in {item.pk for item in page}:
        # the refused request is not on this page (e.g. no longer pending): say why above it
        failed_errors = [
            e for form in failed[1:] for errors in form.errors.values() for e in errors
        ]
    for item in page:
        if failed and failed[0] == item.pk:
            item.approve_form, item.refuse_form = failed[1], failed[2]
        else:
            item.approve_form = ApproveForm(prefix="approve", auto_id=f"id_a{item.pk}_%s")
            item.refuse_form = RefuseForm(prefix="refuse", auto_id=f"id_r{item.pk}_%s")
    return {
        "items": page,
        "status": status,
        "statuses": statuses,
        "client_filter": client_id,
        "failed_errors": failed_errors,
        # where a decision returns to: this page as filtered (a re-render after a refusal is a POST)
        "next_url": request.get_full_path() if request.method == "GET" else "",
    }


@billing_staff_required
def limit_requests(request, *, failed=None, status=200):
    """The approvals queue of limit increase requests (art. 26.2)."""
    context = _queue_context(
        request,
        selectors.limit_request_list(user=request.user),
        LimitIncreaseRequest.Status.choices,
        failed=failed,
    )
    return render(request, "billing/limit_requests.html", context, status=status)


@billing_staff_required
def restitutions(request, *, failed=None, status=200):
    """The queue of restitution requests (art. 29.6)."""
    context = _queue_context(
        request,
        selectors.restitution_request_list(user=request.user),
        RestitutionRequest.Status.choices,
        failed=failed,
    )
    return render(request, "billing/restitutions.html", context, status=status)


def _decide(get, approve, refuse, queue_view, queue_url: str, done: dict):
    """Approve (optional note) or refuse (reason required) one pending request."""

    @require_POST
    @login_required
    def view(request, pk: int, decision: str):
        item = get(user=request.user, pk=pk)
        if not request.user.is_provider_staff:
            raise PermissionDenied
        approve_form = ApproveForm(prefix="approve", auto_id=f"id_a{pk}_%s")
        refuse_form = RefuseForm(prefix="refuse", auto_id=f"id_r{pk}_%s")
        if decision == "approve":
            form = approve_form = ApproveForm(
                request.POST, prefix="approve", auto_id=f"id_a{pk}_%s"
            )
            call = approve
        elif decision == "refuse":
            form = refuse_form = RefuseForm(request.POST, prefix="refuse", auto_id=f"id_r{pk}_%s")
            call = refuse
        else:
            raise Http404
        if form.is_valid():
            try:
                with not_allowed_is_403():
                    call(request=item, acting_user=request.user, note=form.cleaned_data["note"])
            except ApplicationError as exc:
                add_service_error(
                    form, exc, field_map={"status": "note", "requested_limit": "note"}
                )
            else:
                messages.success(request, done[decision].format(client=item.client.legal_name))
                return redirect(_safe_next(request, reverse(queue_url)))
        return queue_view(request, failed=(pk, approve_form, refuse_form), status=400)

    return view


limit_request_decide = _decide(
    selectors.limit_request_get,
    limits.limit_increase_approve,
    limits.limit_increase_refuse,
    limit_requests,
    "billing:limit_requests",
    {
        "approve": "Limit raised for {client}; the client is emailed the written approval (art. 26.2).",
        "refuse": "Request of {client} refused; the client is emailed the reason.",
    },
)
restitution_decide = _decide(
    selectors.restitution_request_get,
    restitution.restitution_approve,
    restitution.restitution_refuse,
    restitutions,
    "billing:restitutions",
    {
        "approve": "Restitution approved for {client}; the remaining credit is written off the wallet.",
        "refuse": "Restitution refused for {client}; the client is emailed the reason.",
    },
)
