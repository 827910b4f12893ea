"""The claims register's pages (art. 13): staff see their providers' clients' claims both ways,
a client's users their own; a client admin reports a loss against the provider, viewers read.
The claim page shows both deadlines of art. 13.6 and, for claims against the provider, the
liability cap of art. 13.4."""

import uuid

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts.forms import call_service
from accounts.kernel.pages import (
    billing_staff_required,
    paginate,
    staff_or_client_required,
)
from accounts.selectors import client_get
from billing.models import LossClaim

from . import selectors, services
from .forms import AssessForm, ClientClaimForm, PayoutForm, RemedyForm, StaffClaimForm


def _success(claim: LossClaim) -> str:
    if claim.late:
        return gettext(
            "Claim recorded as LATE: reported after 10 working days, no right to compensation "
            "(art. 13.6)."
        )
    return gettext(
        "Claim recorded; the other party has 10 working days to remedy the loss (art. 13.6)."
    )


@staff_or_client_required
def claims(request):
    user = request.user
    form = None
    if user.is_provider_staff:
        form = StaffClaimForm(request.POST or None, prefix="claim", user=user)
    elif selectors.loss_claim_can_report(user=user):
        own = client_get(user=user, pk=user.client_id)
        form = ClientClaimForm(request.POST or None, prefix="claim", tz_name=own.provider.timezone)
    if request.method == "POST" and form is not None and form.is_valid():
        data = dict(form.cleaned_data)
        if user.is_provider_staff:
            client = data.pop("client")
            against = data.pop("against")
        else:
            client, against = own, LossClaim.Against.PROVIDER
        made = {}

        def report():
            made["claim"] = services.loss_claim_report(
                client=client, against=against, acting_user=user, **data
            )

        if call_service(request, report, "", form):
            messages.success(request, _success(made["claim"]))
            return redirect("billing:claim_detail", pk=made["claim"].pk)
    qs = selectors.loss_claim_list(user=user, against=request.GET.get("against") or None)
    return render(
        request,
        "billing/claims.html",
        {"claims": paginate(request, qs), "form": form},
        status=400 if form is not None and form.errors else 200,
    )


def _page(request, claim, bound=None, status=200):
    user = request.user
    bound = bound or {}
    against_provider = claim.against == LossClaim.Against.PROVIDER
    can_remedy = claim.status == LossClaim.Status.OPEN and (
        user.is_provider_staff
        if against_provider
        else (
            user.is_provider_staff or (user.is_client_admin and user.client_id == claim.client_id)
        )
    )
    return render(
        request,
        "billing/claim_detail.html",
        {
            "claim": claim,
            "ptz": claim.client.provider.timezone,
            "cap": selectors.claim_liability_cap(claim=claim),
            "payouts": claim.payouts.all(),
            "can_remedy": can_remedy,
            "is_billing_staff": user.is_billing_staff,
            "remedy_form": bound.get("remedy") or RemedyForm(prefix="remedy"),
            "assess_form": bound.get("assess")
            or AssessForm(
                prefix="assess",
                initial={"exclusions": claim.exclusions, "exceptions": claim.exceptions},
            ),
            "payout_form": bound.get("payout")
            or PayoutForm(
                prefix="payout",
                initial={"currency": claim.currency, "idempotency_key": uuid.uuid4().hex},
            ),
            "history": claim.history.select_related("history_user").order_by("-history_date")[:30],
        },
        status=status,
    )


@staff_or_client_required
def claim_detail(request, pk: int):
    return _page(request, selectors.loss_claim_get(user=request.user, pk=pk))


@require_POST
@staff_or_client_required
def claim_remedy(request, pk: int):
    claim = selectors.loss_claim_get(user=request.user, pk=pk)
    form = RemedyForm(request.POST, prefix="remedy")
    if form.is_valid() and call_service(
        request,
        lambda: services.loss_claim_remedy(
            claim=claim, note=form.cleaned_data["note"], acting_user=request.user
        ),
        gettext("The remedy is recorded (art. 13.6)."),
        form,
    ):
        return redirect("billing:claim_detail", pk=pk)
    return _page(request, claim, bound={"remedy": form}, status=400)


@require_POST
@billing_staff_required
def claim_assess(request, pk: int):
    claim = selectors.loss_claim_get(user=request.user, pk=pk)
    form = AssessForm(request.POST, prefix="assess")
    if form.is_valid() and call_service(
        request,
        lambda: services.loss_claim_assess(
            claim=claim, acting_user=request.user, **form.cleaned_data
        ),
        gettext("Exclusions and exceptions recorded (art. 13.3, 13.5)."),
        form,
    ):
        return redirect("billing:claim_detail", pk=pk)
    return _page(request, claim, bound={"assess": form}, status=400)


@require_POST
@billing_staff_required
def claim_payout(request, pk: int):
    claim = selectors.loss_claim_get(user=request.user, pk=pk)
    form = PayoutForm(request.POST, prefix="payout")
    if form.is_valid() and call_service(
        request,
        lambda: services.claim_payout_record(
            claim=claim, acting_user=request.user, **form.cleaned_data
        ),
        gettext("Payout recorded."),
        form,
    ):
        return redirect("billing:claim_detail", pk=pk)
    return _page(request, claim, bound={"payout": form}, status=400)
