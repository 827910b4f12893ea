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

        # billing's part of a termination (art. 15.6, 29.6): accounts signals, portal wires
        from .termination import connect

        connect()
