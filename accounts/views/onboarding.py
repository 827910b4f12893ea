"""Onboarding pages: sign-up, the invitation link (an employee's, or a company's to register),
the staff's invitation to register, and the staff's approval or rejection of a registration."""

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.forms import (
    DirectorFormSet,
    InvitationAcceptForm,
    OnboardingInviteForm,
    SignUpForm,
    add_service_error,
    directors_from,
)
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, staff_required
from accounts.models import Invitation
from accounts.services import onboarding as onboarding_services
from accounts.services import users as user_services

from .base import MODEL_BACKEND
from .clients import client_action, client_list_page


def _sign_up(request, invitation: Invitation | None = None, token: str | None = None):
    form = SignUpForm(request.POST or None, invitation=invitation)
    formset = DirectorFormSet(request.POST or None, prefix="directors")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        company = {field: data.get(field, "") for field in onboarding_services.COMPANY_FIELDS}
        company["directors"] = directors_from(formset)
        try:
            user = onboarding_services.client_sign_up(
                provider=data["provider"],
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                company=company,
                billing_mode=data["billing_mode"],
                invitation=invitation,
                language=get_language(),
            )
        except ApplicationError as exc:
            add_service_error(form, exc, field_map={"password": "password1"}, formset=formset)
        else:
            auth_login(request, user, backend=MODEL_BACKEND)
            messages.success(
                request, _("Your company is registered. Billing staff will review it shortly.")
            )
            return redirect("dashboard")
    return render(
        request,
        "accounts/sign_up.html",
        {"form": form, "formset": formset, "invitation": invitation, "token": token},
    )


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return _sign_up(request)


def invitation(request, token: str):
    """An employee invitation sets a password and joins; an onboarding one opens the sign-up form."""
    if request.user.is_authenticated:
        messages.info(request, _("Sign out first to accept an invitation for another account."))
        return redirect("dashboard")
    try:
        invite = user_services.invitation_for_token(token)
    except ApplicationError as exc:
        return render(
            request, "accounts/invitation_invalid.html", {"message": exc.message}, status=404
        )
    if invite.client_id is None:
        return _sign_up(request, invitation=invite, token=token)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_services.invitation_accept(
                raw_token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
                language=get_language(),
            )
        except ApplicationError as exc:
            add_service_error(form, exc, field_map={"password": "password1"})
        else:
            auth_login(request, user, backend=MODEL_BACKEND)
            messages.success(
                request, _("Welcome to %(company)s.") % {"company": user.client.legal_name}
            )
            return redirect("dashboard")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invite})


# --- Staff ---------------------------------------------------------------------------------
@require_POST
@staff_required
def onboarding_invite(request):
    """Billing staff invite a person to sign up and register its company."""
    form = OnboardingInviteForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                onboarding_services.onboarding_invite(acting_user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Invitation to register sent to %(email)s.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("client_list")
    return client_list_page(request, invite_form=form)


client_approve = client_action(
    "approve_form",
    "Client approved; the agreement starts today.",
    lambda r, c, d: onboarding_services.client_approve(client=c, acting_user=r.user),
)
client_reject = client_action(
    "reject_form",
    "Registration rejected; the applicant is told why.",
    lambda r, c, d: onboarding_services.client_reject(
        client=c, acting_user=r.user, reason=d["reason"]
    ),
)
