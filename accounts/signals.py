"""Signals accounts sends for the other apps to react to, wired in the composition root (portal/).

accounts imports no other app (DESIGN.md, Layout): where billing must act on what happens to an
agreement, accounts sends a signal here and portal/ connects the handler that calls billing.
"""

from django.dispatch import Signal

# Sent inside the transaction that gives a termination in writing (art. 15.3-15.5, 29.6), with
# `agreement`, `ground` (Agreement.Ground), `ends_on` (the agreement's last day, provider-local),
# `immediate` (it ended at once), `acting_user` and `request_restitution` (art. 29.6: the prepaid
# client asks for its remaining credit with its termination). A handler that raises an
# ApplicationError refuses the termination: nothing changes.
agreement_termination_given = Signal()
