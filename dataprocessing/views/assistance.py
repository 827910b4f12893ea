"""Assistance requests (art. 21.6): a client asks for help with a DPIA or a prior consultation;
compliance officers track the status, outcome and cost."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from accounts.kernel.pages import paginate
from accounts.selectors import client_get
from dataprocessing import selectors
from dataprocessing.forms import AssistanceRequestForm, AssistanceUpdateForm
from dataprocessing.models import AssistanceRequest
from dataprocessing.services import assistance as services

from ._common import call_service, history, staff_or_client_required


@staff_or_client_required
def assistance(request):
    user = request.user
    can_request = selectors.files_for_clients(user)
    form = AssistanceRequestForm(request.POST or None, user=user) if can_request else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = dict(form.cleaned_data)
            client = client_get(user=user, pk=(data.pop("client", None) or user.client).pk)
            if call_service(
                request,
                lambda: services.assistance_request_log(client=client, acting_user=user, **data),
                "Assistance request logged (art. 21.6).",
                form,
            ):
                return redirect("dataprocessing:assistance")
    status = request.GET.get("status", "")
    qs = selectors.assistance_request_list(user=user, status=status or None)
    return render(
        request,
        "dataprocessing/assistance.html",
        {
            "requests": paginate(request, qs),
            "form": form,
            "status": status,
            "statuses": AssistanceRequest.Status.choices,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def assistance_detail(request, pk: int):
    assistance_request = selectors.assistance_request_get(user=request.user, pk=pk)
    form = None
    if request.user.is_compliance_officer:
        form = AssistanceUpdateForm(
            request.POST or None,
            initial={"status": assistance_request.status, "outcome": assistance_request.outcome},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if call_service(
                request,
                lambda: services.assistance_request_update(
                    assistance_request=assistance_request,
                    acting_user=request.user,
                    status=data["status"],
                    outcome=data["outcome"],
                    cost=data["cost"],
                ),
                "Assistance request updated.",
                form,
            ):
                return redirect("dataprocessing:assistance_detail", pk=pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "dataprocessing/assistance_detail.html",
        {"ar": assistance_request, "form": form, "history": history(assistance_request)},
        status=400 if form is not None and form.errors else 200,
    )
