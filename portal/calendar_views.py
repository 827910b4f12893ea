"""The contract's calendar (issue 15 §7): the timeline page and the iCalendar feed."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.forms import ClientField, UserScopedForm
from accounts.models import CalendarFeed
from accounts.models.calendar_feeds import feed_token_new

from . import calendar

# A feed is fetched by calendar apps every few hours; it shows the next months, bounded.
FEED_PER_SOURCE = 500


class CalendarFilterForm(UserScopedForm):
    client = ClientField(label=_("Client"), required=False)
    kind = forms.ChoiceField(
        label=_("Deadline"),
        required=False,
        choices=[("", _("Any"))] + [(k, v) for k, v in calendar.KINDS.items()],
    )


@login_required
def timeline(request):
    """Every deadline of the client's (for staff: of their providers' clients, filtered by
    client and kind), in time order, with its article and a link to where it is handled."""
    user = request.user
    if not (user.is_provider_staff or user.client_id):
        raise Http404
    form = CalendarFilterForm(request.GET or None, user=user)
    client = kind = None
    if user.is_provider_staff and form.is_valid():
        client = form.cleaned_data["client"]
        kind = form.cleaned_data["kind"] or None
    elif not user.is_provider_staff:
        kind = request.GET.get("kind") if request.GET.get("kind") in calendar.KINDS else None
    items = calendar.deadlines(user=user, client=client, kinds=[kind] if kind else None)
    feed = CalendarFeed.objects.filter(user=user).first()
    feed_url = request.build_absolute_uri(f"/calendar/{feed.token}.ics") if feed is not None else ""
    return render(
        request,
        "portal/calendar.html",
        {
            "items": items,
            "form": form,
            "kinds": calendar.KINDS,
            "kind": kind or "",
            "feed_url": feed_url,
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def feed_reset(request):
    """A new secret feed URL; the previous one stops working at once."""
    feed, created = CalendarFeed.objects.get_or_create(user=request.user)
    if not created:
        feed.token = feed_token_new()
        feed.save(update_fields=["token"])
    messages.success(request, _("Your calendar feed URL is ready; any older one no longer works."))
    return redirect("calendar")


@login_required
@require_POST
def feed_revoke(request):
    CalendarFeed.objects.filter(user=request.user).delete()
    messages.success(request, _("Your calendar feed URL no longer works."))
    return redirect("calendar")


def feed(request, token: str):
    """The iCalendar feed of the user the secret token belongs to (no sign-in: calendar apps
    cannot sign in; the token is the key, and resetting it revokes the URL)."""
    row = (
        CalendarFeed.objects.select_related("user").filter(token=token).first()
        if token and "\x00" not in token
        else None
    )
    if row is None or not row.user.is_active:
        raise Http404
    CalendarFeed.objects.filter(pk=row.pk).update(last_fetched_at=timezone.now())
    items = calendar.deadlines(user=row.user, per_source=FEED_PER_SOURCE)
    cal = calendar.feed_events(items, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="contract-deadlines.ics"'
    response["Cache-Control"] = "private, max-age=900"
    return response
