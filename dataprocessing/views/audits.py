"""Audit requests (art. 21.7): a queue for staff, the client's own otherwise; each request's page
offers the steps the user may take now (agree, declaration, start, report, complete, refuse,
withdraw)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.kernel.pages import paginate
from accounts.selectors import client_get
from dataprocessing import selectors
from dataprocessing.forms import (
    AuditAgreeForm,
    AuditCompleteForm,
    AuditFilterForm,
    AuditRequestForm,
    FileForm,
    ReasonForm,
)
from dataprocessing.services import audits as services

from ._common import call_service, history, staff_or_client_required

# action in the URL: (form name in the page, form class or None, success message)
AUDIT_ACTIONS = {
    "agree": (
        "agree_form",
        AuditAgreeForm,
        "Your agreement on the terms is recorded (art. 21.7.2).",
    ),
    "confidentiality": (
        "confidentiality_form",
        FileForm,
        "Confidentiality declaration uploaded (art. 21.7.3).",
    ),
    "report": ("report_form", FileForm, "Report shared with the provider (art. 21.7.3)."),
    "start": ("start_form", None, "Audit started."),
    "complete": ("complete_form", AuditCompleteForm, "Request completed."),
    "refuse": ("refuse_form", ReasonForm, "Request refused; the client is told why."),
    "cancel": ("cancel_form", None, "Request withdrawn."),
    "declare": (
        "declare_form",
        None,
        "Declaration recorded: the requester is not a competitor of the provider (art. 21.7.1).",
    ),
}


def _context(request, form=None):
    user = request.user
    filters = AuditFilterForm(request.GET or None, auto_id="filter_%s")
    data = filters.cleaned_data if filters.is_valid() else {}
    qs = selectors.audit_request_list(
        user=user, status=data.get("status") or None, kind=data.get("kind") or None
    )
    can_request = selectors.files_for_clients(user)
    return {
        "audits": paginate(request, qs),
        "filters": filters,
        "form": (form or AuditRequestForm(user=user)) if can_request else None,
    }


@staff_or_client_required
def audits(request):
    """Audit requests (a queue for staff, the client's own otherwise) and the request form."""
    user = request.user
    if request.method == "POST":
        form = AuditRequestForm(request.POST, user=user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            client = data.pop("client", None) or user.client
            client = client_get(user=user, pk=client.pk)
            if call_service(
                request,
                lambda: services.audit_request(client=client, acting_user=user, **data),
                "Request recorded; the provider's compliance officers are told (art. 21.7).",
                form,
            ):
                return redirect("dataprocessing:audits")
        return render(request, "dataprocessing/audits.html", _context(request, form), status=400)
    return render(request, "dataprocessing/audits.html", _context(request))


def _service(action, request, audit, data):
    user = request.user
    return {
        "agree": lambda: services.audit_agree(audit=audit, acting_user=user, **data),
        "confidentiality": lambda: services.audit_upload_confidentiality(
            audit=audit, file=data["file"], acting_user=user
        ),
        "report": lambda: services.audit_share_report(
            audit=audit, file=data["file"], acting_user=user
        ),
        "start": lambda: services.audit_start(audit=audit, acting_user=user),
        "complete": lambda: services.audit_complete(
            audit=audit, acting_user=user, hours_spent=data.get("hours_spent")
        ),
        "refuse": lambda: services.audit_refuse(
            audit=audit, acting_user=user, reason=data["reason"]
        ),
        "cancel": lambda: services.audit_cancel(audit=audit, acting_user=user),
        "declare": lambda: services.audit_declare_not_competitor(audit=audit, acting_user=user),
    }[action]


def _page(request, audit, bound=None, open_action=None, status=200):
    forms = {}
    for action, (name, form_class, _) in AUDIT_ACTIONS.items():
        if form_class is not None:
            initial = {}
            if action == "agree":
                initial = {
                    "scope": audit.scope,
                    "timing": audit.timing,
                    "duration_days": audit.duration_days,
                    "reimbursement_rate": audit.reimbursement_rate,
                }
            forms[name] = (bound or {}).get(name) or form_class(prefix=action, initial=initial)
    return render(
        request,
        "dataprocessing/audit_detail.html",
        {
            "audit": audit,
            "may": selectors.audit_actions(user=request.user, audit=audit),
            "history": history(audit),
            "open_action": open_action,
            **forms,
        },
        status=status,
    )


@login_required
def audit_detail(request, pk: int):
    return _page(request, selectors.audit_request_get(user=request.user, pk=pk))


@require_POST
@login_required
def audit_action(request, pk: int, action: str):
    audit = selectors.audit_request_get(user=request.user, pk=pk)
    if action not in AUDIT_ACTIONS:
        raise Http404
    name, form_class, success = AUDIT_ACTIONS[action]
    form = form_class(request.POST, request.FILES, prefix=action) if form_class else None
    if form is None or form.is_valid():
        data = form.cleaned_data if form else {}
        if (
            call_service(request, _service(action, request, audit, data), success, form)
            or form is None
        ):
            return redirect("dataprocessing:audit_detail", pk=pk)
    return _page(request, audit, bound={name: form}, open_action=name, status=400)
