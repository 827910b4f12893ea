"""Signals the apps send where another app must react, so that none imports the other (DESIGN.md,
layout): portal/ (the composition root) connects the receivers.

`client_cost_incurred`: a cost the contract lets the provider charge to the client was recorded
(art. 7.3 activation, 21.5.2 DSR assistance, 21.6 compliance assistance, 21.7.2 audit time).
Sent inside the transaction that records it, so that billing's line and the source commit or
roll back together. Keyword arguments: `client`, `kind` (a `billing.Recharge.Kind` value),
`amount` (Decimal, excluding VAT), `currency`, `source_kind`, `source_id`, `description`,
`acting_user` (or None).
"""

from django.dispatch import Signal

client_cost_incurred = Signal()
