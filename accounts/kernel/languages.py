"""Which language a person reads the portal, its emails and PDFs in.

English, Simplified Chinese and Dutch (settings.LANGUAGES). A provider profile offers some of
them to its clients and names their default (cm-cn: 简体中文 with English; cxengage-nl: English
with Dutch). A user's own choice wins; without one a client's user reads the provider's
default, and staff (and anyone before sign-in) what the browser asks for.
"""

from django.conf import settings

from accounts.models import Client, Provider, User

ALL_LANGUAGES = [code for code, _ in settings.LANGUAGES]
LANGUAGE_NAMES = dict(settings.LANGUAGES)
# The session remembers the resolved choice, so a page costs no query to find it.
SESSION_KEY = "portal_language"


def offered_languages(user: User) -> list[str]:
    """The languages `user` may choose: their provider's for a client's user, all for staff."""
    if user.client is not None:
        provider = user.client.provider
        return [code for code in provider.languages if code in LANGUAGE_NAMES] or ["en"]
    return ALL_LANGUAGES


def provider_language(provider: Provider) -> str:
    return provider.default_language if provider.default_language in LANGUAGE_NAMES else "en"


def user_language(user: User) -> str | None:
    """The user's language; None leaves the choice to the browser (staff without a choice)."""
    if user.language and user.language in offered_languages(user):
        return user.language
    if user.client is not None:
        return provider_language(user.client.provider)
    return None


def client_language(client: Client) -> str:
    """The language of a client's documents (invoice PDFs, records): its provider's default."""
    return provider_language(client.provider)


def email_language(email: str) -> str:
    """The language an email to `email` goes out in: the recipient's, not the sender's."""
    user = (
        User.objects.filter(email__iexact=email, is_active=True)
        .select_related("client__provider")
        .first()
    )
    if user is not None:
        return user_language(user) or settings.LANGUAGE_CODE
    client = Client.objects.filter(billing_email__iexact=email).select_related("provider").first()
    if client is not None:
        return client_language(client)
    return settings.LANGUAGE_CODE
