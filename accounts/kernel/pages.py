"""What every app's pages share: pagination, the role gates of a page view and the one mapping
of a service's NotAllowed to the page's 403.

Pages of billing and data processing use these too (apps may use accounts, DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseBase

from accounts.kernel.errors import NotAllowed
from accounts.kernel.keyset import KeysetPage, keyset_page

if TYPE_CHECKING:
    from accounts.models import User

PAGE_SIZE = 25

_T = TypeVar("_T")
_P = ParamSpec("_P")
_R = TypeVar("_R", bound=HttpResponseBase)


class SequencePage(Page):  # type: ignore[type-arg]
    """A page of an in-memory list (already bounded by its selector): numbered, but shown with
    the same links as a keyset page ("First page", "Next")."""

    @property
    def next_cursor(self) -> str | None:
        return str(self.next_page_number()) if self.has_next() else None


class _SequencePaginator(Paginator):  # type: ignore[type-arg]
    def _get_page(self, *args: Any, **kwargs: Any) -> SequencePage:
        return SequencePage(*args, **kwargs)


def paginate(
    request: HttpRequest,
    items: QuerySet[Model, _T] | Sequence[_T],
    per_page: int = PAGE_SIZE,
    param: str = "page",
) -> KeysetPage[_T] | Page[_T]:
    """One page of `items` after the cursor in the `param` query parameter.

    A queryset is keyset-paginated in its own order (no OFFSET, no COUNT: the same cost on
    the first page and the thousandth, issue 16 §2); a bad cursor raises InvalidCursor, which
    the page answers with a 400 naming the parameter. A list keeps Django's numbered pages.
    """
    if isinstance(items, QuerySet):
        return keyset_page(items, per_page=per_page, cursor=request.GET.get(param), param=param)
    return _SequencePaginator(items, per_page).get_page(request.GET.get(param))


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
# Pages for provider staff and a client's users alike (each sees what the selectors scope).
staff_or_client_required = role_required(
    lambda user: bool(user.is_provider_staff or user.client_id)
)
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
