"""What every app's pages share: pagination and the role gates of a page view.

Pages of billing and data processing use these too (apps may use accounts, DESIGN.md).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator

PAGE_SIZE = 25


def paginate(request, items, per_page: int = PAGE_SIZE, param: str = "page"):
    """One page of `items`, chosen by the `param` query parameter."""
    return Paginator(items, per_page).get_page(request.GET.get(param))


def role_required(allowed: Callable) -> Callable:
    """A page for signed-in users for whom `allowed(user)` holds; others are refused (403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not allowed(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# Any provider staff (billing staff or compliance officers).
staff_required = role_required(lambda user: user.is_provider_staff)
# The provider's billing staff only.
billing_staff_required = role_required(lambda user: user.is_billing_staff)
