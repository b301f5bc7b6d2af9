"""Every route except health, docs, OpenAPI, JWKS and the token endpoint needs a token (401)
and the route's own scope (403); each route declares exactly one scope."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute, iter_route_contexts

from tests.factories import auth_headers

PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/.well-known/jwks.json",
    "/oauth/token",
    "/credentials/verify",
    "/credentials/status/{certification_id}",
}


def _protected_routes(app):
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.path not in PUBLIC_PATHS:
            for method in sorted(route.methods):
                yield route, method


def _declared_scopes(dependant) -> set[str]:
    scopes = set(getattr(dependant, "own_oauth_scopes", None) or [])
    for sub in dependant.dependencies:
        scopes |= _declared_scopes(sub)
    return scopes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", path)


def test_every_protected_route_declares_one_scope(app):
    routes = list(_protected_routes(app))
    assert routes, "no protected routes found"
    for route, _method in routes:
        assert len(_declared_scopes(route.dependant)) == 1, route.path


def test_every_protected_route_answers_401_without_token(client, app):
    for route, method in _protected_routes(app):
        response = client.request(method, _concrete(route.path))
        assert response.status_code == 401, (method, route.path, response.text)
        # SCIM routes answer in the SCIM error format (RFC 7644 3.12).
        expected = (
            "application/scim+json"
            if route.path.startswith("/scim/")
            else "application/problem+json"
        )
        assert response.headers["content-type"] == expected
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_every_protected_route_answers_403_with_a_token_lacking_its_scope(client, app, db):
    headers = auth_headers(db, app)  # a client with no scopes at all
    for route, method in _protected_routes(app):
        response = client.request(method, _concrete(route.path), headers=headers)
        assert response.status_code == 403, (method, route.path, response.text)
        body = response.json()
        if route.path.startswith("/scim/"):
            assert body["status"] == "403"
        else:
            assert body["type"].endswith("insufficient-scope")
            assert body["required_scope"] in _declared_scopes(route.dependant)
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_public_routes_need_no_token(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
