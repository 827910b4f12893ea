"""Providers and their calendars, clients (companies), users and roles, agreements and terms.

One module per noun; everything is re-exported here, so `accounts.X` references, the app
label and the migrations do not change.
"""

from .agreements import Agreement, Suspension, TermsAcceptance, TermsVersion
from .calendar_feeds import CalendarFeed
from .clients import ChangeRequest, Client, DataRequest, DataRequestDocument, Director
from .force_majeure import ForceMajeure, ForceMajeureNotice
from .kernel import IdempotentRequest, Notification
from .providers import EInvoiceFormat, Provider, WorkdayOverride
from .users import ApiToken, Invitation, User, UserManager
from .webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "EInvoiceFormat",
    "Provider",
    "WorkdayOverride",
    "Client",
    "Director",
    "ChangeRequest",
    "DataRequest",
    "DataRequestDocument",
    "UserManager",
    "User",
    "Invitation",
    "ApiToken",
    "Notification",
    "IdempotentRequest",
    "Agreement",
    "Suspension",
    "TermsVersion",
    "TermsAcceptance",
    "ForceMajeure",
    "ForceMajeureNotice",
    "WebhookEndpoint",
    "WebhookDelivery",
    "WebhookEvent",
    "CalendarFeed",
]
