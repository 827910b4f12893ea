"""Webhook endpoints: a client admin registers them, picks events, rotates the secret, reads the
delivery log and sends a delivery again. The client's users read them; staff of the client's
provider read the log (support), never the secret."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.forms import WebhookEndpointForm, add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, paginate
from accounts.models import WebhookDelivery, WebhookEndpoint
from accounts.services import webhooks as webhook_services


def _endpoint(request, pk: int) -> WebhookEndpoint:
    return selectors.scoped_get(
        WebhookEndpoint.objects.select_related("client__provider"), user=request.user, pk=pk
    )


@login_required
def webhooks(request):
    """The client's endpoints, and the form that registers one (its admins only)."""
    client = request.user.client
    if client is None:
        raise Http404
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with not_allowed_is_403():
                endpoint = webhook_services.webhook_endpoint_create(
                    client=client,
                    acting_user=request.user,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Endpoint registered. Verify its deliveries with the secret below.")
            )
            return redirect("webhook_detail", endpoint.pk)
    endpoints = selectors.scoped(WebhookEndpoint.objects.all(), user=request.user)
    return render(
        request,
        "accounts/webhooks.html",
        {"endpoints": paginate(request, endpoints), "form": form},
    )


@login_required
def webhook_detail(request, pk: int):
    """One endpoint: change it, rotate its secret, its delivery log (newest first)."""
    endpoint = _endpoint(request, pk)
    is_admin = request.user.is_client_admin and request.user.client_id == endpoint.client_id
    form = WebhookEndpointForm(
        request.POST or None,
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "is_active": endpoint.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            with not_allowed_is_403():
                webhook_services.webhook_endpoint_update(
                    endpoint=endpoint, acting_user=request.user, **form.cleaned_data
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("webhook_detail", endpoint.pk)
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    return render(
        request,
        "accounts/webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "is_admin": is_admin,
            "deliveries": paginate(request, deliveries),
        },
    )


@login_required
@require_POST
def webhook_rotate(request, pk: int):
    endpoint = _endpoint(request, pk)
    with not_allowed_is_403():
        webhook_services.webhook_secret_rotate(endpoint=endpoint, acting_user=request.user)
    messages.success(
        request, _("New secret made. The previous one keeps signing beside it for one day.")
    )
    return redirect("webhook_detail", endpoint.pk)


@login_required
@require_POST
def webhook_delivery_resend(request, pk: int):
    delivery = selectors.scoped_get(
        WebhookDelivery.objects.select_related("endpoint__client"),
        user=request.user,
        pk=pk,
        client_field="endpoint__client",
    )
    with not_allowed_is_403():
        webhook_services.webhook_delivery_resend(delivery=delivery, acting_user=request.user)
    messages.success(request, _("Delivery queued again under the same id."))
    return redirect("webhook_detail", delivery.endpoint_id)
