from accounts.models import Provider


def test_both_provider_profiles_are_seeded_by_migration(db):
    assert set(Provider.objects.values_list("code", flat=True)) == {"cm-cn", "cxengage-nl"}


def test_fixtures_build_a_client_with_admin(client_admin, billing_staff, as_user):
    assert client_admin.client.provider.code == "cm-cn"
    c = as_user(billing_staff)
    assert c.session["otp_device_id"]
