"""Reads scoped to a client: every query of client-owned data takes the client (or the user)."""

import datetime as dt
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Value
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Coalesce
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .kernel.errors import NotFound
from .models import (
    Agreement,
    ChangeRequest,
    Client,
    DataRequest,
    ForceMajeure,
    ForceMajeureNotice,
    Invitation,
    Provider,
    Suspension,
    TermsAcceptance,
    TermsVersion,
    User,
)


def provider_scope(user: User) -> frozenset[int] | None:
    """The provider ids a staff user's reads are narrowed to; None for the explicit group
    operator, who sees every provider (art. 11.1, 21.4: the providers are separate legal
    entities, and each one's staff see its own clients only)."""
    if user.sees_all_providers:
        return None
    return user.staff_provider_ids


def providers_visible_to(user: User) -> QuerySet[Provider]:
    """Staff: the providers they serve (every one for the group operator); a client's users:
    their own provider."""
    if not user.is_authenticated:
        return Provider.objects.none()
    if user.is_provider_staff:
        ids = provider_scope(user)
        return Provider.objects.all() if ids is None else Provider.objects.filter(pk__in=ids)
    if user.client_id:
        return Provider.objects.filter(clients=user.client_id)
    return Provider.objects.none()


def provider_scoped(
    queryset: QuerySet, *, user: User, provider_field: str = "provider"
) -> QuerySet:
    """Narrow provider-owned rows (terms, sub-processors, breaches, rates) to a staff user's
    providers. Client users are narrowed by the caller (to what their provider publishes)."""
    if not user.is_authenticated:
        return queryset.none()
    ids = provider_scope(user) if user.is_provider_staff else None
    if ids is None:
        return queryset
    return queryset.filter(**{f"{provider_field}_id__in": ids})


def clients_visible_to(user: User) -> QuerySet[Client]:
    """Staff see the clients of the providers they serve; a client user sees only its own
    (tenant isolation). Another provider's client is as missing as another client."""
    if not user.is_authenticated:
        return Client.objects.none()
    if user.is_provider_staff:
        return provider_scoped(Client.objects.all(), user=user)
    if user.client_id:
        return Client.objects.filter(pk=user.client_id)
    return Client.objects.none()


def _get(queryset: QuerySet, pk):
    """The row `pk` of `queryset`, or the domain NotFound (404 on pages and in the API)."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise NotFound
    return obj


def client_get(*, user: User, pk) -> Client:
    """The client, or 404 for one the user may not see (never 403, never the object)."""
    return _get(clients_visible_to(user).select_related("provider"), pk)


def scoped(queryset: QuerySet, *, user: User, client_field: str = "client") -> QuerySet:
    """Narrow a queryset of client-owned rows to what `user` may see: staff to their
    providers' clients, a client's users to their client."""
    if not user.is_authenticated:
        return queryset.none()
    if user.is_provider_staff:
        return provider_scoped(queryset, user=user, provider_field=f"{client_field}__provider")
    if user.client_id:
        return queryset.filter(**{f"{client_field}_id": user.client_id})
    return queryset.none()


def scoped_get(queryset: QuerySet, *, user: User, pk, client_field: str = "client"):
    """One client-owned row `user` may see, or NotFound (another client's id is a missing one)."""
    return _get(scoped(queryset, user=user, client_field=client_field), pk)


def accepted_terms() -> QuerySet[TermsAcceptance]:
    """Acceptances that put a client on a terms version, the newest version first: the first of
    a client's is the version it is on (art. 18.3: accepted, or deemed accepted without objection)."""
    return TermsAcceptance.objects.filter(
        status__in=[TermsAcceptance.Status.ACCEPTED, TermsAcceptance.Status.DEEMED_ACCEPTED]
    ).order_by("-terms__published_at", "-pk")


def client_list(
    *, filters: dict | None = None, user: User | None = None, with_details: bool = False
) -> QuerySet[Client]:
    """Clients with `is_suspended`; narrowed to what `user` may see when given.

    `with_details` prefetches directors, the open suspensions (as `open_suspensions`) and the
    accepted terms, newest first (as `accepted_terms`).
    """
    filters = filters or {}
    qs = Client.objects.select_related("provider", "agreement").annotate(
        is_suspended=Exists(Suspension.objects.filter(client=OuterRef("pk"), ended_at=None))
    )
    if user is not None:
        qs = qs.filter(pk__in=clients_visible_to(user).values("pk"))
    if with_details:
        qs = qs.prefetch_related(
            "directors",
            Prefetch(
                "suspensions",
                queryset=Suspension.objects.filter(ended_at=None),
                to_attr="open_suspensions",
            ),
            # newest first: the first is the version the client is on (art. 18.3), as client_current_terms
            Prefetch(
                "terms_acceptances",
                queryset=accepted_terms().select_related("terms__provider"),
                to_attr="accepted_terms",
            ),
        )
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("provider"):
        qs = qs.filter(provider__code=filters["provider"])
    if filters.get("q"):
        qs = qs.filter(legal_name__icontains=filters["q"])
    return qs.order_by("legal_name", "pk")


def client_detail(*, user: User, pk) -> Client:
    """One client with its details (see client_list), or 404 for one the user may not see."""
    return _get(client_list(user=user, with_details=True), pk)


# Where a draft terms version sorts in a newest-first list: before every published one.
_DRAFTS_FIRST = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def terms_versions_visible_to(user: User) -> QuerySet[TermsVersion]:
    """Staff see every version; a client's users see the published versions of their provider.

    Newest first, an unpublished draft (no `published_at`) before them all: coalesced, so the
    list's keyset cursor reaches every row (NULL compares to nothing)."""
    qs = (
        TermsVersion.objects.select_related("provider")
        .annotate(listed_at=Coalesce("published_at", Value(_DRAFTS_FIRST)))
        .order_by("-listed_at", "-pk")
    )
    if not user.is_authenticated:
        return qs.none()
    if user.is_provider_staff:
        return provider_scoped(qs, user=user)
    if user.client_id:
        return qs.filter(provider__clients=user.client_id, published_at__isnull=False)
    return qs.none()


def terms_version_get(*, user: User, pk) -> TermsVersion:
    """One terms version `user` may see (see terms_versions_visible_to), or NotFound."""
    return _get(terms_versions_visible_to(user), pk)


def terms_objections(*, user: User) -> QuerySet[TermsAcceptance]:
    """The objections to new terms of the clients `user` serves, for staff to decide on
    cancellation (art. 18.3)."""
    return scoped(
        TermsAcceptance.objects.filter(status=TermsAcceptance.Status.OBJECTED), user=user
    ).select_related("client", "terms")


def client_agreement(*, client: Client) -> Agreement | None:
    """The client's agreement; None until the client is approved (art. 15.1)."""
    return Agreement.objects.filter(client=client).first()


# Art. 15.7: "Provisions which by their nature are intended to survive termination of the
# Agreement shall continue to apply after the end of the Agreement. These provisions among other
# things form part of articles regarding warranties & indemnification (6), setting-of (9),
# confidentiality & client data (11), intellectual property rights (12), liability (13), force
# majeure (14) and applicable law & disputes (17) ..., as well as this and the previous
# paragraph in this Article."
SURVIVING_ARTICLES = (
    ("6", _("Warranties and indemnification")),
    ("9", _("Set-off")),
    ("11", _("Confidentiality and client data")),
    ("12", _("Intellectual property rights")),
    ("13", _("Liability")),
    ("14", _("Force majeure")),
    ("15.6–15.7", _("Amounts due on termination; survival")),
    ("17", _("Applicable law and disputes")),
)
# Art. 11.1: "The non-disclosure obligation shall end one year after the Agreement ends."
CONFIDENTIALITY_MONTHS_AFTER_END = 12


def agreement_survival(*, agreement: Agreement | None) -> dict | None:
    """What survives the end of a terminated agreement (art. 15.7), and the day the duty of
    confidentiality ends: one year after the agreement's last day (art. 11.1). None while the
    agreement runs."""
    from .kernel.dates import add_months

    if agreement is None or agreement.status != Agreement.Status.TERMINATED:
        return None
    if agreement.end_date is None:
        return None
    return {
        "articles": [{"article": a, "title": str(t)} for a, t in SURVIVING_ARTICLES],
        "confidentiality_until": add_months(agreement.end_date, CONFIDENTIALITY_MONTHS_AFTER_END),
    }


def agreement_termination_evidence_get(*, user: User, pk) -> FieldFile:
    """The evidence of a termination (art. 15.5), for the parties only: the client's users and
    its provider's staff; anyone else, or no document, is not found."""
    agreement = _get(scoped(Agreement.objects.all(), user=user), pk)
    if not agreement.termination_evidence:
        raise NotFound
    return agreement.termination_evidence


def force_majeure_for_termination(*, user: User, pk) -> ForceMajeure | None:
    """A situation of force majeure the user may see, named as the ground of art. 15.5(b)."""
    return force_majeure_list(user=user).filter(pk=pk).first()


def agreed_currency(*, client: Client) -> str:
    """The currency the client's agreement names, else its profile's (art. 4.1 / CX 3: "in the
    agreed currency (default: USD)"; cm-cn "in RMB or RMB equivalents to Euros")."""
    currency = (
        Agreement.objects.filter(client_id=client.pk).values_list("currency", flat=True).first()
    )
    return currency or client.provider.currency


def agreed_payment_term_days(*, client: Client) -> int:
    """The payment term the client's agreement states, else its profile's (art. 4.5: "within
    fourteen (14) days of the invoice date, unless the Agreement explicitly contains different
    payment terms")."""
    days = (
        Agreement.objects.filter(client_id=client.pk)
        .values_list("payment_term_days", flat=True)
        .first()
    )
    return days if days is not None else client.provider.payment_term_days


def client_open_suspensions(*, client: Client) -> QuerySet[Suspension]:
    return Suspension.objects.filter(client=client, ended_at=None)


def client_is_suspended(*, client: Client) -> bool:
    return client_open_suspensions(client=client).exists()


class MessagingRefusal(NamedTuple):
    """Why messaging is refused: a code, the reason in words and the article, if any."""

    code: str
    reason: str
    article: str | None


def messaging_refusal(
    *, status: str, agreement_status: str | None, suspension_causes=()
) -> MessagingRefusal | None:
    """Messaging runs only for an active client with a live agreement and no open suspension
    (art. 7.1); the refusal says which of these fails, None means messaging is allowed.

    The one place of this rule, decided from the facts it names: the client's status, its
    agreement's status (None without one) and the causes of its open suspensions.
    `messaging_allowed` reads them for one client; usage ingestion (billing) reads them for
    every client of a batch in one query and asks this function.
    """
    if status != Client.Status.ACTIVE:
        return MessagingRefusal(
            "client_not_active", f"The client's account is {status}; messaging is refused.", None
        )
    if agreement_status is None:
        return MessagingRefusal(
            "no_agreement", "The client has no agreement; messaging is refused.", None
        )
    if agreement_status == Agreement.Status.TERMINATED:
        return MessagingRefusal(
            "agreement_ended", "The client's agreement has ended; messaging is refused.", "15"
        )
    if suspension_causes or agreement_status == Agreement.Status.SUSPENDED:
        causes = ", ".join(sorted(set(suspension_causes or []))) or "suspended agreement"
        return MessagingRefusal(
            "suspended", f"The client's service is suspended ({causes}).", "7.1"
        )
    return None


def messaging_allowed(*, client: Client) -> bool:
    """Messaging runs only for an active client with a live agreement and no open suspension (art. 7.1)."""
    agreement_status = (
        Agreement.objects.filter(client=client).values_list("status", flat=True).first()
    )
    causes = list(client_open_suspensions(client=client).values_list("cause", flat=True))
    refusal = messaging_refusal(
        status=client.status, agreement_status=agreement_status, suspension_causes=causes
    )
    return refusal is None


def client_current_terms(*, client: Client) -> TermsVersion | None:
    """The terms version the client is on: the newest it accepted or is deemed to have accepted (art. 18.3)."""
    acceptance = accepted_terms().filter(client=client).select_related("terms").first()
    return acceptance.terms if acceptance else None


def provider_latest_terms(*, provider: Provider) -> TermsVersion | None:
    """The provider's newest published terms: what a new client signs up on, and what a client
    approved later is offered (art. 18.3)."""
    return (
        TermsVersion.objects.filter(provider=provider, published_at__isnull=False)
        .order_by("-published_at", "-pk")
        .first()
    )


def client_pending_terms(*, client: Client) -> QuerySet[TermsAcceptance]:
    return TermsAcceptance.objects.filter(
        client=client, status=TermsAcceptance.Status.PENDING
    ).select_related("terms")


def change_request_list(
    *, user: User, status: str | None = None, kind: str | None = None
) -> QuerySet[ChangeRequest]:
    """Change requests `user` may see: of registration details (art. 5.5) and of the service
    (art. 5.3); `kind` narrows to one."""
    qs = scoped(
        ChangeRequest.objects.select_related("client", "submitted_by", "decided_by"), user=user
    )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.filter(status=status) if status else qs


def data_request_list(
    *,
    user: User,
    status: str | None = None,
    overdue: bool | None = None,
    kind: str | None = None,
) -> QuerySet[DataRequest]:
    """The data requests `user` may see; with `overdue=True` only those past their deadline
    (art. 5.4, 5.6, 5.7, 20.1.2), with `overdue=False` only those not (both by
    `DataRequest.overdue_q`); `kind` narrows to registration data, consent records or
    compliance audits."""
    qs = scoped(DataRequest.objects.select_related("client"), user=user)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if overdue is not None:
        qs = qs.filter(DataRequest.overdue_q()) if overdue else qs.exclude(DataRequest.overdue_q())
    return qs


def data_request_answerable(*, user: User, data_request: DataRequest) -> bool:
    """Whether the page offers `user` the answer form: an open request of the admin's own client
    (art. 5.6: the client provides the data)."""
    return (
        data_request.status == DataRequest.Status.OPEN
        and user.is_client_admin
        and user.client_id == data_request.client_id
    )


def data_request_closable(*, user: User, data_request: DataRequest) -> bool:
    """Whether the page offers `user` to close the request with findings: staff, for the
    provider's own request once answered (art. 5.4, 5.7)."""
    return (
        user.is_provider_staff
        and data_request.is_from_provider
        and data_request.status == DataRequest.Status.ANSWERED
    )


def data_request_document_get(*, user: User, pk, document_pk):
    """A document of a data request the user may see (the client's users, its provider's
    staff); anyone else gets 404, as for the request itself."""
    data_request = scoped_get(DataRequest.objects.all(), user=user, pk=pk)
    document = data_request.documents.filter(pk=document_pk).first()
    if document is None:
        raise NotFound
    return document


def client_open_invitations(*, client: Client) -> QuerySet[Invitation]:
    """The client's invitations not yet accepted, newest first."""
    return Invitation.objects.filter(client=client, accepted_at=None).order_by("-created_at")


def client_users(*, client: Client) -> QuerySet[User]:
    return User.objects.filter(client=client).order_by("-is_active", "email")


def field_history(*, client: Client) -> list[dict]:
    """Every change of every registration field, oldest first: who, when, old and new value (art. 5.5)."""
    records = list(
        client.history.order_by("history_date", "history_id").select_related("history_user")
    )
    changes = []
    for previous, current in zip(records, records[1:], strict=False):
        delta = current.diff_against(previous)
        for change in delta.changes:
            changes.append(
                {
                    "field": change.field,
                    "old": change.old,
                    "new": change.new,
                    "at": current.history_date,
                    "by": current.history_user.email if current.history_user else "system",
                }
            )
    return changes


# --- Force majeure (art. 14, 15.5(b)) -------------------------------------------------------
def force_majeure_list(*, user: User) -> QuerySet[ForceMajeure]:
    """Staff see the situations of the providers they serve; a client's users those that affect
    their client (never which other clients were affected: show them their notices)."""
    qs = ForceMajeure.objects.select_related("provider", "logged_by")
    if not user.is_authenticated:
        return qs.none()
    if user.is_provider_staff:
        return provider_scoped(qs, user=user)
    if user.client_id:
        return qs.filter(notices__client_id=user.client_id).distinct()
    return qs.none()


def force_majeure_get(*, user: User, pk) -> ForceMajeure:
    return _get(force_majeure_list(user=user), pk)


def force_majeure_notice_list(
    *, user: User, client: Client | None = None, pending: bool | None = None
) -> QuerySet[ForceMajeureNotice]:
    """Force-majeure notices: a client's users see their own once sent; staff see their
    providers' clients' notices, sent or not."""
    qs = scoped(
        ForceMajeureNotice.objects.select_related("situation__provider", "client"), user=user
    )
    if not user.is_provider_staff:
        qs = qs.filter(notified_at__isnull=False)
    if client is not None:
        qs = qs.filter(client=client)
    if pending:
        qs = qs.filter(notified_at=None)
    return qs


def force_majeure_notice_get(*, user: User, **lookup) -> ForceMajeureNotice:
    obj = force_majeure_notice_list(user=user).filter(**lookup).first()
    if obj is None:
        raise NotFound
    return obj


def force_majeure_countdown(notice: ForceMajeureNotice, now=None) -> dict | None:
    """The time left to a client's force-majeure notice (art. 14.2) as the pages show it, in
    working days of the provider's calendar: "3 working days left" or "overdue by …"; None once
    the client is notified."""
    from django.utils import timezone

    from . import workdays

    if notice.notified_at:
        return None
    now = now or timezone.now()
    provider = notice.situation.provider
    overdue = now > notice.deadline
    days = workdays.working_days_between(now, notice.deadline, provider)
    if overdue:
        text = ngettext(
            "overdue by %(days)s working day", "overdue by %(days)s working days", abs(days)
        ) % {"days": abs(days)}
    elif days == 0:
        text = gettext("due today")
    else:
        text = ngettext("%(days)s working day left", "%(days)s working days left", days) % {
            "days": days
        }
    return {"working_days": days, "overdue": overdue, "text": text}


def force_majeure_termination_rights(*, client: Client, now=None) -> list[dict]:
    """The client's situations of force majeure and the right to terminate each opens (art.
    15.5(b): "if the situation of force majeure as referred to in Article 14 lasts longer than
    twenty (20) Working Days"), for both parties: open now, or from when it opens if it goes on.
    Ended situations that never lasted that long give no right and are left out."""
    from django.utils import timezone

    now = now or timezone.now()
    rights = []
    situations = ForceMajeure.objects.filter(notices__client=client).select_related("provider")
    for situation in situations.order_by("-started_at", "-pk").distinct():
        if situation.ended_at and situation.ended_at <= situation.termination_right_from:
            continue
        rights.append(
            {
                "situation": situation,
                "open": situation.termination_right_open(now),
                "from": situation.termination_right_from,
            }
        )
    return rights
