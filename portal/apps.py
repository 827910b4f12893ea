from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal (composition root)"

    def ready(self) -> None:
        # Every app's admin is registered by now (django.contrib.admin autodiscovers first):
        # scope each ModelAdmin to the staff user's providers (art. 11.1, 21.4).
        from django.contrib import admin

        from accounts.admin_scoping import scope_admin_site

        scope_admin_site(admin.site)

        # Labels declared without a translation get one (issue 11 §1; portal/labels.py).
        from .labels import translate_model_labels

        translate_model_labels()

        # Webhook events from the apps' notices and rows (portal/webhook_events.py).
        from . import termination, webhook_events

        webhook_events.connect()
        # billing's part of a termination (art. 15.6, 29.6): accounts signals, portal wires
        termination.connect()
        # Costs the client bears, recorded by accounts and data processing, billed by billing
        # (art. 7.3, 21.5.2, 21.6, 21.7.2).
        from .recharges import connect

        connect()
