"""What the data-processing pages share.

Views are thin: forms check the shape, `dataprocessing.services` make every change and refuse
with an ApplicationError shown on the field it names, `dataprocessing.selectors` read. Another
client's id answers 404 (the selectors' NotFound), never 403.
"""

from django.contrib import messages

from accounts.forms import add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.pages import not_allowed_is_403, role_required

# Pages for provider staff and a client's users alike (each sees what the selectors scope).
staff_or_client_required = role_required(lambda user: user.is_provider_staff or user.client_id)


def call_service(request, call, success: str, form=None) -> bool:
    """Run a service; its refusal goes on the form's field (or into the messages). True on success."""
    try:
        with not_allowed_is_403():
            call()
    except ApplicationError as exc:
        if form is not None:
            add_service_error(form, exc)
        else:
            messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


def history(obj, limit: int = 30):
    """Who changed what, when (simple-history), newest first."""
    return obj.history.select_related("history_user").order_by("-history_date", "-history_id")[
        :limit
    ]
