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
    """The language of a client's documents (invoice PDFs, records) and of mail to its billing
    address: the client's own choice among its provider's languages, else the provider's
    default."""
    if client.language and client.language in client.provider.languages:
        return client.language
    return provider_language(client.provider)


def document_languages(client: Client) -> list[str]:
    """The languages a client's invoice or credit note is headed in: the client's first, then
    the other languages its provider's terms are made in (art. 18.6: cm-cn's Chinese clients get
    "发票 Invoice", as Chinese commercial invoices are commonly bilingual); one language when
    the terms name one or none (cxengage-nl)."""
    first = client_language(client)
    others = [code for code in client.provider.terms_languages if code in LANGUAGE_NAMES]
    return [first, *[code for code in others if code != first]] if len(others) > 1 else [first]


def email_language(
    email: str, *, client: Client | None = None, provider: Provider | None = None
) -> str:
    """The language an email to `email` goes out in: the recipient's, not the sender's.

    A user's own language (a client's user without a choice: the provider's default); the
    client's billing address: the client's language; any other address of a notice about
    `client` or `provider` (a staff team mailbox, `Provider.staff_email`): the provider
    profile's default; else the portal's default (settings.LANGUAGE_CODE).
    """
    if provider is None and client is not None:
        provider = client.provider
    user = (
        User.objects.filter(email__iexact=email, is_active=True)
        .select_related("client__provider")
        .first()
    )
    if user is not None:
        chosen = user_language(user)
        if chosen:
            return chosen
        return provider_language(provider) if provider is not None else settings.LANGUAGE_CODE
    if client is not None and client.billing_email.lower() == email.lower():
        return client_language(client)
    billed = Client.objects.filter(billing_email__iexact=email).select_related("provider")
    if provider is not None:
        billed = billed.filter(provider=provider)
    found = billed.first()
    if found is not None:
        return client_language(found)
    if provider is not None:
        return provider_language(provider)
    return settings.LANGUAGE_CODE
