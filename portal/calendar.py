"""The contract's calendar (issue 15 §7): every deadline the portal computes for a client, on one
timeline and as an iCalendar feed.

The composing layer reads each app's rows; it computes nothing itself: each deadline is the
value the services stored (an invoice's due date, a lot's expiry, a DSR's `due_at`, a breach
notice's 48-hour deadline…) or, for the renewal's last notice day, the agreements service's
own rule (`agreement_end_date_for_notice`). Each source is read for a bounded window, in its
deadline's order, through an index, and at most `per_source` rows, so the timeline of a
provider with 100,000 clients costs the same as a client's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.kernel.dates import add_months
from accounts.models import (
    Agreement,
    Client,
    DataRequest,
    ForceMajeureNotice,
    Provider,
    TermsAcceptance,
    User,
)
from accounts.selectors import clients_visible_to
from accounts.services.agreements import agreement_end_date_for_notice

PER_SOURCE = 200
WINDOW_BACK = dt.timedelta(days=7)
WINDOW_AHEAD = dt.timedelta(days=400)

KINDS = {
    "renewal": gettext_lazy("Renewal and notice"),
    "terms": gettext_lazy("Terms objection window"),
    "credit": gettext_lazy("Credit expiry"),
    "invoice": gettext_lazy("Invoice due"),
    "fapiao": gettext_lazy("Fapiao due"),
    "dsr": gettext_lazy("Data-subject request"),
    "data_request": gettext_lazy("Data request"),
    "audit": gettext_lazy("Audit window"),
    "breach": gettext_lazy("Breach notice"),
    "force_majeure": gettext_lazy("Force-majeure notice"),
    "loss_claim": gettext_lazy("Loss claim"),
}


@dataclass(frozen=True)
class Deadline:
    """One deadline: when, what, the article it comes from, and where it lives in the portal.

    `at` is a moment (aware datetime) or a whole day (date: the last day something may be done,
    or the day something is due)."""

    uid: str
    kind: str
    at: dt.datetime | dt.date
    title: str
    article: str
    path: str
    client_id: int
    client_name: str
    provider_id: int = 0
    tz: str = "UTC"

    @property
    def sort_key(self) -> dt.datetime:
        if isinstance(self.at, dt.datetime):
            return self.at
        return dt.datetime.combine(self.at, dt.time(23, 59), tzinfo=dt.UTC)

    @property
    def is_day(self) -> bool:
        return not isinstance(self.at, dt.datetime)


Source = Callable[[QuerySet[Client, Any], dt.datetime, dt.datetime, int], Iterator[Deadline]]


def _window(
    qs: QuerySet[Any, Any],
    *,
    client: str,
    field: str,
    clients: QuerySet[Client, Any],
    start: dt.datetime,
    end: dt.datetime,
    n: int,
    days: bool = False,
    related: tuple[str, ...] = (),
) -> list[Any]:
    """The rows of `clients` whose `field` falls in [start, end] (as dates when `days`), in that
    order, at most `n`, with their client joined (`client` is the path to it)."""
    low, high = (start.date(), end.date()) if days else (start, end)
    return list(
        qs.filter(**{f"{client}__in": clients, f"{field}__gte": low, f"{field}__lte": high})
        .select_related(client, *related)
        .order_by(field, "pk")[:n]
    )


def _item(
    uid: str,
    kind: str,
    at: dt.datetime | dt.date,
    title: str,
    article: str,
    path: str,
    client: Client,
) -> Deadline:
    return Deadline(
        uid, kind, at, title, article, path, client.pk, client.legal_name, client.provider_id
    )


def _renewal(clients, start, end, n):
    active = Agreement.objects.filter(status=Agreement.Status.ACTIVE, notice_given_at=None)
    window = dict(clients=clients, start=start, end=end, n=n, days=True)
    for a in _window(active, client="client", field="current_term_end", **window):
        path = reverse("client_detail", args=[a.client_id])
        last_notice = _last_notice_day(a)
        if last_notice is not None and start.date() <= last_notice:
            yield _item(
                f"renewal-notice-{a.pk}-{a.current_term_end}",
                "renewal",
                last_notice,
                _("Last day to give notice before the agreement renews"),
                "15.2",
                path,
                a.client,
            )
        yield _item(
            f"renewal-{a.pk}-{a.current_term_end}",
            "renewal",
            a.current_term_end,
            _("The agreement's current term ends; it renews unless notice was given"),
            "15.2",
            path,
            a.client,
        )


def _last_notice_day(agreement: Agreement) -> dt.date | None:
    """The last day on which notice still ends the agreement at the current term's end: the
    agreements service decides when a notice given on a day takes effect (art. 15.1-15.2)."""
    day = add_months(agreement.current_term_end, -agreement.notice_period_months)
    # step to the latest day whose notice still ends the agreement by the term's end
    for _step in range(5):
        if agreement_end_date_for_notice(agreement, day) <= agreement.current_term_end:
            later = day + dt.timedelta(days=1)
            if agreement_end_date_for_notice(agreement, later) <= agreement.current_term_end:
                day = later
                continue
            return day
        day -= dt.timedelta(days=1)
    return None


def _terms(clients, start, end, n):
    pending = TermsAcceptance.objects.filter(status=TermsAcceptance.Status.PENDING)
    window = dict(clients=clients, start=start, end=end, n=n, related=("terms",))
    for t in _window(pending, client="client", field="objection_deadline", **window):
        title = _("Object to terms %(version)s by this day, or they are deemed accepted") % {
            "version": t.terms.version
        }
        path = reverse("terms_read", args=[t.terms_id])
        yield _item(f"terms-{t.pk}", "terms", t.objection_deadline, title, "18.3", path, t.client)


def _credit(clients, start, end, n):
    from billing.models import CreditLot

    live = CreditLot.objects.filter(status=CreditLot.Status.ACTIVE, remaining__gt=0)
    window = dict(clients=clients, start=start, end=end, n=n)
    for lot in _window(live, client="wallet__client", field="expires_at", **window):
        client = lot.wallet.client
        title = _("Prepaid credit of %(amount)s %(currency)s expires") % {
            "amount": lot.remaining,
            "currency": lot.currency,
        }
        path = reverse("billing:client_wallet", args=[client.pk])
        yield _item(f"credit-{lot.pk}", "credit", lot.expires_at, title, "29.3", path, client)


def _invoices(clients, start, end, n):
    from billing.models import Invoice

    open_ = Invoice.objects.filter(
        kind=Invoice.Kind.INVOICE,
        status__in=[
            Invoice.Status.ISSUED,
            Invoice.Status.PARTLY_PAID,
            Invoice.Status.OVERDUE,
            Invoice.Status.DISPUTED,
        ],
    )
    window = dict(clients=clients, start=start, end=end, n=n, days=True)
    for inv in _window(open_, client="client", field="due_date", **window):
        title = _("Invoice %(number)s is due") % {"number": inv.number}
        path = reverse("billing:invoice_detail", args=[inv.pk])
        yield _item(f"invoice-{inv.pk}", "invoice", inv.due_date, title, "4.5", path, inv.client)


def _fapiao(clients, start, end, n):
    from billing.models import FapiaoRequest

    requested = FapiaoRequest.objects.filter(status=FapiaoRequest.Status.REQUESTED)
    window = dict(clients=clients, start=start, end=end, n=n)
    for f in _window(requested, client="invoice__client", field="due_at", **window):
        title = _("Fapiao for invoice %(number)s is due") % {"number": f.invoice.number}
        path = reverse("billing:invoice_detail", args=[f.invoice_id])
        yield _item(f"fapiao-{f.pk}", "fapiao", f.due_at, title, "4.8", path, f.invoice.client)


def _dsrs(clients, start, end, n):
    from dataprocessing.models import DataSubjectRequest

    open_ = DataSubjectRequest.objects.filter(status__in=DataSubjectRequest.OPEN_STATUSES)
    window = dict(clients=clients, start=start, end=end, n=n)
    for d in _window(open_, client="client", field="due_at", **window):
        title = _("Data-subject request (%(type)s) must be answered") % {
            "type": d.get_type_display()
        }
        path = reverse("dataprocessing:dsr_detail", args=[d.pk])
        yield _item(f"dsr-{d.pk}", "dsr", d.due_at, title, "21.5", path, d.client)


def _data_requests(clients, start, end, n):
    open_ = DataRequest.objects.filter(status=DataRequest.Status.OPEN)
    window = dict(clients=clients, start=start, end=end, n=n)
    for d in _window(open_, client="client", field="due_at", **window):
        title = _("Registration data requested by %(who)s must be provided") % {
            "who": d.requested_by
        }
        path = reverse("data_request_detail", args=[d.pk])
        yield _item(f"data-request-{d.pk}", "data_request", d.due_at, title, "5.6", path, d.client)


def _audits(clients, start, end, n):
    from dataprocessing.models import AuditRequest

    requested = AuditRequest.objects.filter(status=AuditRequest.Status.REQUESTED)
    window = dict(clients=clients, start=start, end=end, n=n)
    for a in _window(requested, client="client", field="earliest_start", **window):
        title = _("Earliest start of the requested audit")
        path = reverse("dataprocessing:audit_detail", args=[a.pk])
        yield _item(f"audit-{a.pk}", "audit", a.earliest_start, title, "21.7", path, a.client)


def _breaches(clients, start, end, n):
    from dataprocessing.models import BreachNotification

    unsent = BreachNotification.objects.filter(notified_at=None)
    window = dict(clients=clients, start=start, end=end, n=n)
    for b in _window(unsent, client="client", field="deadline", **window):
        title = _("The client must be told of breach #%(breach)s") % {"breach": b.breach_id}
        path = reverse("dataprocessing:breach_notice_detail", args=[b.pk])
        yield _item(f"breach-{b.pk}", "breach", b.deadline, title, "21.11", path, b.client)


def _force_majeure(clients, start, end, n):
    unsent = ForceMajeureNotice.objects.filter(notified_at=None)
    window = dict(clients=clients, start=start, end=end, n=n)
    for f in _window(unsent, client="client", field="deadline", **window):
        title = _("The client must be told of the force-majeure situation")
        path = reverse("force_majeure_detail", args=[f.situation_id])
        yield _item(
            f"force-majeure-{f.pk}", "force_majeure", f.deadline, title, "14.2", path, f.client
        )


def _loss_claims(clients, start, end, n):
    from billing.models import LossClaim

    open_ = LossClaim.objects.filter(status=LossClaim.Status.OPEN)
    window = dict(clients=clients, start=start, end=end, n=n)
    for c in _window(open_, client="client", field="remedy_deadline", **window):
        title = _("Remedy period of loss claim #%(claim)s ends") % {"claim": c.pk}
        path = reverse("billing:claim_detail", args=[c.pk])
        yield _item(
            f"loss-claim-{c.pk}", "loss_claim", c.remedy_deadline, title, "13.6", path, c.client
        )


SOURCES: dict[str, Source] = {
    "renewal": _renewal,
    "terms": _terms,
    "credit": _credit,
    "invoice": _invoices,
    "fapiao": _fapiao,
    "dsr": _dsrs,
    "data_request": _data_requests,
    "audit": _audits,
    "breach": _breaches,
    "force_majeure": _force_majeure,
    "loss_claim": _loss_claims,
}


def deadlines(
    *,
    user: User,
    client: Client | None = None,
    kinds: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    per_source: int = PER_SOURCE,
) -> list[Deadline]:
    """The deadlines `user` may see (a client's users: their client; staff: their providers'
    clients, or the one `client`), in time order, for the window [start, end]."""
    now = timezone.now()
    start = start or now - WINDOW_BACK
    end = end or now + WINDOW_AHEAD
    clients = clients_visible_to(user)
    if client is not None:
        clients = clients.filter(pk=client.pk)
    found: list[Deadline] = []
    for kind, source in SOURCES.items():
        if kinds and kind not in kinds:
            continue
        found.extend(source(clients.values("pk"), start, end, per_source))
    zones = dict(Provider.objects.values_list("pk", "timezone"))
    found = [replace(d, tz=zones.get(d.provider_id, "UTC")) for d in found]
    if not user.is_provider_staff:
        # a client's users reach the same things through their own pages
        own = {"renewal": reverse("dashboard"), "credit": reverse("billing:wallet")}
        found = [replace(d, path=own.get(d.kind, d.path)) for d in found]
    return sorted(found, key=lambda d: (d.sort_key, d.uid))


def feed_events(items: list[Deadline], *, base_url: str) -> Any:
    """The deadlines as an iCalendar (RFC 5545) calendar: one event per deadline, a whole day
    for a day's deadline, a moment (UTC) for a timed one; its UID stable across fetches, its
    article and a link back to the portal in the description."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//Agreement Portal//contract calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("Contract deadlines"))
    stamp = timezone.now().astimezone(dt.UTC)
    for item in items:
        event = Event()
        event.add("uid", f"{item.uid}@agreement-portal")
        event.add("dtstamp", stamp)
        if item.is_day:
            event.add("dtstart", item.at)
            event.add("dtend", item.at + dt.timedelta(days=1))
        else:
            moment = item.at.astimezone(dt.UTC)  # type: ignore[union-attr]
            event.add("dtstart", moment)
            event.add("dtend", moment + dt.timedelta(minutes=30))
        event.add("summary", f"{item.title} — {item.client_name}")
        url = base_url.rstrip("/") + item.path
        event.add(
            "description",
            _("Article %(article)s. %(url)s") % {"article": item.article, "url": url},
        )
        event.add("url", url)
        event.add("categories", [str(KINDS[item.kind])])
        cal.add_component(event)
    return cal
