"""The premium-services pages (CX Part V): staff enter what the operators paid, deduct, offset,
issue statements and pay out; the client sees its statements and payouts, disputes a statement
within 10 days with documents and notifies changes to its end-user services. Whoever has no
premium services (a client of a provider that does not offer them) gets 404 on every page."""

import os

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import call_service
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.pages import billing_staff_required, paginate, staff_or_client_required
from accounts.kernel.uploads import stored_kind
from accounts.selectors import client_get
from billing.models import Invoice, PremiumStatement

from . import selectors, services
from .forms import (
    ChargebackForm,
    DeductionForm,
    DisputeForm,
    OffsetForm,
    PayoutForm,
    ReceiptForm,
    RefundCampaignForm,
    ResolveForm,
    ServiceChangeForm,
    StatementForm,
)

# the staff actions on a statement: (form, the service call, the message on success)
STAFF_FORMS = {
    "receipt": ReceiptForm,
    "chargeback": ChargebackForm,
    "deduction": DeductionForm,
    "refund_campaign": RefundCampaignForm,
    "offset": OffsetForm,
    "payout": PayoutForm,
}


@staff_or_client_required
def statements(request):
    user = request.user
    selectors.require_offered(user)
    form = None
    if user.is_billing_staff:
        form = StatementForm(request.POST or None, prefix="statement", user=user)
        if request.method == "POST" and form.is_valid():
            made = {}

            def create():
                made["statement"] = services.premium_statement_create(
                    acting_user=user, **form.cleaned_data
                )

            if call_service(request, create, _("Statement opened as a draft."), form):
                return redirect("billing:premium_statement", pk=made["statement"].pk)
    return render(
        request,
        "billing/premium/statements.html",
        {
            "statements": paginate(request, selectors.statement_list(user=user)),
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


def _page(request, statement: PremiumStatement, bound=None, status=200):
    user = request.user
    bound = bound or {}
    can_dispute = (
        user.is_client_admin
        and user.client_id == statement.client_id
        and statement.status == PremiumStatement.Status.ISSUED
    )
    context = {
        "statement": statement,
        "ptz": statement.client.provider.timezone,
        "summary": selectors.statement_summary(statement),
        "entries": selectors.statement_entries(statement),
        "disputes": selectors.dispute_list(user=user).filter(statement=statement),
        "is_billing_staff": user.is_billing_staff,
        "can_dispute": can_dispute,
        "dispute_form": bound.get("dispute") or DisputeForm(prefix="dispute"),
        "history": statement.history.select_related("history_user").order_by("-history_date")[:30],
    }
    if user.is_billing_staff:
        for name, form_class in STAFF_FORMS.items():
            context[f"{name}_form"] = bound.get(name) or form_class(prefix=name)
    return render(request, "billing/premium/statement_detail.html", context, status=status)


@staff_or_client_required
def statement_detail(request, pk: int):
    selectors.require_offered(request.user)
    return _page(request, selectors.statement_get(user=request.user, pk=pk))


def _call(statement: PremiumStatement, action: str, data: dict, user):
    key = str(data.pop("key", "")) if "key" in data else ""
    if action == "receipt":
        return services.premium_receipt_record(
            statement=statement, acting_user=user, idempotency_key=key, **data
        )
    if action == "chargeback":
        return services.premium_chargeback_record(
            statement=statement, acting_user=user, idempotency_key=key, **data
        )
    if action == "deduction":
        return services.premium_deduction_record(
            statement=statement, acting_user=user, idempotency_key=key, **data
        )
    if action == "refund_campaign":
        return services.premium_refund_campaign_charge(
            statement=statement, acting_user=user, idempotency_key=key, **data
        )
    if action == "offset":
        invoice = Invoice.objects.filter(pk=data.pop("invoice"), client=statement.client).first()
        if invoice is None:
            raise ValidationFailed({"invoice": [_("No invoice of this client with this id.")]})
        return services.premium_offset_record(
            statement=statement, invoice=invoice, acting_user=user, idempotency_key=key, **data
        )
    return services.premium_payout_record(
        statement=statement, acting_user=user, idempotency_key=key, **data
    )


def _staff_action(action: str, success):
    @require_POST
    @billing_staff_required
    def view(request, pk: int):
        selectors.require_offered(request.user)
        statement = selectors.statement_get(user=request.user, pk=pk)
        form = STAFF_FORMS[action](request.POST, prefix=action)
        if form.is_valid() and call_service(
            request,
            lambda: _call(statement, action, dict(form.cleaned_data), request.user),
            success,
            form,
        ):
            return redirect("billing:premium_statement", pk=pk)
        return _page(request, statement, bound={action: form}, status=400)

    view.__name__ = f"premium_{action}"
    return view


receipt = _staff_action("receipt", gettext_lazy("Receipt recorded."))
chargeback = _staff_action("chargeback", gettext_lazy("Chargeback and fee deducted."))
deduction = _staff_action("deduction", gettext_lazy("Deduction recorded."))
refund_campaign = _staff_action("refund_campaign", gettext_lazy("Refund-campaign charge deducted."))
offset = _staff_action("offset", gettext_lazy("Offset against the invoice recorded."))
payout = _staff_action("payout", gettext_lazy("Payout recorded."))


@require_POST
@billing_staff_required
def issue(request, pk: int):
    selectors.require_offered(request.user)
    statement = selectors.statement_get(user=request.user, pk=pk)
    call_service(
        request,
        lambda: services.premium_statement_issue(statement=statement, acting_user=request.user),
        _("Statement issued; the client has 10 days to dispute the payment (CX Part V)."),
    )
    return redirect("billing:premium_statement", pk=pk)


@require_POST
@staff_or_client_required
def dispute(request, pk: int):
    selectors.require_offered(request.user)
    statement = selectors.statement_get(user=request.user, pk=pk)
    form = DisputeForm(request.POST, request.FILES, prefix="dispute")
    if form.is_valid() and call_service(
        request,
        lambda: services.premium_dispute_raise(
            statement=statement, acting_user=request.user, **form.cleaned_data
        ),
        _("Your payment dispute is recorded with its documents."),
        form,
    ):
        return redirect("billing:premium_statement", pk=pk)
    return _page(request, statement, bound={"dispute": form}, status=400)


@staff_or_client_required
def disputes(request):
    selectors.require_offered(request.user)
    return render(
        request,
        "billing/premium/disputes.html",
        {
            "disputes": paginate(request, selectors.dispute_list(user=request.user)),
            "resolve_form": ResolveForm(prefix="resolve"),
        },
    )


@require_POST
@billing_staff_required
def dispute_resolve(request, pk: int):
    selectors.require_offered(request.user)
    found = selectors.dispute_get(user=request.user, pk=pk)
    form = ResolveForm(request.POST, prefix="resolve")
    if not form.is_valid():
        messages.error(request, _("Choose a decision and answer in writing."))
    else:
        call_service(
            request,
            lambda: services.premium_dispute_resolve(
                dispute=found,
                upheld=form.cleaned_data["decision"] == "upheld",
                resolution=form.cleaned_data["resolution"],
                acting_user=request.user,
            ),
            _("The dispute is answered."),
        )
    return redirect("billing:premium_disputes")


@require_GET
@staff_or_client_required
def document(request, pk: int):
    selectors.require_offered(request.user)
    field_file = selectors.document_get(user=request.user, pk=pk)
    kind = stored_kind(field_file)
    response = FileResponse(
        field_file.open("rb"),
        as_attachment=True,
        filename=os.path.basename(field_file.name or "document"),
        content_type=kind.content_type if kind else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_or_client_required
def payouts(request):
    selectors.require_offered(request.user)
    return render(
        request,
        "billing/premium/payouts.html",
        {"payouts": paginate(request, selectors.payout_list(user=request.user))},
    )


@staff_or_client_required
def service_changes(request):
    user = request.user
    selectors.require_offered(user)
    form = None
    if user.is_client_admin and user.client_id:
        form = ServiceChangeForm(request.POST or None, prefix="change")
        if request.method == "POST" and form.is_valid():
            own = client_get(user=user, pk=user.client_id)
            if call_service(
                request,
                lambda: services.premium_service_change_notify(
                    client=own, acting_user=user, **form.cleaned_data
                ),
                _("Your notice of the change is recorded."),
                form,
            ):
                return redirect("billing:premium_service_changes")
    return render(
        request,
        "billing/premium/service_changes.html",
        {
            "changes": paginate(request, selectors.service_change_list(user=user)),
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
@billing_staff_required
def service_change_acknowledge(request, pk: int):
    selectors.require_offered(request.user)
    notice = selectors.service_change_get(user=request.user, pk=pk)
    call_service(
        request,
        lambda: services.premium_service_change_acknowledge(
            notice=notice, acting_user=request.user
        ),
        _("Notice acknowledged."),
    )
    return redirect("billing:premium_service_changes")
