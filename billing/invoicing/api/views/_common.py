"""What the invoicing API's views share: query parameters, the Idempotency-Key header, the
decimal-string amount field and the invoice the caller may see."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter

from accounts.api.views.base import client_for
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.fields import AmountField
from accounts.kernel.idempotency import request_key
from billing.invoicing import selectors
from billing.models import Invoice

CLIENT_PARAM = OpenApiParameter(
    "client", int, description="the client's id (staff; a client user's own client by default)"
)
KEY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)
KEY_HEADER_OPTIONAL = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="same key, same body: one answer"
)
DEFAULT_PAGE_SIZE = 50


# Every amount of the invoicing API (accounts.kernel.fields).
DecimalString = AmountField


def client_from_query(request):
    """The client named by `?client=` (staff) or the caller's own; another client's id is 404."""
    raw = request.query_params.get("client")
    if raw is not None and not raw.isdigit():
        raise ValidationFailed({"client": ["client must be a client id."]})
    return client_for(request, int(raw) if raw else None)


def optional_client(request):
    """Staff may list every client's rows (or one with `?client=`); a client user its own."""
    if request.user.is_provider_staff and not request.query_params.get("client"):
        return None
    return client_from_query(request)


def require_key(request) -> str:
    key = request_key(request)
    if not key:
        raise ValidationFailed(
            {
                "Idempotency-Key": [
                    "Send an Idempotency-Key header: nothing moves money without one."
                ]
            }
        )
    return key


def status_param(request, choices) -> str:
    value = request.query_params.get("status") or ""
    if value and value not in choices:
        raise ValidationFailed({"status": [f"status must be one of {', '.join(choices)}."]})
    return value


def invoice_answer(request, invoice: Invoice):
    """The invoice's detail, as the caller may see it."""
    return selectors.invoice_detail(user=request.user, pk=invoice.pk)


def invoice_of(request, pk) -> Invoice:
    return selectors.invoice_get(user=request.user, pk=pk)
