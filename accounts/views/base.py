"""What the pages of accounts share: the safe `next` target, the client-user gate, the refusal
of a role as a 403, and the registration history shown on the company and client pages."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import selectors
from accounts.services.onboarding import COMPANY_FIELDS

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# The registration details shown in the field history (art. 5.5); bookkeeping columns are left out.
HISTORY_FIELDS = {*COMPANY_FIELDS, "billing_mode", "status", "rejection_reason"}


def registration_history(client) -> list[dict]:
    """Newest first: every change of a registration field, who made it and when."""
    return [
        h for h in reversed(selectors.field_history(client=client)) if h["field"] in HISTORY_FIELDS
    ]


def safe_next(request, default: str) -> str:
    """The `next` target of the request when it stays on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def client_user_required(view):
    """A page of the signed-in client user's own company; staff go to their dashboard."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.client_id:
            return redirect("dashboard")
        return view(request, *args, **kwargs)

    return wrapper
