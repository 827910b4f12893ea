from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # art. 29.4: prepaid does not import invoicing; invoicing bills a chargeback's debt.
        from billing.invoicing.services.recharges import chargeback_recorded_receiver
        from billing.prepaid.signals import chargeback_recorded

        chargeback_recorded.connect(
            chargeback_recorded_receiver, dispatch_uid="billing.chargeback_debt"
        )
