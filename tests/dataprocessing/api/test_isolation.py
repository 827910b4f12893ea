"""The data-processing API (issue 5, section 8): tenant isolation on every route that takes an id."""

import pytest

pytestmark = pytest.mark.django_db


def _id_routes():
    from dataprocessing.api.urls import urlpatterns

    for pattern in urlpatterns:
        route = str(pattern.pattern)
        if "<int:pk>" in route:
            yield route


@pytest.mark.parametrize("route", list(_id_routes()))
def test_every_data_processing_route_answers_404_for_another_clients_object(
    api, client_admin, theirs, route
):
    """Another client's (or provider's) id answers exactly like an id that does not exist."""
    resource = route.split("/")[0]
    their_url = "/api/v1/" + route.replace("<int:pk>", str(theirs[resource]))
    missing = "/api/v1/" + route.replace("<int:pk>", "987654321")
    c = api(client_admin)

    for method in ("get", "post", "patch", "put", "delete"):
        response = getattr(c, method)(their_url, {}, format="json")
        assert response.status_code in (403, 404, 405), (method, their_url, response.status_code)
        assert response.status_code == getattr(c, method)(missing, {}, format="json").status_code, (
            method,
            their_url,
        )
        assert "theirs" not in response.content.decode()
    if route.count("/") == 2 and resource not in ("breaches", "sub-processor-objections"):
        assert c.get(their_url).status_code == 404


def test_the_isolation_walk_uses_objects_that_exist(api, compliance_officer, theirs):
    c = api(compliance_officer)
    for resource, pk in theirs.items():
        if resource in ("sub-processor-objections", "client"):
            continue
        assert c.get(f"/api/v1/{resource}/{pk}/").status_code == 200, resource
