"""Portal settings. The environment is read here and in `portal.env`, nowhere else.

With no variables set the portal runs on embedded defaults (SQLite, a file-system Celery
broker, console email) for a first look. `DATABASE_URL` and `REDIS_URL` switch it to
PostgreSQL and Redis, which is what the tests and production use.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_str, env_url, portal_addr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

_DEV_SECRET = "dev-insecure-key-only-for-the-embedded-defaults-never-in-production"
SECRET_KEY = env_str("SECRET_KEY") or _DEV_SECRET
# Without a real secret key we are in first-look mode, where DEBUG defaults to on.
DEBUG = env_bool("DEBUG", default=SECRET_KEY == _DEV_SECRET)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the portal's host(s) when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "csp",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "billing",
    "dataprocessing",
    "portal",
]

MIDDLEWARE = [
    # First and (nearly) last: django-prometheus times the whole request and counts responses.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # A request id for every log line of the request, echoed as X-Request-ID (portal/logs.py).
    "portal.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
    "accounts.middleware.DomainNotFoundMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", {"postgres", "postgresql", "pgsql", "sqlite"})
if DATABASE_URL:
    # Persistent connections, checked before each request reuses one: after PostgreSQL restarts
    # or terminates backends, a stale connection is replaced instead of answering 500.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", {"redis", "rediss"})
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    # kombu's file-system transport: a broker that needs no server, for the first look.
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    _FILESYSTEM_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "data_folder_processed": str(_broker_dir / "processed"),
        # The fan-out exchanges (remote control, pidbox) live here too, not in the working folder.
        "control_folder": str(_broker_dir / "control"),
    }
    CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
# Jobs and notice sends are idempotent, so a task lost with its worker is safely run again:
# acknowledge after running, and hand a task back to the broker at once when the worker process
# running it dies (SIGKILL, out of memory) instead of dropping it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A batch job that runs longer than this is stuck: it is stopped, and the next beat tick picks
# its work up where the committed batches left it.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 15 * 60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# Redis redelivers an unacknowledged task after the visibility timeout. When a whole worker is
# killed (no process left to hand the task back), this is how long its task waits: longer than
# the hard time limit, so a task still running is never delivered twice, and far shorter than
# Redis's default of one hour.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 5 * 60),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# A request that queues a task must not wait for a broker that is down: the outbox row is
# already committed and the resend job sends it later (accounts.kernel.notifications).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = _FILESYSTEM_TRANSPORT_OPTIONS
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)


# The beat schedule: every job by name, each a thin task over a service (portal/jobs.py).
def _job(name: str, schedule) -> dict:
    return {"task": "portal.run_job", "schedule": schedule, "args": (name,)}


CELERY_BEAT_SCHEDULE = {
    # the notice outbox: what is still unsent, every two minutes
    "notifications_resend": _job("notifications_resend", crontab(minute="*/2")),
    # webhook deliveries due for another attempt, every minute (the back-off starts at one)
    "webhooks_retry": _job("webhooks_retry", crontab(minute="*")),
    # accounts
    "agreements_roll": _job("agreements_roll", crontab(minute=5, hour=0)),
    "terms_deem_accepted": _job("terms_deem_accepted", crontab(minute=15)),
    "data_requests_flag_overdue": _job("data_requests_flag_overdue", crontab(minute="*/30")),
    # billing: prepaid and limits
    "credit_expire": _job("credit_expire", crontab(minute=2)),
    "limit_notices_send": _job("limit_notices_send", crontab(minute="*/5")),
    "client_alerts_check": _job("client_alerts_check", crontab(minute="*/5")),
    "credit_expiry_reminders_send": _job(
        "credit_expiry_reminders_send", crontab(minute=20, hour=1)
    ),
    "inactive_accounts_delete": _job("inactive_accounts_delete", crontab(minute=30, hour=2)),
    # billing: invoicing (the monthly run waits until the period has closed in Amsterdam)
    "invoice_usage": _job("invoice_usage", crontab(minute=0, hour=3, day_of_month="1-3")),
    "invoices_mark_overdue": _job("invoices_mark_overdue", crontab(minute=40)),
    # art. 4.6: the month's interest, after the month has closed everywhere (idempotent per month)
    "interest_charge_overdue": _job("interest_charge_overdue", crontab(minute=30, hour=4)),
    "suspend_for_non_payment": _job("suspend_for_non_payment", crontab(minute=45)),
    "deposit_refunds_flag": _job("deposit_refunds_flag", crontab(minute=50, hour=6)),
    "fapiao_overdue_flag": _job("fapiao_overdue_flag", crontab(minute=55)),
    "disputes_escalation_flag": _job("disputes_escalation_flag", crontab(minute=0, hour=7)),
    # the ECB publishes around 16:00 CET on its working days; the second run catches a late
    # feed (idempotent per day and currency); it decides the disputes pending check too
    "exchange_rates_import_ecb": _job(
        "exchange_rates_import_ecb", crontab(minute=30, hour="15,18", day_of_week="mon-fri")
    ),
    # CX 10: a dispute pending check whose rate was entered another way (admin) is decided
    "disputes_pending_decide": _job("disputes_pending_decide", crontab(minute=10)),
    "cpi_adjust": _job(
        "cpi_adjust", crontab(minute=0, hour=4, day_of_month="1-7", month_of_year=1)
    ),
    # art. 14.2: working-day deadlines; hourly is early enough to warn two working days ahead
    "force_majeure_deadlines_flag": _job("force_majeure_deadlines_flag", crontab(minute=5)),
    # data processing
    "sub_processor_changes_apply": _job("sub_processor_changes_apply", crontab(minute=25)),
    "dsr_overdue_flag": _job("dsr_overdue_flag", crontab(minute=35)),
    "dsr_callbacks_retry": _job("dsr_callbacks_retry", crontab(minute="*/10")),
    # 48-hour deadlines: checked often enough to escalate well before they pass
    "breach_deadlines_escalate": _job("breach_deadlines_escalate", crontab(minute="*/15")),
    "dsr_references_anonymise": _job("dsr_references_anonymise", crontab(minute=10, hour=3)),
    # composed across apps (portal/retention.py)
    "retention_anonymise": _job("retention_anonymise", crontab(minute=40, hour=3)),
}

# --- Auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lock a username from one address out after repeated failures, and an address that fails
# across many usernames (password spraying) after more (art. 5.2: credentials kept secure).
# django-axes has one limit for all parameter sets; accounts.axes_handler gives the IP-only set
# its own. Never the username alone: anyone could then lock any user out from anywhere.
AXES_HANDLER = "accounts.axes_handler.AxesHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
PORTAL_AXES_IP_FAILURE_LIMIT = env_int("PORTAL_AXES_IP_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["ip_address"]]
# Password-reset requests per address and per IP address in an hour (accounts/views/sign_in.py).
PORTAL_PASSWORD_RESETS_PER_ADDRESS_HOUR = env_int("PORTAL_PASSWORD_RESETS_PER_ADDRESS_HOUR", 5)
PORTAL_PASSWORD_RESETS_PER_IP_HOUR = env_int("PORTAL_PASSWORD_RESETS_PER_IP_HOUR", 20)
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# Staff sign in with a second factor (TOTP); set to false only for local experiments.
PORTAL_STAFF_OTP_REQUIRED = env_bool("PORTAL_STAFF_OTP_REQUIRED", True)
OTP_TOTP_ISSUER = "Agreement Portal"
# Staff API tokens are issued after a TOTP check and last this long (accounts/tokens.py).
PORTAL_STAFF_TOKEN_HOURS = env_int("PORTAL_STAFF_TOKEN_HOURS", 12)

# --- API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.TokenAuthentication",
        "accounts.api.authentication.OTPSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "accounts.kernel.pagination.KeysetPagination",
    # OPTIONS answers what the endpoint accepts and renders, without introspecting serializers
    # (several views have none at class level, which made OPTIONS a 500).
    "DEFAULT_METADATA_CLASS": "accounts.kernel.metadata.PlainMetadata",
    "DEFAULT_PARSER_CLASSES": [
        "accounts.kernel.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.kernel.api_errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Agreement Portal API",
    "DESCRIPTION": (
        "The contract between a messaging provider and its business clients.\n\n"
        "New here? Read the [integrator guide](/api/guide/): keys, batching usage, retries, "
        "idempotency and the error shape."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets from the installed sidecar package, not a CDN (works offline, CSP 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.api.schema.error_responses",
    ],
    # One schema name per model choice set; regenerate with `python -m portal.enum_names`.
    "ENUM_NAME_OVERRIDES": {
        "AgreementPartyEnum": "accounts.models.Agreement.Party",
        "AgreementStatusEnum": "accounts.models.Agreement.Status",
        "AssistanceRequestKindEnum": "dataprocessing.models.AssistanceRequest.Kind",
        "AssistanceRequestStatusEnum": "dataprocessing.models.AssistanceRequest.Status",
        "AuditRequestKindEnum": "dataprocessing.models.AuditRequest.Kind",
        "AuditRequestStatusEnum": "dataprocessing.models.AuditRequest.Status",
        "ChangeRequestKindEnum": "accounts.models.ChangeRequest.Kind",
        "ChangeRequestServiceEnum": "accounts.models.ChangeRequest.Service",
        "ChangeRequestStatusEnum": "accounts.models.ChangeRequest.Status",
        "ClientBillingModeEnum": "accounts.models.Client.BillingMode",
        "ClientStatusEnum": "accounts.models.Client.Status",
        "CreditLotStatusEnum": "billing.models.CreditLot.Status",
        "DataRequestKindEnum": "accounts.models.DataRequest.Kind",
        "DataRequestStatusEnum": "accounts.models.DataRequest.Status",
        "DataSubjectRequestInstructionEnum": "dataprocessing.models.DataSubjectRequest.Instruction",
        "DataSubjectRequestStatusEnum": "dataprocessing.models.DataSubjectRequest.Status",
        "DataSubjectRequestTypeEnum": "dataprocessing.models.DataSubjectRequest.Type",
        "DepositStatusEnum": "billing.models.Deposit.Status",
        "DisputeStatusEnum": "billing.models.Dispute.Status",
        "FapiaoRequestKindEnum": "billing.models.FapiaoRequest.Kind",
        "FapiaoRequestStatusEnum": "billing.models.FapiaoRequest.Status",
        "InvoiceKindEnum": "billing.models.Invoice.Kind",
        "InvoiceStatusEnum": "billing.models.Invoice.Status",
        "LedgerEntryKindEnum": "billing.models.LedgerEntry.Kind",
        "LossClaimAgainstEnum": "billing.models.LossClaim.Against",
        "LossClaimStatusEnum": "billing.models.LossClaim.Status",
        "LimitChangeSourceEnum": "billing.models.LimitChange.Source",
        "ProviderCalendarEnum": "accounts.models.Provider.Calendar",
        "RestitutionRequestStatusEnum": "billing.models.RestitutionRequest.Status",
        "RetentionPolicyCategoryEnum": "dataprocessing.models.RetentionPolicy.Category",
        "SetOffSourceEnum": "billing.models.SetOff.Source",
        "SubProcessorChangeKindEnum": "dataprocessing.models.SubProcessorChange.Kind",
        "SubProcessorChangeStatusEnum": "dataprocessing.models.SubProcessorChange.Status",
        "SubProcessorObjectionDecisionEnum": "dataprocessing.models.SubProcessorObjection.Decision",
        "SubProcessorKindEnum": "dataprocessing.models.SubProcessor.Kind",
        "SubProcessorObjectionStatusEnum": "dataprocessing.models.SubProcessorObjection.Status",
        "SubProcessorSafeguardEnum": "dataprocessing.models.SubProcessor.Safeguard",
        "SuspensionCauseEnum": "accounts.models.Suspension.Cause",
        "PremiumDisputeStatusEnum": "billing.models.PremiumDispute.Status",
        "PremiumLedgerEntryKindEnum": "billing.models.PremiumLedgerEntry.Kind",
        "PremiumStatementStatusEnum": "billing.models.PremiumStatement.Status",
        "PriceCauseEnum": "billing.models.PriceCause",
        "PriceChangeForCauseEnum": "billing.invoicing.services.prices.LEGAL_CAUSE_CHOICES",
        "TermsAcceptanceStatusEnum": "accounts.models.TermsAcceptance.Status",
        "UsageRecordChannelEnum": "billing.models.UsageRecord.Channel",
        "UserRoleEnum": "accounts.models.User.Role",
        "WorkdayOverrideKindEnum": "accounts.models.WorkdayOverride.Kind",
    },
}

# --- Email -------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A mail server that hangs never holds a worker for long (notices are sent by Celery, never in
# a request; a timed-out send is retried with backoff).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
PORTAL_STAFF_EMAIL = env_str("PORTAL_STAFF_EMAIL", "billing@localhost")
# The ECB's euro reference rates, imported daily (billing/invoicing/services/ecb_rates.py);
# https in production, file:// for a stored copy (tests, an air-gapped mirror).
ECB_RATES_URL = (
    env_url("ECB_RATES_URL", {"https", "http", "file"})
    or "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
)
ECB_RATES_TIMEOUT_SECONDS = env_int("ECB_RATES_TIMEOUT_SECONDS", 10)
PORTAL_ADDR = portal_addr()
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", f"http://{PORTAL_ADDR}")
# Client-supplied callback URLs (OpenDSR) must reach public addresses over https; only these
# networks are exempt (and may use plain http): loopback in first-look mode and the tests,
# none in production. Comma-separated CIDRs, e.g. "127.0.0.0/8,::1/128".
PORTAL_CALLBACKS_ALLOWED_NETWORKS = env_list(
    "PORTAL_CALLBACKS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if DEBUG else []
)
for _network in PORTAL_CALLBACKS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"PORTAL_CALLBACKS_ALLOWED_NETWORKS: {_network!r} is not a network (CIDR)."
        ) from _exc
# Connect, send and read of one status callback, in seconds; a slow receiver fails the attempt.
DSR_CALLBACK_TIMEOUT_SECONDS = env_int("DSR_CALLBACK_TIMEOUT_SECONDS", 5)

# --- Internationalisation ----------------------------------------------------------------
# English, Simplified Chinese (CM Telecom (Shenzhen)'s clients) and Dutch (CXENGAGE's). Before
# sign-in the browser's Accept-Language (or the sign-in page's choice) decides; after it the
# user's own choice, else their provider's default (accounts.middleware.UserLanguageMiddleware).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文"), ("nl", "Nederlands")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates per language (Django's formats, English kept as the pages wrote it); amounts through
# Babel in accounts.kernel.l10n.
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves from here after collectstatic; until then it finds files itself (below).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploaded documents (audit declarations and reports, sub-processor agreements) live outside the
# web root and no URL serves the folder: MEDIA_URL stays unset, and the only way to a document
# is a view that checks the user is a party to it (dataprocessing/views/documents.py).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media"))).resolve()
for _public in (STATIC_ROOT, *STATICFILES_DIRS):
    if MEDIA_ROOT == Path(_public).resolve() or Path(_public).resolve() in MEDIA_ROOT.parents:
        raise ImproperlyConfigured(
            f"MEDIA_ROOT={MEDIA_ROOT} lies in a folder served as static files ({_public}); "
            "uploads must stay outside the web root."
        )
# An uploaded document is refused above this size (accounts/kernel/uploads.py).
PORTAL_UPLOAD_MAX_BYTES = env_int("PORTAL_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)

# --- Security (production values unless DEBUG) -------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", not DEBUG) else None
)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts, fonts, frames and form targets from the portal
# only, no plugins, no framing. Styles allow inline `style` attributes, which the pages and
# form widgets use for layout; no page has an inline <script>.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Operations (portal/operations.py, README "Operations") ------------------------------
# /healthz and /readyz are probed over plain http by load balancers inside the network, and
# Prometheus scrapes /metrics there too: they are not redirected to https.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics answers the connecting addresses in these networks (never a forwarded header), or a
# request with `Authorization: Bearer <PORTAL_METRICS_TOKEN>`; nobody else. Loopback by default
# with DEBUG only: behind a reverse proxy on the same host every request comes from loopback.
PORTAL_METRICS_ALLOWED_NETWORKS = env_list(
    "PORTAL_METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"] if DEBUG else []
)
for _network in PORTAL_METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"PORTAL_METRICS_ALLOWED_NETWORKS: {_network!r} is not a network (CIDR)."
        ) from _exc
PORTAL_METRICS_TOKEN = env_str("PORTAL_METRICS_TOKEN", "") or ""
if PORTAL_METRICS_TOKEN and len(PORTAL_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("PORTAL_METRICS_TOKEN must be at least 32 characters long.")
# prometheus_client's multiprocess mode: where every process (gunicorn workers, the Celery
# worker) writes its counters, added up by /metrics. prometheus_client reads the variable
# itself; it is checked here so that a missing folder fails at start, not at the first count.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "") or ""
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR!r} is not a folder; create it "
        "(empty) before the processes start."
    )

# Logs: plain text by default; `LOG_FORMAT=json` writes one JSON object a line (time, level,
# logger, message, request_id within a request; portal/logs.py) for a log collector.
LOG_FORMAT = env_str("LOG_FORMAT", "text") or "text"
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(message)s"},
        "json": {"()": "portal.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
if LOG_FORMAT == "json":
    # runserver's request lines too (Django gives them a handler of their own by default)
    LOGGING["loggers"]["django.server"] = {  # type: ignore[index]
        "handlers": ["console"],
        "level": "INFO",
        "propagate": False,
    }
# The Celery worker keeps the portal's log configuration (and so its format) instead of
# installing its own on the root logger.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "text"
