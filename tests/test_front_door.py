"""``/``: a small page for people, JSON for API clients, both linking docs, schema, admin and health."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

LINKED = ("/api/docs/", "/api/schema/", "/admin/", "/healthz", "/readyz")


def test_it_answers_a_small_page_linking_docs_schema_admin_and_health(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for path in LINKED:
        assert f'href="http://testserver{path}"' in page
    assert "URLconf" not in page and "urlpatterns" not in page  # not Django's debug 404


def test_an_api_client_asking_for_json_gets_the_links_as_json(client):
    response = client.get("/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    links = response.json()["links"]
    assert {key: value.removeprefix("http://testserver") for key, value in links.items()} == {
        "docs": "/api/docs/",
        "schema": "/api/schema/",
        "admin": "/admin/",
        "health": "/healthz",
        "ready": "/readyz",
    }


def test_every_link_answers(client):
    for path in LINKED:
        assert client.get(path).status_code in (200, 302), path  # the admin redirects to its login


def test_it_only_reads(client):
    assert client.post("/").status_code == 405
