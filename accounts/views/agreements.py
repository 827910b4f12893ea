"""Agreement pages.

Staff, on the client page: suspend and resume the service (art. 7), give notice (art. 15.2),
send a notice of default and terminate for cause (art. 15.4-15.5), terminate on economic grounds
(art. 15.3). The client, on its agreement page: give notice (art. 15.2) or, prepaid, terminate
at any time (art. 29.6), send a notice of default and terminate for cause (art. 15.4-15.5); once
terminated, what survives it (art. 15.7, 11.1). The services decide; these bind forms.
"""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors
from accounts.forms import (
    DefaultNoticeForm,
    OptionalReasonForm,
    PrepaidTerminationForm,
    TerminateForm,
    add_service_error,
)
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.pages import not_allowed_is_403, role_required
from accounts.models import Agreement, Client
from accounts.services import agreements as agreement_services

from .clients import client_action
from .documents import download


def _agreement(client) -> Agreement:
    agreement = selectors.client_agreement(client=client)
    if agreement is None:
        raise ApplicationError(
            gettext("This client has no agreement yet; approve it first."), field="status"
        )
    return agreement


def _situation(user, number):
    """The force-majeure situation named by number on a form (art. 15.5(b)), among those the
    user may see; an unknown number is refused on the field."""
    if not number:
        return None
    situation = selectors.force_majeure_for_termination(user=user, pk=number)
    if situation is None:
        raise ValidationFailed(
            {"force_majeure": [gettext("No situation of force majeure with this number.")]}
        )
    return situation


def _terminate(request, agreement, data):
    return agreement_services.agreement_terminate_for_cause(
        agreement=agreement,
        acting_user=request.user,
        ground=data["ground"],
        reason=data["reason"],
        evidence=data.get("evidence"),
        force_majeure=_situation(request.user, data.get("force_majeure")),
    )


client_suspend = client_action(
    "suspend_form",
    gettext_lazy("Service suspended; the client sees the reason."),
    lambda r, c, d: agreement_services.client_suspend(
        client=c, acting_user=r.user, cause=d["cause"], reason=d["reason"]
    ),
)
client_resume = client_action(
    "resume_form",
    gettext_lazy("Service resumed."),
    lambda r, c, d: agreement_services.client_resume(
        client=c,
        acting_user=r.user,
        reason=d["reason"],
        activation_cost=d.get("activation_cost"),
    ),
)
client_give_notice = client_action(
    "notice_form",
    gettext_lazy("Notice given; the end date follows art. 15.2."),
    lambda r, c, d: agreement_services.agreement_give_notice(
        agreement=_agreement(c),
        party=Agreement.Party.PROVIDER,
        acting_user=r.user,
        reason=d["reason"],
    ),
)
client_notice_of_default = client_action(
    "default_form",
    gettext_lazy("Notice of default sent; the cure period runs 10 working days (art. 15.4)."),
    lambda r, c, d: agreement_services.agreement_notice_of_default(
        agreement=_agreement(c), acting_user=r.user, text=d["text"]
    ),
)
client_agreement_terms = client_action(
    "terms_form",
    gettext_noop("Agreed currency and payment term recorded (art. 4.1, 4.5)."),
    lambda r, c, d: agreement_services.agreement_commercial_terms_set(
        agreement=_agreement(c),
        currency=d["currency"],
        payment_term_days=d["payment_term_days"],
        acting_user=r.user,
    ),
)
client_terminate = client_action(
    "terminate_form",
    gettext_lazy("Agreement terminated."),
    lambda r, c, d: _terminate(r, _agreement(c), d),
)
client_terminate_economic = client_action(
    "economic_form",
    gettext_lazy(
        "Termination on economic grounds announced; the client is sent the substantiation."
    ),
    lambda r, c, d: agreement_services.agreement_terminate_economic(
        agreement=_agreement(c),
        acting_user=r.user,
        substantiation=d["substantiation"],
        end_date=d["end_date"],
    ),
)


client_default_remedied = client_action(
    "remedied_form",
    gettext_lazy("The failure is recorded as remedied (art. 15.4)."),
    lambda r, c, d: agreement_services.agreement_default_remedied(
        agreement=_agreement(c), acting_user=r.user
    ),
)


# --- The client's own agreement page -------------------------------------------------------
client_user_required = role_required(lambda user: bool(user.client_id))

CLIENT_FORMS = {
    "notice_form": OptionalReasonForm,
    "prepaid_form": PrepaidTerminationForm,
    "default_form": DefaultNoticeForm,
    "terminate_form": TerminateForm,
    "remedied_form": forms.Form,
}


def _page(request, status=200, **bound):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    agreement = selectors.client_agreement(client=client)
    context = {
        "client": client,
        "agreement": agreement,
        "prepaid": client.billing_mode == Client.BillingMode.PREPAID,
        "survival": selectors.agreement_survival(agreement=agreement),
        "force_majeure_rights": selectors.force_majeure_termination_rights(
            client=client, now=timezone.now()
        ),
    }
    for name, form_class in CLIENT_FORMS.items():
        context[name] = bound.get(name) or form_class(prefix=name.removesuffix("_form"))
    context["open_action"] = next(iter(bound), None)
    return render(request, "accounts/agreement.html", context, status=status)


@require_GET
@client_user_required
def agreement_page(request):
    """The client's agreement: term, notices and their deadlines, the termination it may give
    (art. 15, 29.6) and, once terminated, what survives (art. 15.7, 11.1)."""
    return _page(request)


def _client_post(form_name, success, call):
    @require_POST
    @client_user_required
    def view(request):
        client = selectors.client_get(user=request.user, pk=request.user.client_id)
        form = CLIENT_FORMS[form_name](
            request.POST, request.FILES, prefix=form_name.removesuffix("_form")
        )
        if form.is_valid():
            try:
                with not_allowed_is_403():
                    call(request, _agreement(client), form.cleaned_data)
            except ApplicationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, str(success))
                return redirect("agreement")
        return _page(request, status=400, **{form_name: form})

    return view


agreement_give_notice = _client_post(
    "notice_form",
    gettext_lazy("Notice given; the end date follows art. 15.2."),
    lambda r, a, d: agreement_services.agreement_give_notice(
        agreement=a, party=Agreement.Party.CLIENT, acting_user=r.user, reason=d["reason"]
    ),
)
agreement_terminate_prepaid = _client_post(
    "prepaid_form",
    gettext_lazy("Termination recorded (art. 29.6)."),
    lambda r, a, d: agreement_services.agreement_terminate_prepaid(
        agreement=a,
        acting_user=r.user,
        reason=d["reason"],
        end_date=d["end_date"],
        request_restitution=d["request_restitution"],
    ),
)
agreement_notice_of_default = _client_post(
    "default_form",
    gettext_lazy("Notice of default sent; the provider has 10 working days to remedy (art. 15.4)."),
    lambda r, a, d: agreement_services.agreement_notice_of_default(
        agreement=a, acting_user=r.user, text=d["text"]
    ),
)
agreement_default_remedied = _client_post(
    "remedied_form",
    gettext_lazy("The failure is recorded as remedied (art. 15.4)."),
    lambda r, a, d: agreement_services.agreement_default_remedied(agreement=a, acting_user=r.user),
)
agreement_terminate = _client_post(
    "terminate_form",
    gettext_lazy("Agreement terminated."),
    lambda r, a, d: _terminate(r, a, d),
)


@require_GET
@role_required(lambda user: bool(user.is_provider_staff or user.client_id))
def agreement_evidence(request, pk: int):
    """The evidence of a termination (art. 15.5), to the parties only."""
    return download(selectors.agreement_termination_evidence_get(user=request.user, pk=pk))
