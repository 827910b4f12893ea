"""Deletion of inactive prepaid accounts (art. 29.7): an account not charged within three months
of registration, or within three months after all its credit was used, is warned and then
deleted (a job, billing.prepaid.jobs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts import services as account_services
from accounts.kernel.dates import add_months
from accounts.kernel.notifications import client_recipients, notify
from accounts.models import Client, Provider
from billing.models import Wallet

from .wallets import lock_wallet, wallet_for_client


def inactivity_deadline(
    *, client: Client, wallet: Wallet | None
) -> tuple[dt.datetime, dt.datetime] | None:
    """(start, deadline) of the art. 29.7 clock, or None when the account is not at risk.

    "The account will be deleted if the account is not charged within three (3) months of
    registration, or within three months after all credit has been used." A prepaid account
    is charged when credit is loaded onto it (a top-up, art. 29.1: "occasional payments ...
    credited to his account"), so an account holding paid credit is never deleted. Never
    charged counts from the registration (approval, else sign-up); all credit used counts
    from the moment the balance reached zero, by a debit or by expiry (a top-up clears it).
    """
    months = client.provider.inactive_deletion_months
    if wallet is None or wallet.last_charged_at is None:
        start = client.approved_at or client.created_at
    elif wallet.credit_exhausted_at is not None:
        start = wallet.credit_exhausted_at
    else:
        return None
    return start, add_months(start, months)


def inactive_accounts_delete(
    *, now: dt.datetime | None = None, batch_size: int = 200
) -> dict[str, Any]:
    """Warn, then delete, prepaid accounts not charged in time (art. 29.7).

    The account is warned by email `inactive_warning_days` (14) before its deadline; on the
    deadline (and at least that many days after the warning) it is deleted through
    `client_delete_account`: personal data anonymised, users deactivated, the wallet and the
    ledger kept. A charge after the warning stops the clock and the deletion.
    """
    now = now or timezone.now()
    summary = {"warned": 0, "deleted": 0, "cleared": 0}
    for provider in Provider.objects.order_by("pk"):
        warn = dt.timedelta(days=provider.inactive_warning_days)
        # Coarse in SQL (anyone whose clock could be due for a warning), exact in Python.
        bound = add_months(now + warn, -provider.inactive_deletion_months) + dt.timedelta(days=1)
        candidates = (
            Client.objects.filter(
                provider=provider,
                billing_mode=Client.BillingMode.PREPAID,
                status=Client.Status.ACTIVE,
            )
            .annotate(registered=Coalesce("approved_at", "created_at"))
            .filter(
                (Q(wallet__isnull=True) | Q(wallet__last_charged_at__isnull=True))
                & Q(registered__lte=bound)
                | Q(wallet__credit_exhausted_at__lte=bound)
                | Q(wallet__inactivity_warned_at__isnull=False)
            )
        )
        last_pk = 0
        while True:
            batch = list(
                candidates.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                break
            last_pk = batch[-1]
            for client_id in batch:
                outcome = _inactive_account_step(client_id=client_id, now=now)
                if outcome:
                    summary[outcome] += 1
    return summary


@transaction.atomic
def _inactive_account_step(*, client_id: int, now: dt.datetime) -> str | None:
    client = Client.objects.select_related("provider").get(pk=client_id)
    wallet = lock_wallet(wallet_for_client(client=client))
    if client.status != Client.Status.ACTIVE:
        return None
    clock = inactivity_deadline(client=client, wallet=wallet)
    warned_at = wallet.inactivity_warned_at
    if clock is None or (warned_at is not None and warned_at < clock[0]):
        # Charged again (or topped up after using it all): the warning no longer stands.
        if warned_at is not None:
            Wallet.objects.filter(pk=wallet.pk).update(inactivity_warned_at=None)
            if clock is None:
                return "cleared"
            warned_at = None
        else:
            return None
    start, deadline = clock
    warn = dt.timedelta(days=client.provider.inactive_warning_days)
    if now < deadline - warn:
        return None
    if warned_at is None:
        notify(
            key=f"inactive-warning:{client.pk}:{start.isoformat()}",
            client=client,
            recipients=client_recipients(client, include_viewers=True),
            subject=lambda: (
                gettext("Your prepaid account will be deleted on %(date)s")
                % {"date": f"{max(deadline, now + warn):%Y-%m-%d}"}
            ),
            body=(
                lambda: (
                    ngettext(
                        "Your prepaid account has not been topped up within %(months)s month of "
                        "registration. It will be deleted unless credit is added before then (art. 29.7).",
                        "Your prepaid account has not been topped up within %(months)s months of "
                        "registration. It will be deleted unless credit is added before then (art. 29.7).",
                        client.provider.inactive_deletion_months,
                    )
                    % {"months": client.provider.inactive_deletion_months}
                    if wallet.last_charged_at is None
                    else ngettext(
                        "Your prepaid account has not been topped up within %(months)s month after all "
                        "credit was used. It will be deleted unless credit is added before then "
                        "(art. 29.7).",
                        "Your prepaid account has not been topped up within %(months)s months after all "
                        "credit was used. It will be deleted unless credit is added before then "
                        "(art. 29.7).",
                        client.provider.inactive_deletion_months,
                    )
                    % {"months": client.provider.inactive_deletion_months}
                )
            ),
        )
        Wallet.objects.filter(pk=wallet.pk).update(inactivity_warned_at=now)
        return "warned"
    if now >= max(deadline, warned_at + warn):
        account_services.client_delete_account(
            client=client,
            reason="Not charged within the period of art. 29.7; the account was deleted after a warning.",
            acting_user=None,
        )
        return "deleted"
    return None
