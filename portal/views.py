"""Dashboards: the composition root's pages, which may show every app's data (DESIGN.md, Layout)."""

from django.contrib.auth.decorators import login_required
from django.db.models.functions import Coalesce
from django.shortcuts import render

from accounts import selectors
from accounts.forms import ReasonForm
from accounts.kernel.pages import paginate
from accounts.models import Agreement, ChangeRequest, Client, DataRequest
from billing.invoicing import selectors as invoicing_selectors
from billing.prepaid import selectors as billing_pages

QUEUE_SIZE = 10


@login_required
def dashboard(request):
    if request.user.is_provider_staff:
        return _staff_dashboard(request)
    if request.user.client_id:
        return _client_dashboard(request)
    return render(request, "portal/no_role.html", status=403)


def _client_dashboard(request):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    agreement = Agreement.objects.filter(client=client).first()
    open_data_requests = selectors.data_request_list(
        user=request.user, status=DataRequest.Status.OPEN
    )
    return render(
        request,
        "portal/client_dashboard.html",
        {
            "client": client,
            "agreement": agreement,
            "suspensions": list(selectors.client_open_suspensions(client=client)),
            "messaging_allowed": selectors.messaging_allowed(client=client),
            "current_terms": selectors.client_current_terms(client=client),
            "pending_terms": list(selectors.client_pending_terms(client=client)),
            "object_form": ReasonForm(),
            "open_data_requests": open_data_requests[:5],
            "open_data_request_count": open_data_requests.count(),
            "pending_change_requests": selectors.change_request_list(
                user=request.user, status=ChangeRequest.Status.PENDING
            ).count(),
            "billing": billing_pages.client_billing_summary(client=client),
            "amount_due": invoicing_selectors.client_amount_due(user=request.user, client=client),
            "force_majeure_rights": selectors.force_majeure_termination_rights(client=client),
        },
    )


def _queue(request, queryset, param: str):
    return paginate(request, queryset, QUEUE_SIZE, param)


def _staff_dashboard(request):
    user = request.user
    # Every queue and count is of the clients of the providers `user` serves (art. 11.1, 21.4).
    pending_clients = selectors.client_list(
        filters={"status": Client.Status.PENDING}, user=user
    ).order_by("created_at", "pk")
    suspended = selectors.client_list(filters={"status": Client.Status.ACTIVE}, user=user).filter(
        is_suspended=True
    )
    overdue = selectors.data_request_list(user=user, overdue=True).select_related(
        "client__provider"
    )
    open_requests = selectors.data_request_list(
        user=user, status=DataRequest.Status.OPEN, overdue=False
    ).select_related("client__provider")
    return render(
        request,
        "portal/staff_dashboard.html",
        {
            "pending_clients": _queue(request, pending_clients, "pending_page"),
            "change_requests": _queue(
                request,
                selectors.change_request_list(
                    user=user, status=ChangeRequest.Status.PENDING
                ).order_by("submitted_at", "pk"),
                "cr_page",
            ),
            "overdue_requests": _queue(request, overdue, "overdue_page"),
            "open_requests": _queue(request, open_requests, "open_page"),
            "suspended_clients": _queue(request, suspended, "suspended_page"),
            "objections": _queue(
                request,
                # Coalesced: a keyset page cannot seek past NULL (accounts.kernel.keyset).
                selectors.terms_objections(user=user)
                .annotate(objected_at=Coalesce("decided_at", "notified_at"))
                .order_by("-objected_at", "-pk"),
                "objection_page",
            ),
            "counts": {
                "active": selectors.clients_visible_to(user)
                .filter(status=Client.Status.ACTIVE)
                .count(),
                "pending": pending_clients.count(),
                "overdue": overdue.count(),
            },
            "billing_queues": billing_pages.pending_counts(user=user)
            if user.is_billing_staff
            else None,
            "invoicing_queues": invoicing_selectors.queue_counts(user=user)
            if user.is_billing_staff
            else None,
            "interest_statuses": invoicing_selectors.interest_status_list(user=user)
            if user.is_billing_staff
            else None,
        },
    )


def integrator_guide(request):
    """The integrator guide (keys, batching, retries, idempotency), linked from `/api/docs/`;
    public, like the docs themselves."""
    return render(request, "portal/integrators.html")


def _api_error(request, code: str, message: str, status: int):
    from django.http import JsonResponse

    return JsonResponse(
        {"errors": [{"code": code, "message": message, "field": None}]}, status=status
    )


def not_found(request, exception=None):
    """An address no route matches: the API answers its JSON error shape, pages the 404 page."""
    if request.path.startswith("/api/"):
        return _api_error(request, "not_found", "Not found.", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request):
    """An unexpected failure: the API answers its JSON error shape, pages the 500 page."""
    if request.path.startswith("/api/"):
        return _api_error(request, "server_error", "Something went wrong on our side.", 500)
    from django.views.defaults import server_error as page_server_error

    return page_server_error(request)
