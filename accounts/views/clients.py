"""The staff's client pages: the list (with the invitation to register) and the detail page,
whose actions (approve, reject, suspend, resume, log a data request, notice, default,
termination) are each one POST view made by `client_action`."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.forms import (
    AgreementTermsForm,
    ClientFilterForm,
    DataRequestLogForm,
    DecisionNoteForm,
    DefaultNoticeForm,
    EconomicTerminationForm,
    OnboardingInviteForm,
    OptionalReasonForm,
    ProviderRequestForm,
    ReasonForm,
    ResumeForm,
    SuspendForm,
    TerminateForm,
    add_service_error,
)
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, paginate, staff_required

from .base import registration_history

# The forms of the detail page's actions, by context name; each is bound under its prefix.
ACTION_FORMS = {
    "reject_form": ReasonForm,
    "suspend_form": SuspendForm,
    "resume_form": ResumeForm,
    "data_request_form": DataRequestLogForm,
    "provider_request_form": ProviderRequestForm,
    "notice_form": OptionalReasonForm,
    "default_form": DefaultNoticeForm,
    "terminate_form": TerminateForm,
    "economic_form": EconomicTerminationForm,
    "terms_form": AgreementTermsForm,
}


# --- The list --------------------------------------------------------------------------------
@staff_required
def client_list(request):
    return client_list_page(request)


def client_list_page(request, invite_form: OnboardingInviteForm | None = None):
    """The list, filtered by the query; with a refused `invite_form`, shown again with its errors."""
    form = ClientFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(request, selectors.client_list(filters=filters, user=request.user))
    query = urlencode({k: v for k, v in (filters or {}).items() if v})
    return render(
        request,
        "accounts/client_list.html",
        {
            "form": form,
            "clients": page,
            "query": query,
            "invite_form": invite_form or OnboardingInviteForm(user=request.user),
        },
        status=400 if invite_form is not None else 200,
    )


# --- The detail page -------------------------------------------------------------------------
def client_detail_context(request, client, **bound_forms):
    user = request.user
    context = {
        "client": client,
        "directors": client.directors.all(),
        "agreement": selectors.client_agreement(client=client),
        "suspensions": selectors.client_open_suspensions(client=client),
        "current_terms": selectors.client_current_terms(client=client),
        "terms_acceptances": client.terms_acceptances.select_related("terms")[:10],
        "change_requests": paginate(
            request, selectors.change_request_list(user=user).filter(client=client), per_page=10
        ),
        "data_requests": paginate(
            request,
            selectors.data_request_list(user=user)
            .filter(client=client)
            .order_by("-logged_at", "-pk"),
            10,
            "dr_page",
        ),
        "members": paginate(request, selectors.client_users(client=client), 10, "user_page"),
        "history": paginate(request, registration_history(client), 10, "history_page"),
        "decision_form": DecisionNoteForm(),
        "force_majeure_rights": selectors.force_majeure_termination_rights(client=client),
    }
    context["survival"] = selectors.agreement_survival(agreement=context["agreement"])
    agreement = context["agreement"]
    initial = {
        "terms_form": {
            "currency": agreement.currency,
            "payment_term_days": agreement.payment_term_days,
        }
        if agreement
        else {}
    }
    for name, form_class in ACTION_FORMS.items():
        context[name] = bound_forms.get(name) or form_class(
            prefix=name.removesuffix("_form"), initial=initial.get(name)
        )
    return context


def staff_client(request, pk):
    """The client for a staff page: 404 for one the user may not see, 403 for a client user's own."""
    client = selectors.client_get(user=request.user, pk=pk)
    if not request.user.is_provider_staff:
        raise PermissionDenied
    return client


@login_required
def client_detail(request, pk: int):
    client = selectors.client_get(user=request.user, pk=pk)
    if not request.user.is_provider_staff:
        return redirect("company")
    return render(request, "accounts/client_detail.html", client_detail_context(request, client))


def client_action(form_name: str, success: str | Promise, call):
    """A staff action on a client: bind its form, call the service, show the refusal on the page."""

    @require_POST
    @login_required
    def view(request, pk: int):
        client = staff_client(request, pk)
        form_class = ACTION_FORMS.get(form_name)
        form = (
            form_class(request.POST, request.FILES, prefix=form_name.removesuffix("_form"))
            if form_class
            else None
        )
        if form is None or form.is_valid():
            try:
                with not_allowed_is_403():
                    call(request, client, form.cleaned_data if form else {})
            except ApplicationError as exc:
                if form is None:
                    messages.error(request, exc.message)
                    return redirect("client_detail", pk=client.pk)
                add_service_error(form, exc)
            else:
                # marked where the action is declared: lazily, or with gettext_noop
                messages.success(
                    request, str(success) if isinstance(success, Promise) else gettext(success)
                )
                return redirect("client_detail", pk=client.pk)
        context = client_detail_context(request, client, **{form_name: form})
        context["open_action"] = form_name
        return render(request, "accounts/client_detail.html", context, status=400)

    return view
