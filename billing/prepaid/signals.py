"""Signals of prepaid, for the parts of billing that prepaid does not import (invoicing).

`chargeback_recorded`: sent inside `chargeback_record`'s transaction with `chargeback` and
`acting_user`; invoicing bills what the client owes (art. 29.4; billing/apps.py connects it).
"""

from django.dispatch import Signal

chargeback_recorded = Signal()
