"""What every app's pages share: pagination, the role gates of a page view and the one mapping
of a service's NotAllowed to the page's 403.

Pages of billing and data processing use these too (apps may use accounts, DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseBase

from accounts.kernel.errors import NotAllowed

if TYPE_CHECKING:
    from accounts.models import User

PAGE_SIZE = 25

_T = TypeVar("_T")
_P = ParamSpec("_P")
_R = TypeVar("_R", bound=HttpResponseBase)


def paginate(
    request: HttpRequest,
    items: QuerySet[Model, _T] | Sequence[_T],
    per_page: int = PAGE_SIZE,
    param: str = "page",
) -> Page[_T]:
    """One page of `items`, chosen by the `param` query parameter."""
    return Paginator(items, per_page).get_page(request.GET.get(param))


def role_required(
    allowed: Callable[[User], bool],
) -> Callable[
    [Callable[Concatenate[HttpRequest, _P], _R]], Callable[Concatenate[HttpRequest, _P], _R]
]:
    """A page for signed-in users for whom `allowed(user)` holds; others are refused (403)."""

    def decorator(
        view: Callable[Concatenate[HttpRequest, _P], _R],
    ) -> Callable[Concatenate[HttpRequest, _P], _R]:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            # login_required has turned away anonymous visitors: the user is signed in.
            if not allowed(cast("User", request.user)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# Any provider staff (billing staff or compliance officers).
staff_required = role_required(lambda user: user.is_provider_staff)
# The provider's billing staff only.
billing_staff_required = role_required(lambda user: user.is_billing_staff)


@contextmanager
def not_allowed_is_403() -> Iterator[None]:
    """A service's refusal of the role (NotAllowed) is the page's 403; other refusals pass on
    to the caller, which shows them on the form or as a message."""
    try:
        yield
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
