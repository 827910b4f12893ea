"""factory_boy factories for accounts; other apps' factories build on these."""

import itertools

import factory
from django.utils import timezone
from stdnum.cn import uscc

from accounts.models import Agreement, Client, Director, Provider, User

_seq = itertools.count(1)


def make_uscc(n: int) -> str:
    """A valid Unified Social Credit Code, distinct for each n."""
    body = f"91440300{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


def make_kvk(n: int) -> str:
    return f"{10000000 + n:08d}"


def provider(code: str = "cm-cn") -> Provider:
    return Provider.objects.get(code=code)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    provider = factory.LazyFunction(lambda: Provider.objects.get(code="cm-cn"))
    legal_name = factory.Sequence(lambda n: f"Client Company {n} Ltd")
    address = factory.Sequence(lambda n: f"{n} Example Road, Shenzhen")
    country = factory.LazyAttribute(lambda o: o.provider.country)
    registration_number = factory.LazyAttribute(
        lambda o: make_uscc(next(_seq)) if o.country == "CN" else make_kvk(next(_seq))
    )
    registration_number_normalised = factory.LazyAttribute(lambda o: o.registration_number.upper())
    vat_number = factory.LazyAttribute(lambda o: o.registration_number if o.country == "CN" else "")
    billing_email = factory.Sequence(lambda n: f"billing{n}@client.example")
    # The suite reads documents and the billing address's mail in English, as its users do;
    # tests of the client's language set it ("" is the provider's default).
    language = "en"
    billing_mode = Client.BillingMode.POSTPAID
    status = Client.Status.ACTIVE
    approved_at = factory.LazyFunction(timezone.now)


class DirectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Director

    client = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"Director {n}")
    title = "Managing Director"


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agreement

    client = factory.SubFactory(ClientFactory)
    start_date = factory.LazyFunction(lambda: timezone.localdate())
    initial_term_months = 12
    renewal_term_months = 12
    notice_period_months = 3
    current_term_end = factory.LazyAttribute(
        lambda o: o.start_date.replace(year=o.start_date.year + 1) - timezone.timedelta(days=1)
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"User {n}")
    role = User.Role.CLIENT_ADMIN
    client = factory.SubFactory(ClientFactory)
    # The suite reads the pages in English; tests of the language choice clear it ("" is the
    # provider's default, e.g. 简体中文 for cm-cn's clients).
    language = "en"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClientAdminFactory(UserFactory):
    role = User.Role.CLIENT_ADMIN


class ClientViewerFactory(UserFactory):
    role = User.Role.CLIENT_VIEWER


class StaffFactory(UserFactory):
    """Staff serve providers (art. 11.1, 21.4): by default both seeded ones, so a test about one
    rule needs no set-up; `providers=[cm]` makes staff of one provider only."""

    client = None

    @factory.post_generation
    def providers(self, create, extracted, **kwargs):
        if not create:
            return
        self.providers.set(Provider.objects.all() if extracted is None else extracted)
        self.__dict__.pop("staff_provider_ids", None)


class BillingStaffFactory(StaffFactory):
    role = User.Role.BILLING_STAFF


class ComplianceOfficerFactory(StaffFactory):
    role = User.Role.COMPLIANCE_OFFICER


class PlatformUserFactory(UserFactory):
    role = User.Role.PLATFORM
    client = None


# art. 18.6: a cm-cn terms version is published in English and Chinese
BOTH_TEXTS = {"en": "These are the terms.", "zh-hans": "这是条款。"}
