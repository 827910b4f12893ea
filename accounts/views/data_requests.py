"""Data requests (art. 5.6): the client's list and answer, every client's for staff (overdue
first), and the staff's logging of a request on the client page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from accounts import selectors
from accounts.forms import DataRequestAnswerForm, add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, paginate
from accounts.models import DataRequest
from accounts.services import data_requests as data_request_services

from .clients import client_action


@login_required
def data_requests(request):
    """The client's data requests with their deadlines; for staff, every client's, overdue first."""
    status = request.GET.get("status") or None
    overdue = request.GET.get("overdue") == "1"
    qs = selectors.data_request_list(
        user=request.user, status=status, overdue=overdue or None
    ).select_related("client__provider")
    return render(
        request,
        "accounts/data_requests.html",
        {
            "requests": paginate(request, qs),
            "status": status or "",
            "overdue": overdue,
            "statuses": DataRequest.Status.choices,
        },
    )


@login_required
def data_request_detail(request, pk: int):
    data_request = selectors.scoped_get(
        DataRequest.objects.select_related("client__provider", "answered_by", "logged_by"),
        user=request.user,
        pk=pk,
    )
    form = DataRequestAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with not_allowed_is_403():
                data_request_services.data_request_answer(
                    data_request=data_request,
                    acting_user=request.user,
                    answer=form.cleaned_data["answer"],
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Answer recorded."))
            return redirect("data_requests")
    can_answer = selectors.data_request_answerable(user=request.user, data_request=data_request)
    return render(
        request,
        "accounts/data_request_detail.html",
        {"dr": data_request, "form": form, "can_answer": can_answer},
    )


client_data_request_log = client_action(
    "data_request_form",
    "Data request logged; the client must answer within 3 working days (art. 5.6).",
    lambda r, c, d: data_request_services.data_request_log(client=c, acting_user=r.user, **d),
)
