"""The portal's languages: who reads which (provider default, user's choice, browser) and the
terms in Chinese and English with the English prevailing (art. 18.6)."""

import pytest
from django.urls import reverse

from accounts.kernel.errors import ValidationFailed
from accounts.kernel.languages import email_language, offered_languages, user_language
from accounts.models import TermsAcceptance, TermsVersion
from accounts.services import terms, users
from tests.accounts.factories import BOTH_TEXTS, ClientAdminFactory, ClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_admin(client_admin):
    """A cm-cn client admin who has not chosen a language (the factories' users read English)."""
    client_admin.language = ""
    client_admin.save(update_fields=["language"])
    return client_admin


def _lang(response) -> str:
    return response.headers["Content-Language"]


# --- Choosing the language ------------------------------------------------------------------
def test_the_provider_profiles_name_their_clients_languages(cm, cx):
    assert (cm.default_language, cm.languages) == ("zh-hans", ["zh-hans", "en"])
    assert (cx.default_language, cx.languages) == ("en", ["en", "nl"])
    assert cm.terms_languages == ["en", "zh-hans"]
    assert cx.terms_languages == []


def test_before_sign_in_the_browser_decides(client):
    for asked, served in (("zh-CN,zh;q=0.9", "zh-hans"), ("nl-NL", "nl"), ("en-GB", "en")):
        page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=asked)
        assert _lang(page) == served
        assert f'<html lang="{served}">' in page.content.decode()


def test_the_sign_in_page_offers_every_language_and_remembers_the_choice(client):
    page = client.get(reverse("login"))
    assert 'data-testid="language-picker"' in page.content.decode()
    client.post(reverse("set_language"), {"language": "nl", "next": "/accounts/login/"})
    assert _lang(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")) == "nl"


def test_a_cm_client_user_without_a_choice_reads_chinese_whatever_the_browser(
    as_user, client_admin
):
    c = as_user(client_admin)
    assert _lang(c.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")) == "zh-hans"


def test_a_cx_client_user_reads_english_and_may_choose_dutch(as_user, cx):
    admin = ClientAdminFactory(client=ClientFactory(provider=cx), language="")
    c = as_user(admin)
    assert _lang(c.get(reverse("dashboard"))) == "en"
    response = c.post(reverse("profile"), {"language": "nl"})
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.language == "nl"
    assert _lang(c.get(reverse("dashboard"))) == "nl"


def test_a_language_the_provider_does_not_offer_is_refused_naming_the_field(client_admin):
    with pytest.raises(ValidationFailed) as refused:
        users.user_set_language(user=client_admin, language="nl", acting_user=client_admin)
    assert "language" in refused.value.errors
    client_admin.refresh_from_db()
    assert client_admin.language == ""


def test_the_profile_page_offers_only_the_providers_languages(as_user, client_admin):
    page = as_user(client_admin).get(reverse("profile"))
    choices = [code for code, _ in page.context["form"].fields["language"].choices]
    assert choices == ["", "zh-hans", "en"]
    refused = as_user(client_admin).post(reverse("profile"), {"language": "nl"})
    assert refused.status_code == 200
    client_admin.refresh_from_db()
    assert client_admin.language == ""


def test_nobody_chooses_anothers_language(client_admin, other_admin):
    from accounts.kernel.errors import NotAllowed

    with pytest.raises(NotAllowed):
        users.user_set_language(user=client_admin, language="en", acting_user=other_admin)


def test_staff_without_a_choice_read_what_their_browser_asks(as_user, billing_staff):
    billing_staff.language = ""
    billing_staff.save()
    assert offered_languages(billing_staff) == ["en", "zh-hans", "nl"]
    assert user_language(billing_staff) is None
    c = as_user(billing_staff)
    assert _lang(c.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="nl")) == "nl"


def test_a_language_chosen_on_the_sign_in_page_becomes_the_users(client, client_admin):
    client_admin.set_password("pw-Secret-2026!")
    client_admin.save()
    response = client.post(
        reverse("login"),
        {"email": client_admin.email, "password": "pw-Secret-2026!", "language": "en"},
    )
    assert response.status_code == 302
    client_admin.refresh_from_db()
    assert client_admin.language == "en"
    assert _lang(client.get(reverse("dashboard"))) == "en"


def test_signing_in_without_a_choice_keeps_the_users_setting(client, client_admin):
    client_admin.set_password("pw-Secret-2026!")
    client_admin.language = "en"
    client_admin.save()
    client.post(reverse("login"), {"email": client_admin.email, "password": "pw-Secret-2026!"})
    client_admin.refresh_from_db()
    assert client_admin.language == "en"


def test_emails_go_out_in_the_recipients_language(client_admin, billing_staff):
    assert email_language(client_admin.email) == "zh-hans"
    client_admin.language = "en"
    client_admin.save()
    assert email_language(client_admin.email) == "en"
    billing_staff.language = "nl"
    billing_staff.save()
    assert email_language(billing_staff.email) == "nl"
    assert email_language("nobody@example.test") == "en"


# --- Terms in both languages (art. 18.6) ----------------------------------------------------
def test_a_cm_version_without_the_chinese_text_is_refused_and_nothing_is_published(
    cm, billing_staff, client_company
):
    before = TermsVersion.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        terms.terms_publish(
            provider=cm,
            version="2027.9",
            summary="x",
            texts={"en": "The terms."},
            acting_user=billing_staff,
        )
    assert list(refused.value.errors) == ["text_zh_hans"]
    assert "18.6" in refused.value.errors["text_zh_hans"][0]
    assert TermsVersion.objects.count() == before
    assert not TermsAcceptance.objects.filter(terms__version="2027.9").exists()


def test_blank_texts_count_as_missing(cm, billing_staff):
    with pytest.raises(ValidationFailed) as refused:
        terms.terms_publish(
            provider=cm,
            version="2027.9",
            summary="x",
            texts={"en": "  ", "zh-hans": ""},
            acting_user=billing_staff,
        )
    assert set(refused.value.errors) == {"text_en", "text_zh_hans"}


def test_a_cx_version_needs_no_second_language(cx, billing_staff):
    version = terms.terms_publish(
        provider=cx, version="2027.9", summary="x", acting_user=billing_staff
    )
    assert version.texts == {}


def test_the_publish_page_names_the_missing_language(as_user, billing_staff, cm):
    page = as_user(billing_staff).post(
        reverse("terms_publish"),
        {"provider": cm.pk, "version": "2027.9", "summary": "x", "text_en": "The terms."},
    )
    assert page.status_code == 200
    assert page.context["form"].errors["text_zh_hans"]
    assert not TermsVersion.objects.filter(version="2027.9").exists()


def test_the_api_refuses_a_cm_version_without_chinese(api, billing_staff):
    response = api(billing_staff).post(
        "/api/v1/terms-versions/",
        {"provider": "cm-cn", "version": "2027.9", "summary": "x", "texts": {"en": "T"}},
        format="json",
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["text_zh_hans"]


def _published(cm, billing_staff):
    return terms.terms_publish(
        provider=cm, version="2027.5", summary="x", texts=BOTH_TEXTS, acting_user=billing_staff
    )


def test_a_client_reads_the_terms_in_its_language_with_the_english_prevailing(
    as_user, cm, billing_staff, client_admin
):
    version = _published(cm, billing_staff)
    c = as_user(client_admin)
    page = c.get(reverse("terms_read", args=[version.pk])).content.decode()
    assert BOTH_TEXTS["zh-hans"] in page
    assert BOTH_TEXTS["en"] not in page
    assert 'data-testid="english-prevails"' in page
    acceptance = TermsAcceptance.objects.get(terms=version, client=client_admin.client)
    assert acceptance.languages_shown == ["zh-hans"]

    english = c.get(reverse("terms_read", args=[version.pk]), {"lang": "en"}).content.decode()
    assert BOTH_TEXTS["en"] in english
    acceptance.refresh_from_db()
    assert acceptance.languages_shown == ["zh-hans", "en"]


def test_the_acceptance_record_says_which_versions_were_shown(
    api, as_user, cm, billing_staff, client_admin
):
    version = _published(cm, billing_staff)
    as_user(client_admin).get(reverse("terms_read", args=[version.pk]))
    acceptance = TermsAcceptance.objects.get(terms=version, client=client_admin.client)
    terms.terms_accept(acceptance=acceptance, acting_user=client_admin)
    rows = api(client_admin).get("/api/v1/terms-acceptances/").json()["results"]
    row = next(r for r in rows if r["id"] == acceptance.pk)
    assert row["languages_shown"] == ["zh-hans"]
    assert row["terms"]["texts"] == BOTH_TEXTS


def test_a_language_without_a_text_falls_back_to_english(as_user, cx, billing_staff):
    version = terms.terms_publish(
        provider=cx,
        version="2027.5",
        summary="x",
        texts={"en": "Dutch clients read this."},
        acting_user=billing_staff,
    )
    admin = ClientAdminFactory(client=ClientFactory(provider=cx), language="nl")
    page = as_user(admin).get(reverse("terms_read", args=[version.pk])).content.decode()
    assert "Dutch clients read this." in page


def test_another_providers_client_cannot_read_the_terms(as_user, cm, cx, billing_staff):
    version = _published(cm, billing_staff)
    outsider = ClientAdminFactory(client=ClientFactory(provider=cx))
    assert as_user(outsider).get(reverse("terms_read", args=[version.pk])).status_code == 404


def test_the_dashboard_banner_links_to_the_text(as_user, cm, billing_staff, client_admin):
    from tests.accounts.factories import AgreementFactory  # noqa: F401  (client has one)

    version = _published(cm, billing_staff)
    page = as_user(client_admin).get(reverse("dashboard")).content.decode()
    assert reverse("terms_read", args=[version.pk]) in page


# --- The language one registers in ---------------------------------------------------------
def test_the_language_of_the_sign_up_becomes_the_users_where_offered(cx):
    from tests.accounts.services.test_onboarding import nl_company, sign_up

    dutch = sign_up(cx, nl_company(900_101), email="nl@example.test", language="nl")
    assert dutch.language == "nl"
    # CXENGAGE offers no Chinese: the user reads the provider's default
    other = sign_up(
        cx,
        nl_company(900_102, legal_name="Ander B.V."),
        email="zh@example.test",
        language="zh-hans",
    )
    assert other.language == ""
    assert user_language(other) == "en"
