from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Agreement,
    ApiToken,
    ChangeRequest,
    Client,
    DataRequest,
    Director,
    Notification,
    Provider,
    Suspension,
    TermsAcceptance,
    TermsVersion,
    User,
    WorkdayOverride,
)
from .validators import vat_number_error


class WorkdayOverrideInline(admin.TabularInline):
    model = WorkdayOverride
    extra = 1


class ProviderAdminForm(forms.ModelForm):
    """The profile's language lists as check boxes of the portal's languages."""

    languages = forms.MultipleChoiceField(
        choices=settings.LANGUAGES, widget=forms.CheckboxSelectMultiple
    )
    terms_languages = forms.MultipleChoiceField(
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="every terms version is published in each of these (art. 18.6 for cm-cn)",
    )

    class Meta:
        model = Provider
        exclude: list[str] = []

    def clean(self):
        cleaned = super().clean()
        default, offered = cleaned.get("default_language"), cleaned.get("languages") or []
        if default and offered and default not in offered:
            self.add_error("default_language", "The default language must be one of those offered.")
        # The seller's VAT number printed on the invoices and in the e-invoice (EN 16931
        # BT-31) is checked like a client's (python-stdnum).
        vat_error = vat_number_error(cleaned.get("country", ""), cleaned.get("vat_number", ""))
        if vat_error:
            self.add_error("vat_number", vat_error)
        return cleaned


@admin.register(Provider)
class ProviderAdmin(SimpleHistoryAdmin):
    form = ProviderAdminForm
    list_display = ("code", "name", "currency", "timezone", "holiday_calendar", "fapiao_enabled")
    inlines = [WorkdayOverrideInline]


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(SimpleHistoryAdmin):
    list_display = ("provider", "day", "kind", "note")
    list_filter = ("provider", "kind")


class DirectorInline(admin.TabularInline):
    model = Director
    extra = 0


@admin.register(Client)
class ClientAdmin(SimpleHistoryAdmin):
    list_display = (
        "legal_name",
        "provider",
        "country",
        "registration_number",
        "status",
        "billing_mode",
    )
    list_filter = ("provider", "status", "billing_mode", "country")
    search_fields = ("legal_name", "registration_number", "vat_number")
    readonly_fields = ("registration_number_normalised",)
    inlines = [DirectorInline]


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "client", "all_providers", "is_active")
    list_filter = ("role", "providers", "all_providers", "is_active")
    search_fields = ("email", "full_name")
    raw_id_fields = ("client",)  # never a list of every client
    filter_horizontal = ("providers", "groups", "user_permissions")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "role", "client", "language")}),
        ("Providers served (staff; art. 11.1, 21.4)", {"fields": ("providers", "all_providers")}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "client", "providers", "password1", "password2"),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        """Only a superuser makes someone a group operator or a superuser: a provider's staff
        with admin access cannot widen anyone's reach, their own included."""
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["all_providers", "is_superuser"]
        return readonly


for model in (Agreement, ChangeRequest, DataRequest, Suspension, TermsVersion, TermsAcceptance):
    admin.site.register(model, SimpleHistoryAdmin)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("key", "subject", "created_at", "sent_at")
    search_fields = ("key", "subject")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash")
