"""The client's own alerts (issue 15 §2): a client admin sets and removes them; the client's
users read them."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.forms import add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, paginate
from billing.models import ClientAlert

from .services import alerts as alert_services


class AlertForm(forms.Form):
    kind = forms.ChoiceField(label=_("Alert me when"), choices=ClientAlert.Kind.choices)
    amount = forms.CharField(label=_("Amount"), required=False, max_length=30)
    share_pct = forms.CharField(label=_("Share of the limit (%)"), required=False, max_length=3)
    within_days = forms.CharField(label=_("Within days"), required=False, max_length=3)
    by_email = forms.BooleanField(label=_("By email"), required=False, initial=True)
    by_webhook = forms.BooleanField(label=_("By webhook"), required=False)


@login_required
def alerts(request):
    client = request.user.client
    if client is None:
        raise Http404
    form = AlertForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with not_allowed_is_403():
                alert_services.alert_create(
                    client=client, acting_user=request.user, **form.cleaned_data
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Alert set. It fires once each time the line is crossed."))
            return redirect("billing:alerts")
    rows = selectors.scoped(ClientAlert.objects.filter(is_active=True), user=request.user)
    return render(
        request,
        "billing/alerts.html",
        {"alerts": paginate(request, rows), "form": form, "client": client},
    )


@login_required
@require_POST
def alert_remove(request, pk: int):
    alert = selectors.scoped_get(
        ClientAlert.objects.select_related("client"), user=request.user, pk=pk
    )
    with not_allowed_is_403():
        alert_services.alert_remove(alert=alert, acting_user=request.user)
    messages.success(request, _("Alert removed."))
    return redirect("billing:alerts")
