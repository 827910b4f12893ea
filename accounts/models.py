"""Providers and their calendars, clients (companies), users and roles, agreements and terms."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


# --- Providers -----------------------------------------------------------------------------
class Provider(models.Model):
    """A contracting entity and every number its terms fix (DESIGN.md, provider profile).

    Where the two terms differ, the difference is a field here, never a branch on the code.
    """

    class Calendar(models.TextChoices):
        CHINA = "CN", "China (with make-up working weekends)"
        NETHERLANDS = "NL", "Netherlands"

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=300)
    country = models.CharField(max_length=2)
    # art. 4.1 / CX 3
    currency = models.CharField(max_length=3)
    # art. 4.1, 4.9
    default_vat_rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="percent")
    vat_reverse_charge_eu_b2b = models.BooleanField(default=False)
    # art. 1, Working Day
    timezone = models.CharField(max_length=64)
    working_hours_start = models.TimeField()
    working_hours_end = models.TimeField()
    holiday_calendar = models.CharField(max_length=2, choices=Calendar.choices)
    # art. 4.2: the billing period follows CE(S)T
    billing_timezone = models.CharField(max_length=64, default="Europe/Amsterdam")
    # art. 4.5
    payment_term_days = models.PositiveSmallIntegerField(default=14)
    # art. 10.2: the disputed part may be withheld only above this share of the total excl. VAT
    dispute_withhold_threshold_pct = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("5")
    )
    # CX 10: a dispute is admissible only above both of these (null: any amount)
    dispute_min_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    dispute_min_amount_currency = models.CharField(max_length=3, blank=True, default="")
    dispute_min_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    # art. 10.2
    dispute_escalation_working_days = models.PositiveSmallIntegerField(default=20)
    # art. 7.1: an invoice this many days overdue suspends the account
    overdue_suspension_grace_days = models.PositiveSmallIntegerField(default=14)
    # art. 4.7
    deposit_refund_months = models.PositiveSmallIntegerField(default=2)
    # art. 4.8
    fapiao_enabled = models.BooleanField(default=False)
    fapiao_due_days = models.PositiveSmallIntegerField(default=7)
    # art. 26.1
    message_limit_default = models.PositiveIntegerField(default=50_000)
    limit_notice_pct = models.PositiveSmallIntegerField(
        default=75, validators=[MaxValueValidator(100)]
    )
    # art. 29.3
    credit_usable_after_days = models.PositiveSmallIntegerField(default=1)
    credit_expiry_months = models.PositiveSmallIntegerField(default=12)
    # art. 29.7
    inactive_deletion_months = models.PositiveSmallIntegerField(default=3)
    inactive_warning_days = models.PositiveSmallIntegerField(default=14)
    # art. 5.6
    registration_data_working_days = models.PositiveSmallIntegerField(default=3)
    # art. 13.6
    loss_report_working_days = models.PositiveSmallIntegerField(default=10)
    # art. 21.7.2
    audit_interval_months = models.PositiveSmallIntegerField(default=12)
    audit_notice_working_days = models.PositiveSmallIntegerField(default=10)
    # art. 21.9, GDPR 28(2)
    subprocessor_notice_days = models.PositiveSmallIntegerField(default=30)
    # art. 21.11
    breach_notice_hours = models.PositiveSmallIntegerField(default=48)
    # art. 18.3
    terms_objection_months = models.PositiveSmallIntegerField(default=1)
    terms_cancel_notice_months = models.PositiveSmallIntegerField(default=1)
    # art. 13.4
    liability_cap_eur = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("50000")
    )
    # art. 15.1-15.2, 15.4
    initial_term_months = models.PositiveSmallIntegerField(default=12)
    renewal_term_months = models.PositiveSmallIntegerField(default=12)
    notice_period_months = models.PositiveSmallIntegerField(default=3)
    cure_period_working_days = models.PositiveSmallIntegerField(default=10)
    # art. 17
    governing_law = models.CharField(max_length=200)
    competent_court = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class WorkdayOverride(models.Model):
    """A staff correction to the holiday calendar; it wins over the `holidays` package (art. 1)."""

    class Kind(models.TextChoices):
        DAY_OFF = "day_off", "Extra day off"
        WORKING_DAY = "working_day", "Extra working day"

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="workday_overrides"
    )
    day = models.DateField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    note = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["provider", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "day"],
                name="one_override_per_provider_day",
                violation_error_message="This day already has an override for this provider.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.code} {self.day} {self.get_kind_display()}"


# --- Clients -------------------------------------------------------------------------------
class Client(models.Model):
    """A company contracting with one provider (art. 5.5 lists the details it must give)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        DELETED = "deleted", "Deleted"

    class BillingMode(models.TextChoices):
        PREPAID = "prepaid", "Prepaid"
        POSTPAID = "postpaid", "Postpaid"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="clients")
    legal_name = models.CharField("full legal name", max_length=300)
    address = models.TextField()
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    registration_number = models.CharField(max_length=64)
    registration_number_normalised = models.CharField(max_length=64, editable=False)
    vat_number = models.CharField("VAT number", max_length=64, blank=True)
    billing_email = models.EmailField()
    billing_mode = models.CharField(
        max_length=16, choices=BillingMode.choices, default=BillingMode.POSTPAID
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejection_reason = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["legal_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "registration_number_normalised"],
                condition=~Q(status="rejected"),
                name="one_registration_per_legal_entity",
                violation_error_message="This company is already registered with this provider (art. 29.7).",
            )
        ]
        indexes = [models.Index(fields=["provider", "status"])]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Director(models.Model):
    """A director authorised to sign the agreement (art. 5.5)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="directors")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.title})"


class ChangeRequest(models.Model):
    """A client's written change of its registration details (art. 5.5), applied on acceptance."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="change_requests")
    # {"field": {"old": ..., "new": ...}}; directors as a list of {"name", "title"}
    changes = models.JSONField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class DataRequest(models.Model):
    """An operator's or authority's request for a client's registration data (art. 5.6)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="data_requests")
    requested_by = models.CharField("requesting operator or authority", max_length=200)
    description = models.TextField()
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    logged_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"

    @staticmethod
    def overdue_q(now=None) -> Q:
        """Overdue: still open after its deadline (art. 5.6: the client provides the data within
        3 working days). Every read of overdue requests filters with this; `is_overdue` is the
        same rule for one row."""
        return Q(status=DataRequest.Status.OPEN, due_at__lt=now or timezone.now())

    @property
    def is_overdue(self) -> bool:
        """Still open after its deadline (art. 5.6), as `overdue_q`."""
        return self.status == self.Status.OPEN and timezone.now() > self.due_at


# --- Users ---------------------------------------------------------------------------------
class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.BILLING_STAFF)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person (or the messaging platform) signing in; a client role binds to one client (art. 5.2)."""

    class Role(models.TextChoices):
        CLIENT_ADMIN = "client_admin", "Client admin"
        CLIENT_VIEWER = "client_viewer", "Client viewer"
        BILLING_STAFF = "billing_staff", "Billing staff"
        COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
        PLATFORM = "platform", "Messaging platform (machine)"

    CLIENT_ROLES = (Role.CLIENT_ADMIN, Role.CLIENT_VIEWER)
    STAFF_ROLES = (Role.BILLING_STAFF, Role.COMPLIANCE_OFFICER)

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField("Django admin access", default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role__in=["client_admin", "client_viewer"], client__isnull=False))
                | (~Q(role__in=["client_admin", "client_viewer"]) & Q(client__isnull=True)),
                name="client_roles_belong_to_exactly_one_client",
                violation_error_message="Client admins and viewers belong to exactly one client; staff to none (art. 5.2).",
            )
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_client_user(self) -> bool:
        return self.role in self.CLIENT_ROLES

    @property
    def is_client_admin(self) -> bool:
        return self.role == self.Role.CLIENT_ADMIN

    @property
    def is_provider_staff(self) -> bool:
        return self.role in self.STAFF_ROLES or self.is_superuser

    @property
    def is_billing_staff(self) -> bool:
        return self.role == self.Role.BILLING_STAFF or self.is_superuser

    @property
    def is_compliance_officer(self) -> bool:
        return self.role == self.Role.COMPLIANCE_OFFICER or self.is_superuser


class Invitation(models.Model):
    """An invitation to join a client (by its admin) or to onboard a new company (by staff)."""

    email = models.EmailField()
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=32, choices=User.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class ApiToken(models.Model):
    """A hashed API token: people's scripts (`Token …`) and the messaging platform's key."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Staff tokens expire (issued after a second-factor check); client and platform keys do not.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Notification(models.Model):
    """Every email the portal sends, recorded once under a key, so a job that runs twice sends once."""

    key = models.CharField(max_length=200, unique=True)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    recipients = models.JSONField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The outbox's bookkeeping (accounts.kernel.notifications): a send claims the row until
    # `claimed_until`, counts its attempt, and records the last failure.
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # the resend job's scan: unsent rows, oldest first
            models.Index(
                fields=["created_at", "id"],
                name="notification_unsent_idx",
                condition=models.Q(sent_at=None),
            )
        ]

    def __str__(self) -> str:
        return self.key


# --- Agreements and terms ------------------------------------------------------------------
class Agreement(models.Model):
    """The agreement: its term, renewal and notice (art. 15), suspension (art. 7)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NOTICE_GIVEN = "notice_given", "Notice given"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"

    class Party(models.TextChoices):
        CLIENT = "client", "Client"
        PROVIDER = "provider", "Provider"

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="agreement")
    start_date = models.DateField()
    initial_term_months = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    renewal_term_months = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    notice_period_months = models.PositiveSmallIntegerField()
    current_term_end = models.DateField(help_text="last day of the current term")
    renewals = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    notice_given_at = models.DateTimeField(null=True, blank=True)
    notice_given_by = models.CharField(max_length=16, choices=Party.choices, blank=True)
    notice_reason = models.TextField(blank=True)
    end_date = models.DateField(
        null=True, blank=True, help_text="last day of the agreement once notice is given"
    )
    # art. 15.4: notice of default and its cure period
    default_notice_at = models.DateTimeField(null=True, blank=True)
    default_notice_text = models.TextField(blank=True)
    cure_deadline = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    termination_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Agreement with {self.client}"


class Suspension(models.Model):
    """A suspension of service (art. 7.1); the client stays liable while it lasts (art. 7.2)."""

    class Cause(models.TextChoices):
        BREACH = "breach", "Breach of the agreement or applicable law"
        NON_PAYMENT = "non_payment", "Non-payment"
        CHARGEBACK = "chargeback", "Chargeback (art. 29.4)"
        MESSAGE_LIMIT = "message_limit", "Message limit reached"
        OTHER = "other", "Other"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="suspensions")
    cause = models.CharField(max_length=16, choices=Cause.choices)
    reason = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "cause"],
                condition=Q(ended_at__isnull=True),
                name="one_open_suspension_per_cause",
                violation_error_message="The client is already suspended for this cause.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_cause_display()}: {self.client}"


class TermsVersion(models.Model):
    """A published version of a provider's terms and conditions (art. 18.3)."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="terms_versions")
    version = models.CharField(max_length=32)
    summary = models.TextField(help_text="what changed")
    document_url = models.URLField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["provider", "-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "version"],
                name="unique_terms_version_per_provider",
                violation_error_message="This provider already has a terms version with this number.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.code} terms {self.version}"


class TermsAcceptance(models.Model):
    """Where one client stands on one terms version: notified, objected, accepted (art. 18.3)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Notified, objection period running"
        ACCEPTED = "accepted", "Accepted"
        DEEMED_ACCEPTED = "deemed_accepted", "Deemed accepted (no objection within the period)"
        OBJECTED = "objected", "Objected"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="terms_acceptances")
    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    notified_at = models.DateTimeField(default=timezone.now)
    objection_deadline = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    objection_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-notified_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "terms"],
                name="one_acceptance_per_client_and_terms",
                violation_error_message="This client has already been notified of this terms version.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} / {self.terms}: {self.get_status_display()}"


class IdempotentRequest(models.Model):
    """The first answer to a money-moving API call, replayed for the same `Idempotency-Key` (DESIGN.md)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="one_answer_per_idempotency_key",
                violation_error_message="This Idempotency-Key was already used.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
