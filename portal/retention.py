"""The retention job composed across apps (art. 23): dataprocessing owns the periods, each app
anonymises what it holds. Billing and dataprocessing never import each other, so this lives in
the composition root."""

from accounts.models import Provider
from accounts.services import deleted_accounts_contacts_anonymise
from billing.prepaid.services.retention import usage_recipients_anonymise
from dataprocessing.models import RetentionPolicy
from dataprocessing.services.retention import retention_cutoff


def retention_anonymise(*, now=None) -> dict:
    """Anonymise every category of personal data past its provider's retention period."""
    summary = {"usage_recipients": 0, "deleted_account_contacts": 0}
    for provider in Provider.objects.order_by("pk"):
        cutoff = retention_cutoff(
            provider=provider, category=RetentionPolicy.Category.USAGE_RECIPIENTS, now=now
        )
        if cutoff is not None:
            summary["usage_recipients"] += usage_recipients_anonymise(
                provider=provider, before=cutoff
            )
        cutoff = retention_cutoff(
            provider=provider, category=RetentionPolicy.Category.DELETED_ACCOUNT_CONTACTS, now=now
        )
        if cutoff is not None:
            counts = deleted_accounts_contacts_anonymise(provider=provider, before=cutoff)
            summary["deleted_account_contacts"] += sum(counts.values())
    # DSR subject references are dataprocessing's own job (dsr_references_anonymise).
    return summary
