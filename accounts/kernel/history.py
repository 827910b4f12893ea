"""Who made a change, for django-simple-history (art. 5.5, 18.1: changes in writing)."""

from django.core.exceptions import ValidationError as DjangoValidationError

from .errors import from_django_validation_error


def with_history_user(obj, user):
    """Mark `obj` so its next history row records `user` as the one who made the change."""
    obj._history_user = user
    return obj


def save_with_history(obj, user, *, clean: bool = False, **save_kwargs):
    """Save `obj` as changed by `user`; with `clean`, run `full_clean()` first and raise the
    domain error naming each bad field (nothing is saved then)."""
    if clean:
        try:
            obj.full_clean()
        except DjangoValidationError as exc:
            raise from_django_validation_error(exc) from exc
    with_history_user(obj, user).save(**save_kwargs)
    return obj
