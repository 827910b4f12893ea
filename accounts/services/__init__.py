"""Every state change of accounts, one module per noun: onboarding, change_requests,
data_requests, users, agreements (with suspension), terms, deletion.

Each function runs in one transaction, checks its rule, and raises an `ApplicationError` naming
the field and the article when it refuses (a refused call changes nothing).

Inside accounts, import the noun module (`from accounts.services import agreements`). The names
below are used by the other apps and the composition root (billing, portal) as
`accounts.services.X`; they are re-exported here so those import paths keep working.
"""

from .agreements import client_resume, client_suspend
from .deletion import client_delete_account, deleted_accounts_contacts_anonymise
from .onboarding import client_approve
from .terms import terms_publish

__all__ = [
    "client_approve",
    "client_delete_account",
    "client_resume",
    "client_suspend",
    "deleted_accounts_contacts_anonymise",
    "terms_publish",
]
