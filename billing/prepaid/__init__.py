"""The prepaid domain of billing: the wallet, its credit lots and ledger (art. 29), usage from
the messaging platform and the message limits (art. 26).

services/ (one module per noun) writes, selectors.py reads, forms.py and views.py are the
pages, api/ the API. billing.prepaid never imports billing.invoicing (invoicing may use
prepaid: it records message payments through `services.limits`).
"""
