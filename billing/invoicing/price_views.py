"""Pages of prices and rates: the client's prices and every change of them, with its cause
(art. 4.2-4.4, 4.11); the billing staff's change for a cause of art. 4.4, and the provider-wide
tables of late-interest rates (art. 4.6) and CPI changes (art. 4.11).

Thin views: forms check the shape, billing.invoicing.services decide, selectors read (scoped:
another client's id is 404; a staff member sees the profiles whose clients it may see).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.forms import add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import billing_staff_required, not_allowed_is_403

from . import selectors
from .forms import CpiRateForm, ExchangeRateForm, InterestRateForm, PriceChangeForm
from .services import exchange_rates as rate_services
from .services import interest as interest_services
from .services import prices as price_services

PAGE_SIZE = 25


def _prices_client(request):
    """A client's user sees its own; staff name the client with ?client= (404 if not theirs)."""
    if request.user.is_provider_staff:
        raw = request.GET.get("client") or request.POST.get("client") or ""
        if not raw.isdigit():
            raise Http404
        return account_selectors.client_get(user=request.user, pk=int(raw))
    if not request.user.client_id:
        raise Http404
    return account_selectors.client_get(user=request.user, pk=request.user.client_id)


def _prices_context(request, client, change_form=None) -> dict:
    try:
        page = selectors.price_change_list(
            user=request.user,
            client=client,
            cursor=request.GET.get("cursor") or None,
            page_size=PAGE_SIZE,
        )
    except ValueError:
        raise Http404 from None
    return {
        "client": client,
        "prices": selectors.prices_in_force(user=request.user, client=client),
        "changes": page.items,
        "next_cursor": page.next_cursor,
        "change_form": change_form
        or (PriceChangeForm() if request.user.is_billing_staff else None),
    }


@login_required
def prices(request):
    """The client's prices in force and every change of them, newest first (keyset pages)."""
    client = _prices_client(request)
    return render(request, "billing/invoices/prices.html", _prices_context(request, client))


@require_POST
@billing_staff_required
def price_change(request):
    """Staff change a price for a cause of art. 4.4; the client is told in advance."""
    client = _prices_client(request)
    form = PriceChangeForm(request.POST)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                change = price_services.price_change_for_cause(
                    client=client, acting_user=request.user, **form.cleaned_data
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                gettext(
                    "%(channel)s price %(price)s %(currency)s from %(date)s; the client is told now."
                )
                % {
                    "channel": change.get_channel_display(),
                    "price": change.new_unit_price,
                    "currency": change.currency,
                    "date": date_format(change.effective_from, "DATE_FORMAT"),
                },
            )
            return redirect(f"{reverse('billing:prices')}?client={client.pk}")
    return render(
        request,
        "billing/invoices/prices.html",
        _prices_context(request, client, change_form=form),
        status=400,
    )


def _rates_context(request, rate_form=None, cpi_form=None, fx_form=None) -> dict:
    providers = selectors.providers_visible_to(request.user)
    return {
        "exchange_rates": selectors.exchange_rate_list(user=request.user)[:60],
        "pending_disputes": selectors.disputes_pending_check(user=request.user)[:50],
        "fx_form": fx_form or ExchangeRateForm(),
        "statuses": selectors.interest_status_list(user=request.user),
        "rates": selectors.interest_rate_list(user=request.user)[:100],
        "cpi": selectors.cpi_adjustment_list(user=request.user)[:50],
        "gaps": selectors.interest_gap_list(user=request.user)[:50],
        "rate_form": rate_form or InterestRateForm(providers=providers),
        "cpi_form": cpi_form or CpiRateForm(providers=providers),
    }


@billing_staff_required
def rates(request):
    """Late-interest rates per profile, whether one is in force today, the invoices the overdue
    job could not compute interest on (art. 4.6), and the CPI changes (art. 4.11)."""
    return render(request, "billing/invoices/rates.html", _rates_context(request))


@require_POST
@billing_staff_required
def interest_rate_enter(request):
    form = InterestRateForm(request.POST, providers=selectors.providers_visible_to(request.user))
    if form.is_valid():
        try:
            row = interest_services.interest_rate_enter(
                acting_user=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                gettext("%(profile)s: %(rate)s %% from %(date)s.")
                % {
                    "profile": row.provider.code,
                    "rate": row.annual_rate_pct,
                    "date": date_format(row.valid_from, "DATE_FORMAT"),
                },
            )
            return redirect("billing:rates")
    return render(
        request, "billing/invoices/rates.html", _rates_context(request, rate_form=form), status=400
    )


@require_POST
@billing_staff_required
def exchange_rate_enter(request):
    """Staff enter an exchange rate, the fallback of the daily ECB import; the disputes pending
    check that it decides are decided at once (CX 10)."""
    form = ExchangeRateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            row = rate_services.exchange_rate_enter(
                acting_user=request.user,
                base_currency=data["base_currency"],
                quote_currency=data["quote_currency"],
                rate=data["rate"],
                valid_from=data["valid_from"],
                note=data["note"],
            )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Exchange rate entered: %(rate)s.") % {"rate": row},
            )
            return redirect("billing:rates")
    return render(
        request, "billing/invoices/rates.html", _rates_context(request, fx_form=form), status=400
    )


@require_POST
@billing_staff_required
def cpi_rate_enter(request):
    form = CpiRateForm(request.POST, providers=selectors.providers_visible_to(request.user))
    if form.is_valid():
        try:
            row = price_services.cpi_rate_enter(acting_user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                gettext("%(profile)s: CPI %(rate)s %% applied to every price in January %(year)s.")
                % {"profile": row.provider.code, "rate": row.rate_pct, "year": row.year},
            )
            return redirect("billing:rates")
    return render(
        request, "billing/invoices/rates.html", _rates_context(request, cpi_form=form), status=400
    )
