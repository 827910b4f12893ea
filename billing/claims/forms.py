"""Forms of the claims pages: they check the shape; `billing.claims.services` check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import ClientField, UserScopedForm, as_provider_time, local_datetime_field
from accounts.models import Client
from billing.models import LossClaim

_TEXT3 = forms.Textarea(attrs={"rows": 3})


class _ClaimFields(forms.Form):
    description = forms.CharField(widget=_TEXT3, help_text=_("The loss, in writing (art. 13.6)."))
    arose_at = local_datetime_field(
        label=_("The loss arose at"),
        help_text=_("Local time; report within 10 working days after it arose (art. 13.6)."),
    )
    amount_claimed = forms.DecimalField(
        required=False, min_value=0, decimal_places=2, max_digits=14, label=_("Amount claimed")
    )
    exclusions = forms.MultipleChoiceField(
        choices=LossClaim.Exclusion.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Exclusions that apply (art. 13.3)"),
    )
    exceptions = forms.MultipleChoiceField(
        choices=LossClaim.LimitException.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Exceptions that apply (art. 13.5)"),
    )


class ClientClaimForm(_ClaimFields):
    """A client admin's report of a loss against the provider (art. 13.6)."""

    def __init__(self, *args, tz_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz_name = tz_name

    def clean(self):
        cleaned = super().clean()
        cleaned["arose_at"] = as_provider_time(cleaned.get("arose_at"), self.tz_name)
        return cleaned


class StaffClaimForm(UserScopedForm, _ClaimFields):
    """Staff record a claim: the provider's against a client (art. 13.2), or a client's report
    received by letter, dated when it was received."""

    client = ClientField(queryset=Client.objects.exclude(status=Client.Status.DELETED))
    against = forms.ChoiceField(choices=LossClaim.Against.choices)
    reported_at = local_datetime_field(
        required=False, label=_("Reported in writing at"), help_text=_("Local time; now if empty.")
    )

    field_order = ["client", "against"]

    def clean(self):
        cleaned = super().clean()
        client = cleaned.get("client")
        if client is not None:
            for name in ("arose_at", "reported_at"):
                cleaned[name] = as_provider_time(cleaned.get(name), client.provider.timezone)
        return cleaned


class AssessForm(forms.Form):
    exclusions = _ClaimFields.base_fields["exclusions"]
    exceptions = _ClaimFields.base_fields["exceptions"]


class RemedyForm(forms.Form):
    note = forms.CharField(widget=_TEXT3, label=_("How the loss was remedied"))


class PayoutForm(forms.Form):
    amount = forms.DecimalField(min_value=0, decimal_places=2, max_digits=14)
    currency = forms.CharField(max_length=3)
    paid_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput)
