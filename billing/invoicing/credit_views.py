"""Pages of client credit (art. 9.1; issue 12 §6): what the provider holds for a client beyond
its invoices (overpayments, payments without an invoice), with every movement. The client sees
its own; billing staff see their providers' clients' and refund from here (a set-off is made on
the set-offs page, source "client credit"). Thin views: `services/client_credit.py` decides."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.forms import add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.l10n import money
from accounts.kernel.pages import billing_staff_required, not_allowed_is_403, paginate

from . import selectors
from .forms import CreditRefundForm
from .services import client_credit


def _client_filter(request):
    if not request.user.is_provider_staff:
        if not request.user.client_id:
            return None
        return account_selectors.client_get(user=request.user, pk=request.user.client_id)
    raw = request.GET.get("client") or ""
    return account_selectors.client_get(user=request.user, pk=int(raw)) if raw.isdigit() else None


@login_required
def credits(request):
    """The client credits the user may see, newest first (keyset pages)."""
    client = _client_filter(request)
    return render(
        request,
        "billing/invoices/credits.html",
        {
            "client": client,
            "credits": paginate(
                request, selectors.client_credit_list(user=request.user, client=client)
            ),
        },
    )


def _detail(request, credit, form=None, status=200):
    return render(
        request,
        "billing/invoices/credit_detail.html",
        {
            "credit": credit,
            "entries": paginate(request, selectors.client_credit_entries(credit=credit)),
            "refund_form": form
            or (
                CreditRefundForm() if request.user.is_billing_staff and credit.balance > 0 else None
            ),
        },
        status=status,
    )


@login_required
def credit_detail(request, pk: int):
    """One credit: its balance and every movement (art. 9.1)."""
    return _detail(request, selectors.client_credit_get(user=request.user, pk=pk))


@require_POST
@billing_staff_required
def credit_refund(request, pk: int):
    """Billing staff record that (part of) the credit was paid back to the client."""
    credit = selectors.client_credit_get(user=request.user, pk=pk)
    form = CreditRefundForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with not_allowed_is_403():
                client_credit.client_credit_refund(
                    credit=credit,
                    amount=data["amount"],
                    reference=data["reference"],
                    idempotency_key=f"page-credit-refund:{data['key']}",
                    acting_user=request.user,
                )
        except ApplicationError as exc:
            add_service_error(form, exc, field_map={"idempotency_key": "__all__"})
        else:
            messages.success(
                request,
                _("%(amount)s of the credit recorded as refunded.")
                % {"amount": money(data["amount"], credit.currency)},
            )
            return redirect("billing:credit_detail", pk=credit.pk)
    return _detail(request, credit, form=form, status=400)
