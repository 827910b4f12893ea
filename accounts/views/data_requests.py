"""Data requests: the client's list and answer (with documents for the provider's own requests,
art. 5.4, 5.7, 20.1.2), every client's for staff (overdue first), the staff's logging of an
operator's request (art. 5.6) or sending of the provider's own on the client page, their
closing with findings, and the documents' download."""

import os

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors
from accounts.forms import (
    DataRequestAnswerForm,
    FindingsForm,
    ProviderRequestAnswerForm,
    add_service_error,
)
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, paginate
from accounts.kernel.uploads import stored_kind
from accounts.models import DataRequest
from accounts.services import data_requests as data_request_services

from .clients import client_action


@login_required
def data_requests(request):
    """The client's data requests with their deadlines; for staff, every client's, overdue first."""
    status = request.GET.get("status") or None
    kind = request.GET.get("kind") or None
    overdue = request.GET.get("overdue") == "1"
    qs = selectors.data_request_list(
        user=request.user, status=status, overdue=overdue or None, kind=kind
    ).select_related("client__provider")
    return render(
        request,
        "accounts/data_requests.html",
        {
            "requests": paginate(request, qs),
            "status": status or "",
            "overdue": overdue,
            "statuses": DataRequest.Status.choices,
            "kind": kind or "",
            "kinds": DataRequest.Kind.choices,
        },
    )


def _detail(request, data_request, form=None, findings_form=None, status=200):
    form_class = (
        ProviderRequestAnswerForm if data_request.is_from_provider else DataRequestAnswerForm
    )
    return render(
        request,
        "accounts/data_request_detail.html",
        {
            "dr": data_request,
            "form": form or form_class(),
            "can_answer": selectors.data_request_answerable(
                user=request.user, data_request=data_request
            ),
            "can_close": selectors.data_request_closable(
                user=request.user, data_request=data_request
            ),
            "findings_form": findings_form or FindingsForm(),
            "documents": data_request.documents.select_related("uploaded_by"),
        },
        status=status,
    )


def _get(request, pk):
    return selectors.scoped_get(
        DataRequest.objects.select_related(
            "client__provider", "answered_by", "logged_by", "closed_by"
        ),
        user=request.user,
        pk=pk,
    )


@login_required
def data_request_detail(request, pk: int):
    data_request = _get(request, pk)
    if request.method != "POST":
        return _detail(request, data_request)
    form_class = (
        ProviderRequestAnswerForm if data_request.is_from_provider else DataRequestAnswerForm
    )
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                data_request_services.data_request_answer(
                    data_request=data_request,
                    acting_user=request.user,
                    answer=form.cleaned_data["answer"],
                    documents=form.cleaned_data.get("documents") or (),
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Answer recorded."))
            return redirect("data_requests")
    return _detail(request, data_request, form=form, status=400)


@require_POST
@login_required
def data_request_close(request, pk: int):
    """Staff close the provider's answered request with their findings (art. 5.4, 5.7)."""
    data_request = _get(request, pk)
    form = FindingsForm(request.POST)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                data_request_services.data_request_close(
                    data_request=data_request,
                    acting_user=request.user,
                    findings=form.cleaned_data["findings"],
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Request closed; the client is told the findings."))
            return redirect("data_request_detail", pk=pk)
    return _detail(request, data_request, findings_form=form, status=400)


@require_GET
@login_required
def data_request_document(request, pk: int, document_pk: int):
    """A document of the client's answer, to the client's users and its provider's staff only,
    as a download of the type its content shows (accounts.kernel.uploads)."""
    document = selectors.data_request_document_get(
        user=request.user, pk=pk, document_pk=document_pk
    )
    kind = stored_kind(document.file)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=os.path.basename(document.file.name),
        content_type=kind.content_type if kind else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


client_data_request_log = client_action(
    "data_request_form",
    "Data request logged; the client must answer within 3 working days (art. 5.6).",
    lambda r, c, d: data_request_services.data_request_log(client=c, acting_user=r.user, **d),
)

client_provider_request_send = client_action(
    "provider_request_form",
    gettext_noop(
        "Request sent; the client must answer by the deadline it sets (art. 5.4, 5.7, 20.1.2)."
    ),
    lambda r, c, d: data_request_services.provider_request_send(client=c, acting_user=r.user, **d),
)
