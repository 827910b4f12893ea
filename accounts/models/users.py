"""Users and roles, invitations and API tokens (art. 5.2)."""

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .clients import Client
from .providers import Provider


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
        CLIENT_ADMIN = "client_admin", _("Client admin")
        CLIENT_VIEWER = "client_viewer", _("Client viewer")
        BILLING_STAFF = "billing_staff", _("Billing staff")
        COMPLIANCE_OFFICER = "compliance_officer", _("Compliance officer")
        PLATFORM = "platform", _("Messaging platform (machine)")

    CLIENT_ROLES = (Role.CLIENT_ADMIN, Role.CLIENT_VIEWER)
    STAFF_ROLES = (Role.BILLING_STAFF, Role.COMPLIANCE_OFFICER)

    email = models.EmailField(verbose_name=_("email"), unique=True)
    full_name = models.CharField(verbose_name=_("full name"), max_length=200, blank=True)
    role = models.CharField(verbose_name=_("role"), max_length=32, choices=Role.choices)
    # blank: the provider's default for its clients, the browser's choice for staff
    language = models.CharField(
        verbose_name=_("language"),
        max_length=16,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
    )
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    # Staff work for one or more providers, separate legal entities (art. 11.1, 21.4): they see
    # and act on those providers' clients only, and receive those providers' notices.
    providers = models.ManyToManyField(
        Provider,
        verbose_name=_("providers"),
        blank=True,
        related_name="staff",
        help_text=_("the providers whose clients this staff user serves"),
    )
    # A group-level operator sees every provider's clients; granted explicitly, never implied.
    all_providers = models.BooleanField(
        "group operator (every provider)",
        default=False,
        help_text=_("sees and acts on the clients of every provider"),
    )
    is_active = models.BooleanField(verbose_name=_("is active"), default=True)
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    date_joined = models.DateTimeField(verbose_name=_("date joined"), default=timezone.now)

    history = HistoricalRecords(
        excluded_fields=["password", "last_login"], m2m_fields=["providers"]
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        # The list's sort order, and per client (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["client", "-is_active", "email"], name="user_client_list_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role__in=["client_admin", "client_viewer"], client__isnull=False))
                | (~Q(role__in=["client_admin", "client_viewer"]) & Q(client__isnull=True)),
                name="client_roles_belong_to_exactly_one_client",
                violation_error_message=_(
                    "Client admins and viewers belong to exactly one client; staff to none (art. 5.2)."
                ),
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
    def sees_all_providers(self) -> bool:
        """The explicit group operator (or a superuser): staff scoping does not narrow them."""
        return self.all_providers or self.is_superuser

    @cached_property
    def staff_provider_ids(self) -> frozenset[int]:
        """The providers this staff user serves (empty for client users and unassigned staff)."""
        if not self.is_provider_staff or self.pk is None:
            return frozenset()
        return frozenset(self.providers.values_list("pk", flat=True))

    def serves(self, client: Client) -> bool:
        """This staff user acts for `client`: it belongs to a provider they serve (art. 11.1)."""
        return self.is_provider_staff and (
            self.sees_all_providers or client.provider_id in self.staff_provider_ids
        )

    @property
    def is_billing_staff(self) -> bool:
        return self.role == self.Role.BILLING_STAFF or self.is_superuser

    @property
    def is_compliance_officer(self) -> bool:
        return self.role == self.Role.COMPLIANCE_OFFICER or self.is_superuser


class Invitation(models.Model):
    """An invitation to join a client (by its admin) or to onboard a new company (by staff)."""

    email = models.EmailField(verbose_name=_("email"))
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    provider = models.ForeignKey(
        Provider, verbose_name=_("provider"), on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(verbose_name=_("role"), max_length=32, choices=User.Role.choices)
    token_hash = models.CharField(verbose_name=_("token hash"), max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    accepted_at = models.DateTimeField(verbose_name=_("accepted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        # The list's sort order, and per client (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(
                fields=["client", "-created_at", "-id"], name="invitation_client_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class ApiToken(models.Model):
    """A hashed API token: people's scripts (`Token …`) and the messaging platform's key."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(verbose_name=_("name"), max_length=100, blank=True)
    prefix = models.CharField(verbose_name=_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(verbose_name=_("key hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(verbose_name=_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(verbose_name=_("revoked at"), null=True, blank=True)
    # Staff tokens expire (issued after a second-factor check); client and platform keys do not.
    expires_at = models.DateTimeField(verbose_name=_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
