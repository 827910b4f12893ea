"""One error shape for the whole API: {"errors": [{"code", "message", "field"}]}."""

from collections.abc import Iterator
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.kernel.errors import (
    ApplicationError,
    Conflict,
    NotAllowed,
    NotFound,
    ValidationFailed,
    from_django_validation_error,
)


def _flatten(detail: Any, field: str | None = None) -> Iterator[dict[str, Any]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name: str | None
            if isinstance(key, int):  # DRF keys a nested list's errors by position
                name = f"{field}[{key}]" if field else str(key)
            elif key in ("non_field_errors", "__all__"):
                name = field
            else:
                name = key if field is None else f"{field}.{key}"
            yield from _flatten(value, name)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, (dict, list)) and not isinstance(item, exceptions.ErrorDetail):
                yield from _flatten(item, f"{field}[{index}]" if field else str(index))
            else:
                yield from _flatten(item, field)
    else:
        yield {"code": getattr(detail, "code", "invalid"), "message": str(detail), "field": field}


def _application_error_response(exc: ApplicationError) -> Response:
    errors: list[dict[str, str | None]]
    if isinstance(exc, ValidationFailed):
        errors = [
            {
                "code": exc.code,
                "message": message,
                "field": None if field == "non_field_errors" else field,
            }
            for field, messages in exc.errors.items()
            for message in messages
        ]
    else:
        errors = [{"code": exc.code, "message": exc.message, "field": exc.field}]
    if exc.article:
        for error in errors:
            error["article"] = exc.article
    code: int
    if isinstance(exc, Conflict):
        code = status.HTTP_409_CONFLICT
    elif isinstance(exc, NotAllowed):
        code = status.HTTP_403_FORBIDDEN
    else:
        code = status.HTTP_400_BAD_REQUEST
    return Response({"errors": errors}, status=code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = from_django_validation_error(exc)
    if isinstance(exc, NotFound):
        exc = Http404(exc.message)
    if isinstance(exc, ApplicationError):
        return _application_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    # DRF answers only its own exceptions (Http404 and PermissionDenied were converted above).
    exc = cast(exceptions.APIException, exc)
    response.data = {
        "errors": list(
            _flatten(
                response.data
                if isinstance(exc, exceptions.ValidationError)
                else {"non_field_errors": [exc.detail]}
            )
        )
    }
    if not isinstance(exc, exceptions.ValidationError):
        for error in response.data["errors"]:
            error["code"] = exc.get_codes() if isinstance(exc.get_codes(), str) else error["code"]
    return response
