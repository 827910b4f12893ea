"""What the invoicing API's views share: the optional Idempotency-Key header, the list
filters, the decimal-string amount field and the invoice the caller may see. `?client=` and the
required key are the accounts API base's and the kernel's (one helper each)."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter

from accounts.api.views.base import client_from_query
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.fields import AmountField
from billing.invoicing import selectors
from billing.models import Invoice

KEY_HEADER_OPTIONAL = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="same key, same body: one answer"
)
DEFAULT_PAGE_SIZE = 50


# Every amount of the invoicing API (accounts.kernel.fields).
DecimalString = AmountField


def optional_client(request):
    """Staff may list every client's rows (or one with `?client=`); a client user its own."""
    if request.user.is_provider_staff and not request.query_params.get("client"):
        return None
    return client_from_query(request)


def status_param(request, choices) -> str:
    value = request.query_params.get("status") or ""
    if value and value not in choices:
        raise ValidationFailed(
            {
                "status": [
                    gettext("status must be one of %(choices)s.") % {"choices": ", ".join(choices)}
                ]
            }
        )
    return value


def invoice_answer(request, invoice: Invoice):
    """The invoice's detail, as the caller may see it."""
    return selectors.invoice_detail(user=request.user, pk=invoice.pk)


def invoice_of(request, pk) -> Invoice:
    return selectors.invoice_get(user=request.user, pk=pk)
