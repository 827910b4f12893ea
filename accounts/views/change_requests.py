"""Registration details (art. 5.5): the client's company page, where its admin requests a change
in writing, and the staff's queue and decision on change requests."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.forms import (
    ChangeRequestForm,
    DecisionNoteForm,
    DirectorFormSet,
    ServiceChangeRequestForm,
    add_service_error,
    directors_from,
)
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, paginate, staff_required
from accounts.models import ChangeRequest
from accounts.services import change_requests as change_request_services
from accounts.services.onboarding import COMPANY_FIELDS

from .base import client_user_required, registration_history, safe_next


def _change_forms(request, client, directors):
    """The change request form and the directors formset: bound on POST, else the current details."""
    if request.method == "POST":
        return ChangeRequestForm(request.POST), DirectorFormSet(request.POST, prefix="directors")
    return (
        ChangeRequestForm(initial={field: getattr(client, field) for field in COMPANY_FIELDS}),
        DirectorFormSet(
            prefix="directors", initial=[{"name": d.name, "title": d.title} for d in directors]
        ),
    )


@client_user_required
def company(request):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    directors = list(client.directors.all())
    form = formset = None
    if request.user.is_client_admin:
        form, formset = _change_forms(request, client, directors)
        if request.method == "POST" and form.is_valid() and formset.is_valid():
            changes = dict(form.cleaned_data)
            changes["directors"] = directors_from(formset)
            try:
                with not_allowed_is_403():
                    change_request_services.change_request_submit(
                        client=client, acting_user=request.user, changes=changes
                    )
            except ApplicationError as exc:
                add_service_error(form, exc, formset=formset)
            else:
                messages.success(
                    request, _("Change request submitted; staff will review it (art. 5.5).")
                )
                return redirect("company")
    elif request.method == "POST":
        raise PermissionDenied
    change_requests = paginate(
        request,
        selectors.change_request_list(user=request.user, kind=ChangeRequest.Kind.REGISTRATION),
        per_page=10,
    )
    history_page = paginate(request, registration_history(client), 20, "history_page")
    return render(
        request,
        "accounts/company.html",
        {
            "client": client,
            "directors": directors,
            "form": form,
            "formset": formset,
            "change_requests": change_requests,
            "history": history_page,
        },
    )


# --- Staff ---------------------------------------------------------------------------------
@require_POST
@login_required
def change_request_decide(request, pk: int, decision: str):
    change_request = selectors.scoped_get(
        ChangeRequest.objects.select_related("client"), user=request.user, pk=pk
    )
    if not request.user.is_provider_staff:
        raise PermissionDenied
    form = DecisionNoteForm(request.POST)
    note = form.data.get("note", "")
    agreed_from = form.cleaned_data.get("agreed_from") if form.is_valid() else None
    try:
        with not_allowed_is_403():
            if decision == "accept":
                change_request_services.change_request_accept(
                    change_request=change_request,
                    acting_user=request.user,
                    note=note,
                    agreed_from=agreed_from,
                )
                messages.success(
                    request,
                    _("Change to the service agreed; the client is told (art. 5.3).")
                    if change_request.kind == ChangeRequest.Kind.SERVICE
                    else _("Change accepted and applied (art. 5.5)."),
                )
            elif decision == "reject":
                change_request_services.change_request_reject(
                    change_request=change_request, acting_user=request.user, note=note
                )
                messages.success(request, _("Change request rejected."))
            else:
                raise Http404
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(safe_next(request, reverse("client_detail", args=[change_request.client_id])))


@staff_required
def change_requests(request):
    status = request.GET.get("status", ChangeRequest.Status.PENDING)
    kind = request.GET.get("kind") or None
    qs = selectors.change_request_list(user=request.user, status=status or None, kind=kind)
    return render(
        request,
        "accounts/change_requests.html",
        {
            "change_requests": paginate(request, qs),
            "status": status,
            "statuses": ChangeRequest.Status.choices,
            "kind": kind or "",
            "kinds": ChangeRequest.Kind.choices,
        },
    )


@client_user_required
def service_changes(request):
    """The client's changes to the service, requested in writing (art. 5.3), and, for its admin,
    the form to request one."""
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    form = None
    if request.user.is_client_admin:
        form = ServiceChangeRequestForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                with not_allowed_is_403():
                    change_request_services.service_change_request_submit(
                        client=client, acting_user=request.user, **form.cleaned_data
                    )
            except ApplicationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(
                    request, _("Your request is sent in writing; staff will review it (art. 5.3).")
                )
                return redirect("service_changes")
    elif request.method == "POST":
        raise PermissionDenied
    qs = selectors.change_request_list(user=request.user, kind=ChangeRequest.Kind.SERVICE)
    return render(
        request,
        "accounts/service_changes.html",
        {"client": client, "form": form, "requests": paginate(request, qs)},
        status=400 if form is not None and form.errors else 200,
    )
