"""Page forms: they check the shape of the input; the services check the rules."""

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .kernel.errors import ApplicationError, ValidationFailed
from .models import (
    Agreement,
    ChangeRequest,
    Client,
    DataRequest,
    Provider,
    Suspension,
    User,
    WebhookEvent,
)
from .selectors import clients_visible_to, provider_scoped, providers_visible_to


# --- Choices narrowed to the user (art. 11.1, 21.4) ------------------------------------------
class ClientNumberInput(forms.TextInput):
    """A client named by its number: a form never lists every client (a provider has 100,000).
    Several numbers may be given, separated by commas, spaces or new lines."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "numeric", "autocomplete": "off", **(attrs or {})})

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [part for value in values if value for part in str(value).replace(",", " ").split()]

    def format_value(self, value):
        if isinstance(value, list | tuple):
            return " ".join(str(v) for v in value)
        return super().format_value(value)


class ClientField(forms.ModelChoiceField):
    """One client, among the clients the user may act for, found by what staff have at hand:
    its number, its exact legal name or its registration number (a search, never a list of
    every client)."""

    widget = forms.TextInput(attrs={"autocomplete": "off"})
    default_error_messages = {
        "invalid_choice": _("No client with this number or name among your clients."),
        "ambiguous": _("Several of your clients match “%(value)s”: give the client number."),
    }

    def __init__(self, queryset=None, **kwargs):
        kwargs.setdefault(
            "help_text",
            _("The client number (as on the client list), legal name or registration number."),
        )
        super().__init__(queryset if queryset is not None else Client.objects.all(), **kwargs)

    def to_python(self, value):
        text = str(value or "").strip()
        if "\x00" in text:  # PostgreSQL cannot compare it; no client is named so
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        if not text:
            return super().to_python(text)
        assert self.queryset is not None
        # a number is the client number; else (or when no client has it) a registration
        # number, which may be all digits too, or a legal name
        if text.isdigit() and len(text) <= 18 and self.queryset.filter(pk=int(text)).exists():
            return super().to_python(text)
        matches = list(
            self.queryset.filter(
                Q(legal_name__iexact=text) | Q(registration_number__iexact=text)
            ).values_list("pk", flat=True)[:2]
        )
        if len(matches) > 1:
            raise forms.ValidationError(
                self.error_messages["ambiguous"], code="ambiguous", params={"value": text}
            )
        if not matches:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(matches[0])


class ClientsField(forms.ModelMultipleChoiceField):
    """Several clients by their numbers, among the clients the user may act for."""

    widget = ClientNumberInput
    default_error_messages = {
        "invalid_choice": _("No client with number %(value)s among your clients."),
        "invalid_pk_value": _("“%(pk)s” is not a client number."),
    }

    def __init__(self, queryset=None, **kwargs):
        kwargs.setdefault("help_text", _("Client numbers, separated by commas or spaces."))
        super().__init__(queryset if queryset is not None else Client.objects.all(), **kwargs)


def scope_choices(form: forms.BaseForm, user: User) -> None:
    """Narrow every model choice of `form` to what `user` may see: clients to their clients,
    providers to those they serve, provider-owned rows to those providers. Another provider's
    id is refused as a choice that does not exist."""
    for field in form.fields.values():
        if not isinstance(field, forms.ModelChoiceField):
            continue
        queryset = field.queryset
        if queryset is None:
            continue
        model = queryset.model
        if model is Client:
            field.queryset = queryset.filter(pk__in=clients_visible_to(user).values("pk"))
        elif model is Provider:
            field.queryset = queryset.filter(pk__in=providers_visible_to(user).values("pk"))
        elif any(f.name == "provider" for f in model._meta.get_fields()):
            field.queryset = provider_scoped(queryset, user=user)


class UserScopedForm(forms.Form):
    """A staff form whose choices are narrowed to the acting user (see scope_choices)."""

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        scope_choices(self, user)


class EmailAuthenticationForm(forms.Form):
    """Sign-in by email and password, for Django's LoginView.

    The field is named `email`, the user model's USERNAME_FIELD, which is also the credential
    django-axes reads by default; so a lockout counts failures per email address and IP.
    """

    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("Keep my setting")), *settings.LANGUAGES],
    )

    error_messages = {
        "invalid_login": _("Enter a correct email and password. The password is case-sensitive."),
        "inactive": _("This account is inactive."),
    }

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        super().__init__(*args, **kwargs)

    def clean(self):
        email = (self.cleaned_data.get("email") or "").strip().lower()
        password = self.cleaned_data.get("password")
        if email and password:
            self.user_cache = authenticate(self.request, email=email, password=password)
            if self.user_cache is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_login"], code="invalid_login"
                )
            if not self.user_cache.is_active:
                raise forms.ValidationError(self.error_messages["inactive"], code="inactive")
        return self.cleaned_data

    def get_user(self):
        return self.user_cache


class TOTPCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code"),
        max_length=8,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise forms.ValidationError(_("The code has digits only."))
        return code


# --- Company details -------------------------------------------------------------------------
class CompanyFieldsMixin(forms.Form):
    legal_name = forms.CharField(label=_("Full legal name"), max_length=300)
    address = forms.CharField(
        label=_("Registered address"), widget=forms.Textarea(attrs={"rows": 3})
    )
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        help_text=_("Two-letter ISO code, e.g. CN or NL."),
        widget=forms.TextInput(attrs={"size": 3, "style": "text-transform:uppercase"}),
    )
    registration_number = forms.CharField(
        label=_("Registration number"),
        max_length=64,
        help_text=_("China: Unified Social Credit Code; Netherlands: KvK number (8 digits)."),
    )
    vat_number = forms.CharField(
        label=_("VAT number"), max_length=64, required=False, help_text=_("If applicable.")
    )
    billing_email = forms.EmailField(label=_("Billing email"))


class DirectorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)


DirectorFormSet = forms.formset_factory(DirectorForm, extra=3, max_num=10)


def directors_from(formset) -> list[dict]:
    """The filled-in director rows; blank rows are dropped, half-filled ones kept for the service."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        name, title = (data.get("name") or "").strip(), (data.get("title") or "").strip()
        if name or title:
            rows.append({"name": name, "title": title})
    return rows


class SignUpForm(CompanyFieldsMixin):
    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    email = forms.EmailField(label=_("Your email"), help_text=_("You sign in with this address."))
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    billing_mode = forms.ChoiceField(
        label=_("Billing mode"),
        choices=Client.BillingMode.choices,
        initial=Client.BillingMode.POSTPAID,
        widget=forms.RadioSelect,
    )
    provider = forms.ModelChoiceField(
        queryset=Provider.objects.all(),
        empty_label=None,
        label=_("Contracting provider"),
        widget=forms.RadioSelect,
    )

    field_order = [
        "full_name",
        "email",
        "password1",
        "password2",
        "provider",
        "legal_name",
        "address",
        "country",
        "registration_number",
        "vat_number",
        "billing_email",
        "billing_mode",
    ]

    def __init__(self, *args, invitation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if invitation is not None:
            # An onboarding invitation fixes the provider and the email address.
            self.fields["provider"].queryset = Provider.objects.filter(pk=invitation.provider_id)
            self.fields["provider"].initial = invitation.provider_id
            self.fields["provider"].disabled = True
            self.fields["email"].initial = invitation.email
            self.fields["email"].disabled = True

    def clean(self):
        data = super().clean()
        if (
            data.get("password1")
            and data.get("password2")
            and data["password1"] != data["password2"]
        ):
            self.add_error("password2", _("The two passwords differ."))
        return data


class ChangeRequestForm(CompanyFieldsMixin):
    """The registration details as the client admin wants them (art. 5.5)."""


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("password1")
            and data.get("password2")
            and data["password1"] != data["password2"]
        ):
            self.add_error("password2", _("The two passwords differ."))
        return data


# --- Users -----------------------------------------------------------------------------------
CLIENT_ROLE_CHOICES = [(r.value, r.label) for r in User.CLIENT_ROLES]


class InviteUserForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=CLIENT_ROLE_CHOICES, initial=User.Role.CLIENT_VIEWER
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=CLIENT_ROLE_CHOICES)


# --- Requests, decisions ---------------------------------------------------------------------
class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploaded files in one input (Django's documented pattern); the services check
    each one's type and size (accounts.kernel.uploads)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class DataRequestAnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 4}))


class ProviderRequestAnswerForm(DataRequestAnswerForm):
    """The client's answer to the provider's request, with the documents asked (art. 5.4, 5.7)."""

    documents = MultipleFileField(
        label=_("Documents"),
        required=False,
        help_text=_("PDF, PNG or JPEG; several may be chosen at once."),
    )


class ProviderRequestForm(forms.Form):
    """The provider's written request to the client: consent records (art. 5.4, 20.1.2) or a
    compliance audit (art. 5.7), with the deadline it sets in working days."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (k.value, k.label)
            for k in (DataRequest.Kind.CONSENT_RECORDS, DataRequest.Kind.COMPLIANCE_AUDIT)
        ],
    )
    description = forms.CharField(
        label=_("What the client is asked for"), widget=forms.Textarea(attrs={"rows": 3})
    )
    scope = forms.CharField(
        label=_("Scope"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for a compliance audit (art. 5.7)."),
    )
    documents_requested = forms.CharField(
        label=_("Documents requested"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for a compliance audit (art. 5.7)."),
    )
    working_days = forms.IntegerField(
        label=_("Working days to answer"),
        min_value=1,
        max_value=60,
        initial=10,
        help_text=_("In the provider's working-day calendar (art. 20.1.2)."),
    )


class FindingsForm(forms.Form):
    findings = forms.CharField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 3}))


class ServiceChangeRequestForm(forms.Form):
    """A change to the service, requested in writing (art. 5.3)."""

    service = forms.ChoiceField(label=_("Service"), choices=ChangeRequest.Service.choices)
    description = forms.CharField(
        label=_("Change requested"), widget=forms.Textarea(attrs={"rows": 3})
    )
    wanted_from = forms.DateField(
        label=_("Wanted from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class DataRequestLogForm(forms.Form):
    requested_by = forms.CharField(label=_("Requesting operator or authority"), max_length=200)
    description = forms.CharField(
        label=_("Data requested"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ResumeForm(ReasonForm):
    activation_cost = forms.DecimalField(
        label=_("Activation costs"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("charged to the client on resumption, excluding VAT (art. 7.3); empty: none"),
    )


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SuspendForm(forms.Form):
    cause = forms.ChoiceField(label=_("Cause"), choices=Suspension.Cause.choices)
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The client sees this (art. 7.1)."),
    )


class AgreementTermsForm(forms.Form):
    """The agreed currency and payment term (art. 4.1, 4.5; CX 3); the service checks them."""

    currency = forms.CharField(
        label=_("Agreed currency"),
        max_length=3,
        help_text=_("ISO 4217, e.g. EUR, USD or CNY (art. 4.1)"),
    )
    payment_term_days = forms.IntegerField(
        label=_("Payment term (days)"),
        required=False,
        help_text=_("empty: the profile's term (art. 4.5)"),
    )


class DefaultNoticeForm(forms.Form):
    text = forms.CharField(
        label=_("Failure, in detail"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The client has 10 working days to remedy it (art. 15.4)."),
    )


class TerminateForm(forms.Form):
    """Termination for cause (art. 15.4, 15.5), by either party, with its evidence."""

    ground = forms.ChoiceField(
        label=_("Ground"),
        choices=[
            (g.value, g.label)
            for g in (
                Agreement.Ground.DEFAULT,
                Agreement.Ground.INSOLVENCY,
                Agreement.Ground.FORCE_MAJEURE,
                Agreement.Ground.AUTHORITIES,
            )
        ],
    )
    reason = forms.CharField(
        label=_("Cause and evidence"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened, with the evidence of the ground (art. 15.4, 15.5)."),
    )
    evidence = forms.FileField(
        label=_("Evidence document"),
        required=False,
        help_text=_("A PDF, PNG or JPEG: a court decision, an authority's order, a letter."),
    )
    force_majeure = forms.IntegerField(
        label=_("Force-majeure situation number"),
        required=False,
        min_value=1,
        help_text=_("For art. 15.5(b): the situation that has lasted longer than 20 working days."),
    )


class EconomicTerminationForm(forms.Form):
    """The provider's termination on economic grounds (art. 15.3)."""

    substantiation = forms.CharField(
        label=_("Substantiation"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why further execution cannot reasonably be expected; the client is sent it."),
    )
    end_date = forms.DateField(
        label=_("Last day of the agreement"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the agreement ends today."),
    )


class PrepaidTerminationForm(forms.Form):
    """A prepaid client's termination in writing (art. 29.6)."""

    end_date = forms.DateField(
        label=_("Last day of the agreement"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: the agreement ends at once."),
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    request_restitution = forms.BooleanField(
        label=_("Request restitution of my remaining unexpired credit (art. 29.6)"),
        required=False,
        initial=True,
    )


class DecisionNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    agreed_from = forms.DateField(
        label=_("Agreed from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("A change to the service (art. 5.3): by default the date wanted."),
    )


class LanguageForm(forms.Form):
    """The profile page's language choice, among the languages offered to the user."""

    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, offered: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        names = dict(settings.LANGUAGES)
        field = self.fields["language"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("My provider's default"))] + [
            (code, names[code]) for code in offered
        ]


class TermsPublishForm(UserScopedForm):
    provider = forms.ModelChoiceField(
        label=_("Provider"), queryset=Provider.objects.all(), empty_label=None
    )
    version = forms.CharField(label=_("Version"), max_length=32)
    summary = forms.CharField(label=_("What changed"), widget=forms.Textarea(attrs={"rows": 4}))
    document_url = forms.URLField(label=_("Document URL"), required=False, assume_scheme="https")
    text_en = forms.CharField(
        label=_("Terms text (English)"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    text_zh_hans = forms.CharField(
        label=_("Terms text (简体中文)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Required for CM Telecom (Shenzhen): its terms are made in Chinese and English (art. 18.6)."
        ),
    )

    def service_arguments(self) -> dict:
        """The cleaned data as terms_publish takes it: the texts by language code."""
        data = dict(self.cleaned_data)
        data["texts"] = {"en": data.pop("text_en", ""), "zh-hans": data.pop("text_zh_hans", "")}
        return data


class OnboardingInviteForm(UserScopedForm):
    """Staff invite a person to sign up and register its company with a provider."""

    provider = forms.ModelChoiceField(
        label=_("Provider"), queryset=Provider.objects.all(), empty_label=None
    )
    email = forms.EmailField(
        label=_("Email"),
    )


class ClientFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Client.Status.choices]
    )
    provider = forms.ChoiceField(label=_("Provider"), required=False, choices=[])

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Any provider"))] + [
            (p.code, p.name) for p in providers_visible_to(user).order_by("code")
        ]


def call_service(request, call, success: str, form=None) -> bool:
    """Run a service; its refusal goes on the form's field (or into the messages), a NotAllowed
    answers 403. True on success."""
    from django.contrib import messages

    from .kernel.pages import not_allowed_is_403

    try:
        with not_allowed_is_403():
            call()
    except ApplicationError as exc:
        if form is not None:
            add_service_error(form, exc)
        else:
            messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


# --- Service errors onto forms ---------------------------------------------------------------
def add_service_error(form, exc: ApplicationError, *, field_map=None, formset=None) -> None:
    """Show a service's refusal on the field it names (or above the form)."""
    field_map = field_map or {}
    errors = (
        exc.errors
        if isinstance(exc, ValidationFailed)
        else {exc.field or "non_field_errors": [exc.message]}
    )
    for field, messages in errors.items():
        name = field_map.get(field, field)
        if formset is not None and name == "directors":
            existing = list(formset.non_form_errors())
            formset._non_form_errors = formset.error_class(
                existing + list(messages), error_class="nonform"
            )
            continue
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)


# --- Force majeure (art. 14.2, 15.5(b)) -----------------------------------------------------
_LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def local_datetime_field(**kwargs) -> forms.DateTimeField:
    """A wall-clock moment; `as_provider_time` reads it in the provider's zone."""
    return forms.DateTimeField(
        widget=_LOCAL_DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], **kwargs
    )


def as_provider_time(value, tz_name: str):
    """The field read a wall time in the server's zone (UTC); it is the provider's local time."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None).replace(tzinfo=ZoneInfo(tz_name))


class ForceMajeureForm(UserScopedForm):
    provider = forms.ModelChoiceField(queryset=Provider.objects.all(), empty_label=None)
    started_at = local_datetime_field(
        label=_("Arose at"),
        help_text=_(
            "The provider's local time; the 10-working-day notice runs from this day (art. 14.2)."
        ),
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    services_affected = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    clients = ClientsField(
        queryset=Client.objects.exclude(status=Client.Status.DELETED), label=_("Affected clients")
    )

    def clean(self):
        cleaned = super().clean()
        provider = cleaned.get("provider")
        if provider is not None:
            cleaned["started_at"] = as_provider_time(cleaned.get("started_at"), provider.timezone)
        return cleaned


class ForceMajeureNotifyForm(forms.Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent to the client's admins and recorded (art. 14.2)."),
    )


class ForceMajeureEndForm(forms.Form):
    ended_at = local_datetime_field(
        required=False, label=_("Ended at"), help_text=_("The provider's local time; now if empty.")
    )


class WebhookEndpointForm(forms.Form):
    """A webhook endpoint of the client's: its https address and the events posted to it."""

    url = forms.CharField(label=_("Endpoint URL"), max_length=500)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
