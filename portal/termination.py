"""What billing does when an agreement is terminated (art. 15.6, 29.6), wired here in the
composition root because accounts imports no other app (DESIGN.md, Layout)."""

from __future__ import annotations

from typing import Any

from accounts.models import Agreement
from accounts.services.agreements import FOR_CAUSE
from accounts.signals import agreement_termination_given


def on_termination_given(
    sender: Any,
    *,
    agreement: Agreement,
    ground: str,
    ends_on,
    immediate: bool,
    acting_user,
    request_restitution: bool = False,
    **kwargs: Any,
) -> None:
    """Art. 15.6: after a termination under 15.4 or 15.5 the invoiced amounts become payable at
    once; art. 29.6: a prepaid client's written request for restitution goes with its
    termination when it asks for it."""
    from billing.invoicing.services.invoices import invoices_payable_on_termination
    from billing.models import RestitutionRequest
    from billing.prepaid.services.restitution import restitution_request

    if ground in FOR_CAUSE:
        invoices_payable_on_termination(
            client=agreement.client,
            terminated_on=ends_on,
            article="15.4" if ground == Agreement.Ground.DEFAULT else "15.5",
            acting_user=acting_user,
        )
    if (
        ground == Agreement.Ground.PREPAID
        and request_restitution
        and not RestitutionRequest.objects.filter(
            client=agreement.client, status=RestitutionRequest.Status.PENDING
        ).exists()
    ):
        restitution_request(
            client=agreement.client,
            acting_user=acting_user,
            reason=agreement.termination_reason or agreement.notice_reason,
        )


def connect() -> None:
    agreement_termination_given.connect(
        on_termination_given, sender=Agreement, dispatch_uid="portal-termination-billing"
    )
