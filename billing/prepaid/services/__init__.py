"""Every state change of the prepaid side, one module per noun; callers import the module
(`from billing.prepaid.services import wallets`)."""
