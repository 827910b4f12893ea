"""Pages of bank statements (issue 14 §2), billing staff only: upload a statement and see the
imports, one import's progress and summary, and the queue of unmatched entries where staff
assign an entry to an invoice with one action or mark it refunded.

Thin views: the services in `services/statements.py` read the file, match and record; the
selectors scope every read to the providers the user works for.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.forms import add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.l10n import money
from accounts.kernel.pages import billing_staff_required, not_allowed_is_403, paginate

from . import selectors
from .forms import (
    StatementAssignForm,
    StatementClientForm,
    StatementRefundForm,
    StatementUploadForm,
)
from .services import statements as statement_services


def _statements_page(request, form=None, status=200):
    return render(
        request,
        "billing/statements/list.html",
        {
            "form": form or StatementUploadForm(),
            "imports": paginate(request, selectors.statement_import_list(user=request.user)),
            "unmatched_count": selectors.unmatched_entries(user=request.user).count(),
        },
        status=status,
    )


@billing_staff_required
def statements(request):
    """GET: the imports, newest first, and the upload form. POST: upload a statement."""
    if request.method != "POST":
        return _statements_page(request)
    form = StatementUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with not_allowed_is_403():
                statement = statement_services.statement_upload(
                    filename=upload.name, content=upload.read(), acting_user=request.user
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "%(file)s: %(count)s credit entry queued for import.",
                    "%(file)s: %(count)s credit entries queued for import.",
                    statement.entries_total,
                )
                % {"file": statement.filename, "count": statement.entries_total},
            )
            return redirect("billing:statement_detail", pk=statement.pk)
    return _statements_page(request, form, status=400)


@billing_staff_required
def statement_detail(request, pk: int):
    """One import: its progress while it runs (the page refreshes itself), then the summary."""
    statement = selectors.statement_import_get(user=request.user, pk=pk)
    running = statement.status in ("queued", "running")
    response = render(
        request,
        "billing/statements/detail.html",
        {
            "statement": statement,
            "running": running,
            "entries": paginate(request, selectors.statement_entries(statement=statement)),
        },
    )
    if running:
        response["Refresh"] = "3"  # progress without JavaScript
    return response


def _queue_page(request, failed=None, status=200):
    rows = []
    page = paginate(request, selectors.unmatched_entries(user=request.user))
    for entry in page:
        bound = failed if failed and failed[0] == entry.pk else None
        rows.append(
            {
                "entry": entry,
                "assign_form": bound[1]
                if bound and bound[2] == "assign"
                else StatementAssignForm(),
                "refund_form": bound[1]
                if bound and bound[2] == "refund"
                else StatementRefundForm(),
                "client_form": bound[1]
                if bound and bound[2] == "client"
                else StatementClientForm(auto_id=f"id_e{entry.pk}_%s"),
            }
        )
    return render(
        request,
        "billing/statements/unmatched.html",
        {"rows": rows, "page": page},
        status=status,
    )


@billing_staff_required
def unmatched(request):
    """The queue of entries that found no invoice, oldest first."""
    return _queue_page(request)


@require_POST
@billing_staff_required
def entry_action(request, pk: int, action: str):
    """Assign an unmatched entry to an invoice or to a client (a top-up or client credit), one
    action each, or mark it refunded."""
    entry = selectors.statement_entry_get(user=request.user, pk=pk)
    forms = {
        "assign": StatementAssignForm,
        "refund": StatementRefundForm,
        "client": StatementClientForm,
    }
    if action not in forms:
        return redirect("billing:statements_unmatched")
    form_class = forms[action]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                if action == "assign":
                    invoice = selectors.invoice_by_number(
                        user=request.user, number=form.cleaned_data["invoice"]
                    )
                    if invoice is None:
                        raise ApplicationError(
                            gettext("No invoice %(number)s.")
                            % {"number": repr(form.cleaned_data["invoice"])},
                            field="invoice",
                        )
                    statement_services.statement_entry_assign(
                        entry=entry, invoice=invoice, acting_user=request.user
                    )
                    done = gettext("%(amount)s recorded as a payment of %(number)s.") % {
                        "amount": money(entry.amount, entry.currency),
                        "number": invoice.number,
                    }
                elif action == "client":
                    client = selectors.statement_client_lookup(
                        user=request.user, entry=entry, text=form.cleaned_data["client"]
                    )
                    if client is None:
                        raise ApplicationError(
                            _("No client with this number or reference among your clients."),
                            field="client",
                        )
                    entry = statement_services.statement_entry_to_client(
                        entry=entry, client=client, acting_user=request.user
                    )
                    done = (
                        _("%(amount)s topped up on the wallet of %(client)s (usable tomorrow).")
                        if entry.status == "top_up"
                        else _("%(amount)s credited to %(client)s (art. 9.1).")
                    ) % {"amount": f"{entry.currency} {entry.amount}", "client": client.legal_name}
                else:
                    statement_services.statement_entry_refund(
                        entry=entry, note=form.cleaned_data["note"], acting_user=request.user
                    )
                    done = gettext("%(amount)s marked refunded.") % {
                        "amount": money(entry.amount, entry.currency)
                    }
        except ApplicationError as exc:
            add_service_error(form, exc, field_map={"amount": "invoice", "entry": "__all__"})
        else:
            messages.success(request, done)
            return redirect("billing:statements_unmatched")
    return _queue_page(request, failed=(entry.pk, form, action), status=400)
