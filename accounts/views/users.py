"""The client's users (art. 5.2): the list, invitations, role changes and removal."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.forms import InviteUserForm, RoleForm, add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, paginate
from accounts.models import User
from accounts.services import users as user_services

from .base import client_user_required, safe_next


def _users_context(request, client, invite_form=None):
    return {
        "client": client,
        "users": paginate(request, selectors.client_users(client=client)),
        "invite_form": invite_form or InviteUserForm(),
        "role_choices": RoleForm.base_fields["role"].choices,
        "invitations": selectors.client_open_invitations(client=client)[:20],
    }


@client_user_required
def users(request):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    return render(request, "accounts/users.html", _users_context(request, client))


@require_POST
@client_user_required
def user_invite(request):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    form = InviteUserForm(request.POST)
    if form.is_valid():
        try:
            with not_allowed_is_403():
                user_services.user_invite(
                    client=client, acting_user=request.user, **form.cleaned_data
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
            return redirect("users")
    return render(
        request,
        "accounts/users.html",
        _users_context(request, client, invite_form=form),
        status=400,
    )


def _client_member(request, pk) -> User:
    return selectors.scoped_get(User.objects.filter(client__isnull=False), user=request.user, pk=pk)


@require_POST
@login_required
def user_change_role(request, pk: int):
    member = _client_member(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
    else:
        try:
            with not_allowed_is_403():
                user_services.user_change_role(
                    user=member, role=form.cleaned_data["role"], acting_user=request.user
                )
        except ApplicationError as exc:
            messages.error(request, f"{member.email}: {exc.message}")
        else:
            messages.success(
                request,
                _("%(email)s is now %(role)s.")
                % {"email": member.email, "role": member.get_role_display().lower()},
            )
    return redirect(safe_next(request, reverse("users")))


@require_POST
@login_required
def user_remove(request, pk: int):
    member = _client_member(request, pk)
    try:
        with not_allowed_is_403():
            user_services.user_remove(user=member, acting_user=request.user)
    except ApplicationError as exc:
        messages.error(request, f"{member.email}: {exc.message}")
    else:
        messages.success(request, _("%(email)s can no longer sign in.") % {"email": member.email})
    return redirect(safe_next(request, reverse("users")))
