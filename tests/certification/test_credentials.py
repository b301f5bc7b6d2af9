"""Verifiable diplomas (issue 5, item 8): a certification as an Open Badges 3.0
OpenBadgeCredential signed as a VC-JWT, its public status, and verification that says why a
credential is not valid (signature, key, algorithm, dates, revocation, supersession)."""

from __future__ import annotations

import base64
import hmac
import json
from datetime import date, timedelta

import pytest
from jose import jwt

from app.certification.credentials import OpenBadgeCredential
from app.core.keys import SigningKey
from tests.certification.factories import evidence_body, make_person, make_role, publish_model
from tests.factories import auth_headers

OTHER_KEY = SigningKey.generate()


@pytest.fixture
def setup(client, db, app, frozen_clock):
    headers = auth_headers(db, app, "admin")
    role = make_role(db)
    publish_model(client, headers, role.key)
    assessor = make_person(db, employee_number=f"A{role.key[-6:]}")
    person = make_person(db, role=role, start=date(2026, 5, 1))
    return {
        "headers": headers,
        "person": person,
        "assessor": assessor,
        "clock": frozen_clock,
        "client": client,
        "db": db,
        "app": app,
    }


def _evidence(s, competency, *, level, form, days_ago, **extra):
    body = evidence_body(
        s["person"],
        competency,
        level=level,
        form=form,
        at=s["clock"].at - timedelta(days=days_ago),
        assessor=s["assessor"] if form != "knowledge_test" else None,
        **extra,
    )
    response = s["client"].post("/evidence", json=body, headers=s["headers"])
    assert response.status_code == 201, response.text


def _certify(s, *, knowledge_days_ago=10, practice_days_ago=2):
    """Evidence for the advanced tier; returns the held certification id."""
    _evidence(
        s,
        "ai-policy",
        level="basic",
        form="knowledge_test",
        days_ago=knowledge_days_ago,
        score_scaled=0.8,
    )
    _evidence(
        s,
        "checking-output",
        level="advanced",
        form="practical_assessment",
        days_ago=practice_days_ago,
    )
    status = s["client"].get(
        f"/people/employee:{s['person'].employee_number}/certification", headers=s["headers"]
    )
    assert status.json()["tier"] == "advanced", status.text
    return status.json()["certification_id"]


def _jwt(s, certification_id):
    response = s["client"].get(
        f"/certifications/{certification_id}/credential", headers=s["headers"]
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vc+jwt")
    return response.text


def _verify(s, token, *, envelope=True):
    body = {"credential": token} if envelope else token
    response = s["client"].post("/credentials/verify", json=body)  # public: no token
    assert response.status_code == 200, response.text
    return response.json()


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_credential_is_an_open_badge_signed_with_the_service_key(setup):
    """OB 3.0 §8.2 JWT proof: kid in the header; iss, jti, sub, nbf, exp mirror the vc."""
    s = setup
    certification_id = _certify(s)
    token = _jwt(s, certification_id)
    key = s["app"].state.signing_key
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"], header["typ"]) == ("RS256", key.kid, "JWT")
    assert header["kid"] in [
        k["kid"] for k in s["client"].get("/.well-known/jwks.json").json()["keys"]
    ]
    claims = key.decode(token, options={"verify_exp": False, "verify_nbf": False})
    vc = OpenBadgeCredential.model_validate(claims["vc"])
    assert claims["iss"] == vc.issuer.id == "http://127.0.0.1:8000"
    assert claims["jti"] == vc.id == f"urn:uuid:{certification_id}"
    assert claims["sub"] == vc.credentialSubject.id
    assert claims["nbf"] == int(vc.validFrom.timestamp())
    assert claims["exp"] == int(vc.validUntil.timestamp())
    assert vc.type == ["VerifiableCredential", "OpenBadgeCredential"]
    assert vc.issuer.type == ["Profile"] and vc.issuer.name
    achievement = vc.credentialSubject.achievement
    assert (achievement.type, achievement.name, achievement.humanCode) == (
        ["Achievement"],
        "Advanced",
        "advanced",
    )
    assert "Checking output: level Advanced or higher" in achievement.criteria.narrative
    assert [a.targetCode for a in achievement.alignment] == ["ai-policy", "checking-output"]
    assert all(a.targetType == "CFItem" for a in achievement.alignment)
    assert vc.credentialStatus.id == f"http://127.0.0.1:8000/credentials/status/{certification_id}"
    valid_until = s["client"].get(f"/certifications/{certification_id}", headers=s["headers"])
    assert vc.validUntil.date().isoformat() == valid_until.json()["valid_until"]


def test_subject_id_is_pseudonymous_and_stable(setup):
    s = setup
    certification_id = _certify(s)
    first = _jwt(s, certification_id)
    second = _jwt(s, certification_id)
    payload = json.dumps(jwt.get_unverified_claims(first))
    person = s["person"]
    for personal in (person.employee_number, person.email, str(person.id), person.family_name):
        assert personal not in payload
    subject = jwt.get_unverified_claims(first)["sub"]
    assert subject.startswith("urn:uuid:")
    assert jwt.get_unverified_claims(second)["sub"] == subject


def test_json_variant_validates_against_the_ob3_model(setup):
    s = setup
    certification_id = _certify(s)
    response = s["client"].get(
        f"/certifications/{certification_id}/credential",
        headers={**s["headers"], "Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    credential = OpenBadgeCredential.model_validate(body)
    assert credential.credentialSubject.achievement.criteria.narrative


def test_ob3_model_rejects_missing_required_members():
    good = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "urn:uuid:1",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "x",
        "issuer": {"id": "https://example.org", "type": "Profile"},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "type": "AchievementSubject",
            "achievement": {
                "id": "urn:uuid:2",
                "type": "Achievement",
                "name": "n",
                "description": "d",
                "criteria": {"narrative": "c"},
            },
        },
    }
    OpenBadgeCredential.model_validate(good)
    for broken in (
        {**good, "type": ["VerifiableCredential"]},
        {**good, "validFrom": "2026-01-01T00:00:00"},  # DateTimeZ needs a zone
        {k: v for k, v in good.items() if k != "issuer"},
        {**good, "credentialSubject": {"type": "AchievementSubject"}},
    ):
        with pytest.raises(ValueError):
            OpenBadgeCredential.model_validate(broken)


def test_verify_valid_credential(setup):
    s = setup
    token = _jwt(s, _certify(s))
    result = _verify(s, token)
    assert result["valid"] is True, result
    assert result["reasons"] == []
    assert {c["check"] for c in result["checks"]} >= {"signature", "dates", "status"}
    assert all(c["passed"] for c in result["checks"])
    assert result["credential"]["credentialSubject"]["achievement"]["humanCode"] == "advanced"
    assert _verify(s, token, envelope=False)["valid"] is True, "a bare JSON string works too"


def test_verify_tampered_payload_is_invalid(setup):
    s = setup
    token = _jwt(s, _certify(s))
    header, payload, signature = token.split(".")
    claims = jwt.get_unverified_claims(token)
    claims["vc"]["credentialSubject"]["achievement"]["name"] = "Expert"
    result = _verify(s, f"{header}.{_b64(claims)}.{signature}")
    assert result["valid"] is False
    assert result["reasons"] == ["tampered"]
    assert result["credential"] is None


def test_verify_token_signed_by_another_key_is_invalid(setup):
    s = setup
    claims = jwt.get_unverified_claims(_jwt(s, _certify(s)))
    forged = OTHER_KEY.sign(claims, headers={"typ": "JWT"})
    result = _verify(s, forged)
    assert (result["valid"], result["reasons"]) == (False, ["wrong_key"])
    # The other key naming our kid does not help: the signature then fails.
    forged_kid = OTHER_KEY.sign(claims, headers={"kid": s["app"].state.signing_key.kid})
    assert _verify(s, forged_kid)["reasons"] == ["tampered"]


def test_verify_refuses_other_algorithms_and_garbage(setup):
    s = setup
    claims = jwt.get_unverified_claims(_jwt(s, _certify(s)))
    kid = s["app"].state.signing_key.kid
    unsigned = f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(claims)}."
    assert _verify(s, unsigned)["reasons"] == ["algorithm_not_allowed"]
    # The classic confusion attack: HS256 with the public key as the shared secret.
    signing_input = f"{_b64({'alg': 'HS256', 'kid': kid})}.{_b64(claims)}"
    mac = hmac.new(s["app"].state.signing_key.public_pem, signing_input.encode(), "sha256")
    hs256 = f"{signing_input}.{base64.urlsafe_b64encode(mac.digest()).decode().rstrip('=')}"
    assert _verify(s, hs256)["reasons"] == ["algorithm_not_allowed"]
    assert _verify(s, "not-a-jwt")["reasons"] == ["malformed"]
    bad = s["client"].post("/credentials/verify", json={"credential": "x", "extra": 1})
    assert bad.status_code == 422
    assert s["client"].post("/credentials/verify", json={"credential": ""}).status_code == 422


def test_verify_expired_with_frozen_clock_past_valid_until(setup):
    s = setup
    token = _jwt(s, _certify(s))
    valid_until = jwt.get_unverified_claims(token)["vc"]["validUntil"]
    s["clock"].set(s["clock"].at.replace(year=s["clock"].at.year + 3))
    assert s["clock"].at.isoformat() > valid_until
    result = _verify(s, token)
    assert (result["valid"], result["reasons"]) == (False, ["expired"])


def test_revocation_shows_up_at_once(setup):
    s = setup
    certification_id = _certify(s)
    token = _jwt(s, certification_id)
    status_url = f"/credentials/status/{certification_id}"
    before = s["client"].get(status_url)  # public: no token
    assert before.status_code == 200
    assert (before.json()["state"], before.json()["revokedCredentials"]) == ("active", [])
    revoked = s["client"].post(
        f"/certifications/{certification_id}/revoke",
        json={"reason": "exam fraud"},
        headers=s["headers"],
    )
    assert revoked.status_code == 200, revoked.text
    result = _verify(s, token)
    assert (result["valid"], result["reasons"]) == (False, ["revoked"])
    after = s["client"].get(status_url).json()
    assert after["state"] == "revoked"
    assert after["revokedCredentials"] == [{"id": f"urn:uuid:{certification_id}"}]
    assert "fraud" not in json.dumps(after), "the status reveals the state, not the reason"


def test_suspension_then_reinstatement(setup):
    s = setup
    certification_id = _certify(s)
    token = _jwt(s, certification_id)
    base = f"/certifications/{certification_id}"
    s["client"].post(f"{base}/suspend", json={"reason": "investigation"}, headers=s["headers"])
    assert _verify(s, token)["reasons"] == ["suspended"]
    s["client"].post(f"{base}/reinstate", json={"reason": "cleared"}, headers=s["headers"])
    assert _verify(s, token)["valid"] is True


def test_renewal_issues_a_new_credential_and_the_old_one_is_superseded(setup):
    s = setup
    old_id = _certify(s)
    old_token = _jwt(s, old_id)
    old_until = date.fromisoformat(
        s["client"].get(f"/certifications/{old_id}", headers=s["headers"]).json()["valid_until"]
    )
    # Into the recertification window (90 days before valid_until), then renew.
    s["clock"].set(s["clock"].at + timedelta(days=(old_until - s["clock"].at.date()).days - 30))
    s["headers"] = auth_headers(s["db"], s["app"], "admin")
    new_id = _certify(s, knowledge_days_ago=5, practice_days_ago=1)
    assert new_id != old_id
    new_token = _jwt(s, new_id)
    old = _verify(s, old_token)
    assert (old["valid"], old["reasons"]) == (False, ["superseded"])
    assert old["superseded_by"] == f"urn:uuid:{new_id}"
    assert old["credential"]["id"] == f"urn:uuid:{old_id}", "the old one stays verifiable"
    assert _verify(s, new_token)["valid"] is True
    assert s["client"].get(f"/credentials/status/{old_id}").json()["state"] == "superseded"
    old_sub = jwt.get_unverified_claims(old_token)["sub"]
    assert jwt.get_unverified_claims(new_token)["sub"] == old_sub, "same pseudonym"


def test_unknown_credential_and_status(setup):
    s = setup
    token = _jwt(s, _certify(s))
    claims = jwt.get_unverified_claims(token)
    unknown = "urn:uuid:00000000-0000-4000-8000-000000000000"
    claims["jti"] = claims["vc"]["id"] = unknown
    result = _verify(s, s["app"].state.signing_key.sign(claims, headers={"typ": "JWT"}))
    assert (result["valid"], result["reasons"]) == (False, ["unknown"])
    missing = s["client"].get("/credentials/status/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert s["client"].get("/credentials/status/not-a-uuid").status_code == 422


def test_get_credential_needs_a_token_and_scope(setup):
    s = setup
    certification_id = _certify(s)
    url = f"/certifications/{certification_id}/credential"
    assert s["client"].get(url).status_code == 401
    reader = auth_headers(s["db"], s["app"], "certifications:read")
    assert s["client"].get(url, headers=reader).status_code == 200
    unknown = "/certifications/00000000-0000-4000-8000-000000000000/credential"
    assert s["client"].get(unknown, headers=reader).status_code == 404


def test_alternative_award_is_marked_in_the_credential(setup):
    s = setup
    limit = s["clock"].at.date() + timedelta(days=200)
    response = s["client"].post(
        f"/people/{s['person'].id}/certifications",
        json={
            "tier": "advanced",
            "document_ref": "EXT-CERT-2026-77",
            "reason": "External AI governance certificate",
            "valid_until": str(limit),
        },
        headers=s["headers"],
    )
    assert response.status_code == 201, response.text
    token = _jwt(s, response.json()["id"])
    vc = jwt.get_unverified_claims(token)["vc"]
    assert vc["evidence"][0]["name"] == "Alternative evidence"
    assert "alternative evidence" in vc["credentialSubject"]["achievement"]["criteria"]["narrative"]
    assert "EXT-CERT-2026-77" not in token and "EXT-CERT" not in json.dumps(vc)
    assert vc["validUntil"] == f"{limit.isoformat()}T23:59:59Z"
    assert _verify(s, token)["valid"] is True
