"""The composing layer's wiring of costs the client bears to billing (art. 7.3, 21.5.2, 21.6,
21.7.2): data processing and accounts send `accounts.kernel.signals.client_cost_incurred`
when they record such a cost, and billing recharges it (`record_recharge`). billing and
dataprocessing never import each other; only portal/ names both (DESIGN.md, layout)."""

from __future__ import annotations

from typing import Any


def client_cost_incurred_receiver(sender: object, **kwargs: Any) -> None:
    """Bill a recorded cost: on the client's next invoice (postpaid) or as an invoice of its own
    (prepaid), once per source (`billing.invoicing.services.recharges.record_recharge`)."""
    from billing.invoicing.services.recharges import SourceRef, record_recharge

    record_recharge(
        kwargs["client"],
        kwargs["kind"],
        kwargs["amount"],
        SourceRef(kwargs["source_kind"], kwargs["source_id"]),
        description=kwargs.get("description", ""),
        currency=kwargs.get("currency") or None,
        acting_user=kwargs.get("acting_user"),
    )


def connect() -> None:
    from accounts.kernel.signals import client_cost_incurred

    client_cost_incurred.connect(
        client_cost_incurred_receiver, dispatch_uid="portal.client_cost_incurred"
    )
