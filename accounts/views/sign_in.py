"""Sign-in by email, the staff's second factor (TOTP), sign-out and password reset."""

import logging

import django_otp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _

from accounts.forms import (
    EmailAuthenticationForm,
    LanguageForm,
    TOTPCodeForm,
    add_service_error,
)
from accounts.kernel import ratelimit
from accounts.kernel.errors import ApplicationError
from accounts.kernel.languages import SESSION_KEY, offered_languages
from accounts.services import users as user_services

from .base import safe_next

log = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_initial(self):
        return {**super().get_initial(), "language": ""}

    def form_valid(self, form):
        """A language chosen on the sign-in page becomes the user's own (else theirs stands)."""
        response = super().form_valid(form)
        chosen = form.cleaned_data.get("language")
        if chosen:
            user = form.get_user()
            try:
                user_services.user_set_language(user=user, language=chosen, acting_user=user)
            except ApplicationError as exc:
                messages.warning(self.request, exc.message)
        self.request.session.pop(SESSION_KEY, None)
        return response


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    """Reset requests are limited per address and per IP address (art. 5.2: credentials kept
    secure; no mail bombing of an address, no enumeration of many from one place).

    Over a limit the answer is the same neutral "if the address is known we sent a link" page
    as always, and nothing is sent: neither the answer nor its status tells whether the address
    exists or the limit was reached. Every request counts, for known and unknown addresses.
    """

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        address = form.cleaned_data["email"].strip().lower()
        ip = self.request.META.get("REMOTE_ADDR", "")
        hour = 60 * 60
        # both counted, so a sprayer's requests keep counting against its IP address
        within_address = ratelimit.hit(
            "password-reset:address",
            address,
            limit=settings.PORTAL_PASSWORD_RESETS_PER_ADDRESS_HOUR,
            window_seconds=hour,
        )
        within_ip = ratelimit.hit(
            "password-reset:ip",
            ip,
            limit=settings.PORTAL_PASSWORD_RESETS_PER_IP_HOUR,
            window_seconds=hour,
        )
        if within_address and within_ip:
            return super().form_valid(form)
        log.warning("password reset over the limit (%s); nothing sent", ip)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    # Drop the XML declaration so the SVG can sit inline in the page.
    return svg[svg.index("<svg") :]


@login_required
def two_factor(request):
    """Staff prove a second factor (TOTP) before anything else; enrol first if they have no device."""
    user = request.user
    next_url = safe_next(request, reverse("dashboard"))
    if not (user.is_provider_staff or user.is_staff) or user.is_verified():
        return redirect(next_url)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    enrolling = not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    form = TOTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = user_services.totp_verify(user=user, token=form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            messages.success(request, _("Two-factor check passed."))
            return redirect(next_url)
        form.add_error(
            "code", _("That code is not valid. Codes change every 30 seconds; try the current one.")
        )
    context = {"form": form, "enrolling": enrolling, "next": next_url}
    if enrolling:
        device = user_services.totp_device_for_enrolment(user=user)
        context["qr_svg"] = _qr_svg(device.config_url)
        secret = device.config_url.split("secret=")[1].split("&")[0]
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(request, "accounts/two_factor.html", context)


@login_required
def profile(request):
    """The user's own settings: the language of the portal and of their emails."""
    user = request.user
    form = LanguageForm(
        request.POST or None, offered=offered_languages(user), initial={"language": user.language}
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_services.user_set_language(
                user=user, language=form.cleaned_data["language"], acting_user=user
            )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            request.session.pop(SESSION_KEY, None)
            messages.success(request, _("Your language is saved."))
            return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})
