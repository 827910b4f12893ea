"""Data-subject requests (art. 21.5; GDPR art. 12(3)): the queue with each deadline (those due
within 5 days highlighted), and each request's page with the steps the user may take now."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.kernel.pages import paginate
from accounts.selectors import client_get
from dataprocessing import selectors
from dataprocessing.forms import (
    DsrActionForm,
    DsrFilterForm,
    DsrForm,
    DsrInstructForm,
    OptionalReasonForm,
    ReasonForm,
)
from dataprocessing.models import DSR_DUE_SOON_DAYS
from dataprocessing.services import dsrs as services

from ._common import call_service, history, staff_or_client_required

# action in the URL: (form name in the page, form class or None, success message)
DSR_ACTIONS = {
    "instruct": (
        "instruct_form",
        DsrInstructForm,
        "Instruction recorded; the provider acts on it (art. 21.5.1).",
    ),
    "record-action": ("action_form", DsrActionForm, "Action recorded; the request is completed."),
    "extend": (
        "extend_form",
        ReasonForm,
        "Deadline extended by two months; the client is told why.",
    ),
    "pause": ("pause_form", None, "Paused while the subject's identity is checked."),
    "resume": ("resume_form", None, "Resumed; the deadline moved by the length of the pause."),
    "cancel": ("cancel_form", OptionalReasonForm, "Request cancelled."),
}


def _context(request, form=None):
    user = request.user
    filters = DsrFilterForm(request.GET or None, auto_id="filter_%s")
    data = filters.cleaned_data if filters.is_valid() else {}
    status = data.get("status") or ""
    now = timezone.now()
    qs = selectors.dsr_list(
        user=user,
        type=data.get("type") or None,
        status=status if status not in ("", "all") else None,
        open_only=status == "",
        due_soon=bool(data.get("due_soon")),
        now=now,
    )
    can_file = selectors.files_for_clients(user)
    return {
        # the client's own admin sees the secret its status callbacks are signed with
        "callback_secret": user.client.callback_secret if user.is_client_admin else "",
        "dsrs": paginate(request, qs),
        "filters": filters,
        "form": (form or DsrForm(user=user)) if can_file else None,
        "now": now,
        "due_soon_days": DSR_DUE_SOON_DAYS,
    }


@staff_or_client_required
def dsrs(request):
    """Data-subject requests with their deadline in days; those due within 5 days are highlighted."""
    user = request.user
    if request.method == "POST":
        form = DsrForm(request.POST, user=user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            client = client_get(user=user, pk=(data.pop("client", None) or user.client).pk)
            received_by = services.received_by_default(user)
            if call_service(
                request,
                lambda: services.dsr_receive(
                    client=client, acting_user=user, received_by=received_by, **data
                ),
                "Data-subject request logged; it is due one month after receipt (GDPR art. 12(3)).",
                form,
            ):
                return redirect("dataprocessing:dsrs")
        return render(request, "dataprocessing/dsrs.html", _context(request, form), status=400)
    return render(request, "dataprocessing/dsrs.html", _context(request))


def _service(action, request, dsr, data):
    user = request.user
    return {
        "instruct": lambda: services.dsr_instruct(dsr=dsr, acting_user=user, **data),
        "record-action": lambda: services.dsr_record_action(dsr=dsr, acting_user=user, **data),
        "extend": lambda: services.dsr_extend(dsr=dsr, acting_user=user, reason=data["reason"]),
        "pause": lambda: services.dsr_pause_for_identity(dsr=dsr, acting_user=user),
        "resume": lambda: services.dsr_resume_after_identity(dsr=dsr, acting_user=user),
        "cancel": lambda: services.dsr_cancel(
            dsr=dsr, acting_user=user, reason=data.get("reason", "")
        ),
    }[action]


def _page(request, dsr, bound=None, open_action=None, status=200):
    forms = {
        name: (bound or {}).get(name) or form_class(prefix=action.replace("-", "_"))
        for action, (name, form_class, _) in DSR_ACTIONS.items()
        if form_class is not None
    }
    return render(
        request,
        "dataprocessing/dsr_detail.html",
        {
            "dsr": dsr,
            "may": selectors.dsr_actions(user=request.user, dsr=dsr),
            "history": history(dsr),
            "open_action": open_action,
            "days_left": selectors.days_left(dsr.due_at, timezone.now()),
            "due_soon_days": DSR_DUE_SOON_DAYS,
            **forms,
        },
        status=status,
    )


@login_required
def dsr_detail(request, pk: int):
    return _page(request, selectors.dsr_get(user=request.user, pk=pk))


@require_POST
@login_required
def dsr_action(request, pk: int, action: str):
    dsr = selectors.dsr_get(user=request.user, pk=pk)
    if action not in DSR_ACTIONS:
        raise Http404
    name, form_class, success = DSR_ACTIONS[action]
    form = form_class(request.POST, prefix=action.replace("-", "_")) if form_class else None
    if form is None or form.is_valid():
        data = form.cleaned_data if form else {}
        if (
            call_service(request, _service(action, request, dsr, data), success, form)
            or form is None
        ):
            return redirect("dataprocessing:dsr_detail", pk=pk)
    return _page(request, dsr, bound={name: form}, open_action=name, status=400)


@require_POST
@staff_or_client_required
def dsr_callback_secret_rotate(request):
    """The client's admin replaces the secret its status callbacks are signed with."""
    user = request.user
    if not user.client_id:
        raise Http404
    call_service(
        request,
        lambda: services.dsr_callback_secret_rotate(client=user.client, acting_user=user),
        "New signing secret made; the old one no longer verifies.",
    )
    return redirect("dataprocessing:dsrs")
