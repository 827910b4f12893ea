"""Domain errors. Services raise these, never HTTP errors; the API and pages translate them."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.core.exceptions import ValidationError as DjangoValidationError


class ApplicationError(Exception):
    """A refused operation: it names the field and the rule it breaks, and changed nothing."""

    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        article: str | None = None,
    ) -> None:
        # A lazy translation is read here, in the language of the request that was refused.
        message = str(message)
        super().__init__(message)
        self.message = message
        self.field = field
        self.article = article
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message


class ValidationFailed(ApplicationError):
    """Input that breaks a rule; may carry several field errors."""

    def __init__(self, errors: dict[str, list[str]] | str, *, article: str | None = None) -> None:
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors = errors
        field, messages = next(iter(errors.items()))
        super().__init__(
            messages[0], field=None if field == "non_field_errors" else field, article=article
        )


class NotAllowed(ApplicationError):
    code = "not_allowed"


class Conflict(ApplicationError):
    code = "conflict"


def from_django_validation_error(exc: "DjangoValidationError") -> ValidationFailed:
    """Turn a Django ValidationError (from full_clean) into our domain error."""
    if hasattr(exc, "message_dict"):
        errors = {
            ("non_field_errors" if k == "__all__" else k): list(v)
            for k, v in exc.message_dict.items()
        }
    else:
        errors = {"non_field_errors": list(exc.messages)}
    return ValidationFailed(errors)


class NotFound(ApplicationError):
    """The object does not exist for this caller: another client's or another provider's id
    is answered exactly as a missing one (404 in the API and on pages)."""

    code = "not_found"

    def __init__(self, message: str | None = None, **kwargs: str | None) -> None:
        from django.utils.translation import gettext

        super().__init__(message or gettext("Not found."), **kwargs)
