"""Terms versions (art. 18.3): published terms reach every active client, who may object in
writing within the objection period; without an objection they are deemed accepted.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts import selectors
from accounts.kernel import roles
from accounts.kernel.dates import add_months
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.languages import LANGUAGE_NAMES
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.models import Client, Provider, TermsAcceptance, TermsVersion, User


def terms_objection_deadline(provider: Provider, notified_at: dt.datetime) -> dt.datetime:
    """A client may object within the profile's objection period (one month) of being told of
    new terms (art. 18.3)."""
    return add_months(notified_at, provider.terms_objection_months)


def terms_accept_current_on_sign_up(*, client: Client, user: User) -> None:
    """A new client signs up on the provider's current terms: accepted at once."""
    current = selectors.provider_latest_terms(provider=client.provider)
    if current is None:
        return
    now = timezone.now()
    TermsAcceptance.objects.create(
        client=client,
        terms=current,
        status=TermsAcceptance.Status.ACCEPTED,
        notified_at=now,
        objection_deadline=now,
        decided_at=now,
        decided_by=user,
    )


def terms_offer_on_approval(*, client: Client) -> None:
    """Terms published while the client was pending reach it on approval, with the month to object (art. 18.3)."""
    latest = selectors.provider_latest_terms(provider=client.provider)
    if latest is None or TermsAcceptance.objects.filter(client=client, terms=latest).exists():
        return
    now = timezone.now()
    TermsAcceptance.objects.create(
        client=client,
        terms=latest,
        notified_at=now,
        objection_deadline=terms_objection_deadline(client.provider, now),
    )
    notify(
        key=f"terms-published:{latest.pk}:{client.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: (
            gettext("%(provider)s terms and conditions %(version)s")
            % {"provider": client.provider.name, "version": latest.version}
        ),
        body=(
            lambda: (
                latest.summary
                + "\n\n"
                + ngettext(
                    "If you do not object in writing within %(months)s month, these terms are deemed "
                    "accepted (art. 18.3).",
                    "If you do not object in writing within %(months)s months, these terms are deemed "
                    "accepted (art. 18.3).",
                    client.provider.terms_objection_months,
                )
                % {"months": client.provider.terms_objection_months}
            )
        ),
    )


@transaction.atomic
def terms_publish(
    *,
    provider: Provider,
    version: str,
    summary: str,
    acting_user: User,
    document_url: str = "",
    texts: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> TermsVersion:
    """Publish new terms; every active client is told and may object within one month (art. 18.3).

    Art. 18.6 (cm-cn): "These Terms and Conditions are made and offered in both Chinese and
    English; in case of any discrepancy, the English version shall prevail." A version is
    published with its text in each of the provider's `terms_languages`, or refused.
    """
    roles.require_staff(acting_user)
    roles.require_serves_provider(acting_user, provider)
    errors = {}
    if not (version or "").strip():
        errors["version"] = [gettext("Give the version number.")]
    if not (summary or "").strip():
        errors["summary"] = [gettext("Summarise what changed; clients are told (art. 18.3).")]
    if TermsVersion.objects.filter(provider=provider, version=(version or "").strip()).exists():
        errors["version"] = [gettext("This provider already has a terms version with this number.")]
    texts = {code: (text or "").strip() for code, text in (texts or {}).items()}
    texts = {code: text for code, text in texts.items() if text}
    # the English document, where one is linked, is the English version
    present = set(texts) | ({"en"} if (document_url or "").strip() else set())
    missing = [code for code in provider.terms_languages if code not in present]
    if missing:
        names = ", ".join(str(LANGUAGE_NAMES.get(code, code)) for code in provider.terms_languages)
        for code in missing:
            errors[f"text_{code.replace('-', '_')}"] = [
                gettext(
                    "%(name)s's terms are made in %(names)s (art. 18.6): give the %(language)s text."
                )
                % {
                    "name": provider.name,
                    "names": names,
                    "language": LANGUAGE_NAMES.get(code, code),
                }
            ]
    if errors:
        raise ValidationFailed(errors)
    now = now or timezone.now()
    terms = TermsVersion(
        provider=provider,
        version=version.strip(),
        summary=summary.strip(),
        document_url=document_url,
        texts=texts,
        published_at=now,
        published_by=acting_user,
    )
    with_history_user(terms, acting_user).save()
    deadline = terms_objection_deadline(provider, now)
    clients = list(
        Client.objects.filter(provider=provider, status=Client.Status.ACTIVE).order_by("pk")
    )
    TermsAcceptance.objects.bulk_create(
        [
            TermsAcceptance(client=c, terms=terms, notified_at=now, objection_deadline=deadline)
            for c in clients
        ]
    )
    for client in clients:
        notify(
            key=f"terms-published:{terms.pk}:{client.pk}",
            client=client,
            recipients=client_recipients(client),
            subject=lambda: (
                gettext("%(provider)s terms and conditions %(version)s")
                % {"provider": provider.name, "version": terms.version}
            ),
            body=(
                lambda: (
                    terms.summary
                    + "\n\n"
                    + gettext(
                        "If you do not object in writing by %(date)s, the new terms are deemed accepted "
                        "(art. 18.3). You can object in the portal."
                    )
                    % {"date": f"{deadline:%Y-%m-%d}"}
                )
            ),
        )
    return terms


def _locked_pending(acceptance: TermsAcceptance) -> TermsAcceptance:
    """The acceptance, locked; only terms still in their objection period can be decided."""
    acceptance = TermsAcceptance.objects.select_for_update().get(pk=acceptance.pk)
    if acceptance.status != TermsAcceptance.Status.PENDING:
        raise ApplicationError(
            gettext("These terms are already %(status)s.")
            % {"status": acceptance.get_status_display().lower()},
            field="status",
        )
    return acceptance


@transaction.atomic
def terms_object(
    *, acceptance: TermsAcceptance, acting_user: User, reason: str, now: dt.datetime | None = None
) -> TermsAcceptance:
    """A client admin objects in writing within the month; the previous terms still apply (art. 18.3)."""
    roles.require_client_admin(acting_user, acceptance.client, staff_may=True)
    if not (reason or "").strip():
        raise ValidationFailed({"reason": [gettext("Say why you object (art. 18.3: in writing).")]})
    acceptance = _locked_pending(acceptance)
    now = now or timezone.now()
    if now > acceptance.objection_deadline:
        raise ApplicationError(
            gettext(
                "The objection period ended on %(objection_deadline)s; the terms are deemed accepted (art. 18.3)."
            )
            % {"objection_deadline": f"{acceptance.objection_deadline:%Y-%m-%d}"},
            field="status",
            article="18.3",
        )
    acceptance.status = TermsAcceptance.Status.OBJECTED
    acceptance.objection_reason = reason.strip()
    acceptance.decided_at = now
    acceptance.decided_by = acting_user
    with_history_user(acceptance, acting_user).save()
    notify(
        key=f"terms-objection:{acceptance.pk}",
        client=acceptance.client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=acceptance.client.provider_id),
        subject=lambda: (
            gettext("%(client)s objects to terms %(version)s")
            % {"client": acceptance.client.legal_name, "version": acceptance.terms.version}
        ),
        body=acceptance.objection_reason,
    )
    return acceptance


@transaction.atomic
def terms_accept(*, acceptance: TermsAcceptance, acting_user: User) -> TermsAcceptance:
    """A client admin accepts new terms before the objection period ends (art. 18.3)."""
    roles.require_client_admin(acting_user, acceptance.client, staff_may=True)
    acceptance = _locked_pending(acceptance)
    acceptance.status = TermsAcceptance.Status.ACCEPTED
    acceptance.decided_at = timezone.now()
    acceptance.decided_by = acting_user
    with_history_user(acceptance, acting_user).save()
    return acceptance


def terms_deem_accepted(*, now: dt.datetime | None = None) -> int:
    """The beat job: without objection within the month, the new terms are deemed accepted (art. 18.3)."""
    now = now or timezone.now()
    # A set-based update: the decided_at stamp on each row is the record (DESIGN.md, History).
    return TermsAcceptance.objects.filter(
        status=TermsAcceptance.Status.PENDING, objection_deadline__lt=now
    ).update(status=TermsAcceptance.Status.DEEMED_ACCEPTED, decided_at=now)


def terms_text_shown(*, terms: TermsVersion, language: str, client: Client | None) -> str:
    """The language version of `terms` a reader is shown: theirs when it exists, else English
    (which prevails, art. 18.6). A client's acceptance records each version its users were
    shown, so the record says which texts the decision was made on."""
    shown = language if language in terms.texts else "en"
    if client is not None:
        with transaction.atomic():
            acceptance = (
                TermsAcceptance.objects.select_for_update()
                .filter(client=client, terms=terms)
                .first()
            )
            if acceptance is not None and shown not in acceptance.languages_shown:
                acceptance.languages_shown = [*acceptance.languages_shown, shown]
                acceptance.save(update_fields=["languages_shown"])
    return shown
