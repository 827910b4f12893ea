"""Who made a change, for django-simple-history (art. 5.5, 18.1: changes in writing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models

from .errors import from_django_validation_error

if TYPE_CHECKING:
    from accounts.models import User

_M = TypeVar("_M", bound=models.Model)


def with_history_user(obj: _M, user: User | None) -> _M:
    """Mark `obj` so its next history row records `user` as the one who made the change."""
    # simple-history reads this attribute; Model declares no such field, hence setattr.
    setattr(obj, "_history_user", user)  # noqa: B010
    return obj


def save_with_history(obj: _M, user: User | None, *, clean: bool = False, **save_kwargs: Any) -> _M:
    """Save `obj` as changed by `user`; with `clean`, run `full_clean()` first and raise the
    domain error naming each bad field (nothing is saved then)."""
    if clean:
        try:
            obj.full_clean()
        except DjangoValidationError as exc:
            raise from_django_validation_error(exc) from exc
    with_history_user(obj, user).save(**save_kwargs)
    return obj
