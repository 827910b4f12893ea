"""Staff sign in with a second factor (TOTP, django-otp) before they reach anything else."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

# The API answers for itself (OTPSessionAuthentication refuses an unverified staff session).
_OPEN_PREFIXES = (
    "/static/",
    "/accounts/two-factor/",
    "/accounts/logout/",
    "/api/",
    # operations probes and the metrics scrape (portal/operations.py) need no sign-in
    "/healthz",
    "/readyz",
    "/metrics",
)


class StaffTwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.PORTAL_STAFF_OTP_REQUIRED
            and user is not None
            and user.is_authenticated
            and (user.is_provider_staff or user.is_staff)
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            return redirect(f"{reverse('two_factor')}?next={request.get_full_path()}")
        return self.get_response(request)


class DomainNotFoundMiddleware:
    """A selector's domain `NotFound` (another client's or provider's id) is a page's 404; a
    list's cursor that it did not hand out (`InvalidCursor`) is a 400 naming the parameter."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.http import Http404, HttpResponseBadRequest

        from accounts.kernel.errors import NotFound
        from accounts.kernel.keyset import InvalidCursor

        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, InvalidCursor):
            return HttpResponseBadRequest(
                f"{exception.field}: {exception.message}", content_type="text/plain; charset=utf-8"
            )
        return None


class UserLanguageMiddleware:
    """After sign-in the page is in the user's language (their choice, else their provider's
    default for clients); before it LocaleMiddleware's (cookie, then Accept-Language) stands."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import translation

        from accounts.kernel.languages import SESSION_KEY, user_language

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if SESSION_KEY not in request.session:
                request.session[SESSION_KEY] = user_language(user) or ""
            language = request.session[SESSION_KEY]
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
