"""Verifiable diplomas: a certification as an Open Badges 3.0 OpenBadgeCredential, signed as a
VC-JWT with the service key, and the verification of such a JWT against the database *now*.

The credential is derived from the certification row and the model version it was awarded
on, so nothing is stored: the signature carries the content, the database the current state
(revoked, suspended, superseded), so a revocation shows up in verification at once.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from jose import jwt
from jose.exceptions import JOSEError
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from sqlmodel import Session, select

from app.certification.models import Certification, CertificationKind, CertificationState
from app.competencies import case
from app.competencies import service as competency_service
from app.competencies.models import CompetencyModel, CompetencyModelVersion
from app.competencies.schemas import TierContent, VersionContent
from app.core.errors import NotFound
from app.core.keys import ALGORITHM, SigningKey

VC_JWT_MEDIA_TYPE = "application/vc+jwt"
# VCDM 2.0 §4.3 (the base context comes first) and the Open Badges 3.0 context.
CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
# OB 3.0 names the 1EdTech Revocation List as its status method; our status URL answers with
# its members (`id`, `issuer`, `revokedCredentials`) for one credential.
STATUS_TYPE = "1EdTechRevocationList"
# Which states end a credential for good (listed as revoked in the status document).
REVOKED_STATES = {CertificationState.revoked, CertificationState.withdrawn}


# --- the OB 3.0 data model (required members and their types) ---------------------------------


def _includes(*required: str) -> Callable[[list[str]], list[str]]:
    def check(value: list[str]) -> list[str]:
        missing = [t for t in required if t not in value]
        if missing:
            raise ValueError(f"type must include {', '.join(missing)}")
        return value

    return check


AlignmentType = Annotated[list[str], Field(min_length=1), AfterValidator(_includes("Alignment"))]
AchievementType = Annotated[
    list[str], Field(min_length=1), AfterValidator(_includes("Achievement"))
]
ProfileType = Annotated[list[str], Field(min_length=1), AfterValidator(_includes("Profile"))]
SubjectType = Annotated[
    list[str], Field(min_length=1), AfterValidator(_includes("AchievementSubject"))
]
EvidenceType = Annotated[list[str], Field(min_length=1), AfterValidator(_includes("Evidence"))]
CredentialType = Annotated[
    list[str],
    Field(min_length=1),
    AfterValidator(_includes("VerifiableCredential", "OpenBadgeCredential")),
]


def _one_or_many(value: Any) -> Any:
    # OB 3.0: `type` is an unordered set given as one IRI or an array of IRIs.
    return [value] if isinstance(value, str) else value


class _OBModel(BaseModel):
    # Extension properties are allowed by OB 3.0 (additionalProperties: true).
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _type_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" in data:
            return {**data, "type": _one_or_many(data["type"])}
        return data


class Criteria(_OBModel):
    """OB 3.0 Criteria: what is needed to earn the achievement (id or narrative)."""

    id: str | None = None
    narrative: str | None = None


class Alignment(_OBModel):
    """OB 3.0 Alignment: a node in a framework (here a competency of the model)."""

    type: AlignmentType
    targetName: str
    targetUrl: str
    targetCode: str | None = None
    targetDescription: str | None = None
    targetFramework: str | None = None
    targetType: str | None = None


class Achievement(_OBModel):
    """OB 3.0 Achievement: the tier of the diploma."""

    id: str
    type: AchievementType
    name: str
    description: str
    criteria: Criteria
    alignment: list[Alignment] = Field(default_factory=list)
    achievementType: str | None = None
    humanCode: str | None = None
    version: str | None = None


class Profile(_OBModel):
    """OB 3.0 Profile of the issuer."""

    id: str
    type: ProfileType
    name: str | None = None
    url: str | None = None


class AchievementSubject(BaseModel):
    """OB 3.0 AchievementSubject (no extension properties allowed)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    type: SubjectType
    achievement: Achievement

    @model_validator(mode="before")
    @classmethod
    def _type_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" in data:
            return {**data, "type": _one_or_many(data["type"])}
        return data


class Evidence(_OBModel):
    type: EvidenceType
    name: str | None = None
    description: str | None = None
    narrative: str | None = None


class CredentialStatus(BaseModel):
    """VCDM 2.0 credentialStatus: where to ask about revocation."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str


class OpenBadgeCredential(_OBModel):
    """OB 3.0 OpenBadgeCredential (AchievementCredential) on the W3C VC Data Model 2.0."""

    context: list[str | dict[str, Any]] = Field(alias="@context", min_length=2)
    id: str
    type: CredentialType
    name: str
    description: str | None = None
    issuer: Profile
    validFrom: AwareDatetime
    validUntil: AwareDatetime | None = None
    awardedDate: AwareDatetime | None = None
    credentialSubject: AchievementSubject
    credentialStatus: CredentialStatus | None = None
    evidence: list[Evidence] = Field(default_factory=list)

    @model_validator(mode="after")
    def _contexts_in_order(self) -> OpenBadgeCredential:
        # VCDM 2.0 §4.3: the first context is the VC v2 context; OB 3.0 adds its own.
        if self.context[0] != CONTEXTS[0]:
            raise ValueError(f"the first @context must be {CONTEXTS[0]}")
        if not any(isinstance(c, str) and "/spec/ob/v3p0/context" in c for c in self.context):
            raise ValueError("@context must include the Open Badges 3.0 context")
        return self


class CredentialStatusDocument(BaseModel):
    """The state of one credential, public: no person data, no reasons."""

    id: str = Field(description="This status URL")
    issuer: str
    credential: str = Field(description="The credential id (jti)")
    state: Literal["active", "superseded", "suspended", "revoked", "withdrawn"]
    revokedCredentials: list[dict[str, str]] = Field(
        description="1EdTech Revocation List members: this credential when revoked or withdrawn"
    )


class VerifyCheck(BaseModel):
    check: Literal["format", "algorithm", "key", "signature", "claims", "dates", "status"]
    passed: bool
    detail: str


Reason = Literal[
    "malformed",
    "algorithm_not_allowed",
    "wrong_key",
    "tampered",
    "claims_mismatch",
    "not_yet_valid",
    "expired",
    "unknown",
    "revoked",
    "suspended",
    "superseded",
    "withdrawn",
]


class VerificationResult(BaseModel):
    valid: bool
    checks: list[VerifyCheck]
    reasons: list[Reason] = Field(description="Why the credential is not valid; empty if it is")
    credential: OpenBadgeCredential | None = Field(
        default=None, description="The signed credential, only when its signature verified"
    )
    superseded_by: str | None = Field(
        default=None, description="The credential that continues a superseded one"
    )
    checked_at: datetime


# --- building -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerConfig:
    """What the issuer side needs from the settings."""

    public_base_url: str
    organisation_name: str

    @property
    def base(self) -> str:
        return self.public_base_url.rstrip("/")

    @property
    def issuer_id(self) -> str:
        return self.base

    def status_url(self, certification_id: uuid.UUID) -> str:
        return f"{self.base}/credentials/status/{certification_id}"


def credential_id(certification_id: uuid.UUID) -> str:
    return f"urn:uuid:{certification_id}"


def certification_id_of(credential: str) -> uuid.UUID | None:
    if not credential.startswith("urn:uuid:"):
        return None
    try:
        return uuid.UUID(credential.removeprefix("urn:uuid:"))
    except ValueError:
        return None


def subject_id(person_id: uuid.UUID, *, key: SigningKey) -> str:
    """A pseudonymous, stable id per person: an HMAC of the internal id under a secret derived
    from the service's private key, so no verifier can link it to an employee number, an
    e-mail address or the person's internal id."""
    secret = hashlib.sha256(b"aidiploma credential subject\x00" + key.private_pem).digest()
    digest = hmac.new(secret, person_id.bytes, hashlib.sha256).digest()
    return f"urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}"


def _text(text: dict[str, str] | None, language: str) -> str | None:
    if not text:
        return None
    return text.get(language) or next(iter(text.values()))


def _case_identifier(model_key: str, number: int, kind: str, key: str) -> str:
    # The same CFItem identifiers as the CASE export (app.competencies.case.export_package),
    # so an alignment points at the competency a CASE consumer already knows.
    document = uuid.uuid5(
        uuid.NAMESPACE_URL, f"urn:aidiploma:competency-model:{model_key}:{number}"
    )
    return str(uuid.uuid5(document, f"{kind}:{key}"))


def _criteria_narrative(
    tier: TierContent, content: VersionContent, language: str, kind: CertificationKind
) -> str:
    competencies = {c.key: c for c in content.competencies}
    levels = {lv.key: _text(lv.title, language) or lv.key for lv in content.levels}
    lines = []
    for requirement in tier.requirements:
        competency = competencies.get(requirement.competency)
        name = _text(competency.title, language) if competency else None
        forms = ", ".join(str(f).replace("_", " ") for f in requirement.accepted_forms)
        line = (
            f"- {name or requirement.competency}: level "
            f"{levels.get(requirement.min_level, requirement.min_level)} or higher, shown by {forms}"
        )
        if requirement.min_score is not None:
            line += f", with a score of at least {requirement.min_score:g}%"
        lines.append(line)
    intro = "Shown with assessed evidence for each of these competencies:"
    if kind == CertificationKind.alternative:
        intro = (
            "Awarded on alternative evidence (recognised prior learning or an external "
            "certificate) judged equivalent to these requirements:"
        )
    return "\n".join([intro, *lines]) if lines else intro


def _date_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _date_end(day: date) -> datetime:
    # valid_until is the last day the diploma is valid, inclusive.
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC) - timedelta(seconds=1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build_credential(
    session: Session,
    *,
    certification: Certification,
    issuer: IssuerConfig,
    key: SigningKey,
    language: str = "en",
) -> dict[str, Any]:
    """The OpenBadgeCredential of one certification, with the tier of the version it was
    awarded on (a published version never changes, so the credential is stable)."""
    version = session.get(CompetencyModelVersion, certification.model_version_id)
    if version is None:  # pragma: no cover - a foreign key guards it
        raise NotFound(f"No model version {certification.model_version_id}.")
    model = session.get(CompetencyModel, version.model_id)
    assert model is not None
    content = competency_service.version_content(session, version=version)
    tier = next((t for t in content.tiers if t.key == certification.tier_key), None)
    if tier is None:  # pragma: no cover - awards name tiers of their version
        raise NotFound(f"Tier {certification.tier_key} is not in its model version.")
    competencies = {c.key: c for c in content.competencies}
    case_url = f"{issuer.base}/competency-models/{model.id}/versions/{version.number}/case"
    tier_name = _text(tier.title, language) or tier.key
    alignments = []
    for requirement in tier.requirements:
        competency = competencies.get(requirement.competency)
        item = _case_identifier(
            model.key, version.number, case.TYPE_COMPETENCY, requirement.competency
        )
        alignment: dict[str, Any] = {
            "type": ["Alignment"],
            "targetName": (_text(competency.title, language) if competency else None)
            or requirement.competency,
            "targetUrl": f"{case_url}#{item}",
            "targetCode": requirement.competency,
            "targetFramework": model.name,
            "targetType": "CFItem",
        }
        description = _text(competency.description, language) if competency else None
        if description:
            alignment["targetDescription"] = description
        alignments.append(alignment)
    achievement = {
        "id": "urn:uuid:"
        + _case_identifier(model.key, version.number, case.TYPE_TIER, certification.tier_key),
        "type": ["Achievement"],
        "achievementType": "Certification",
        "name": tier_name,
        "description": _text(tier.description, language)
        or f"{tier_name} tier of the {model.name} AI literacy diploma.",
        "criteria": {"narrative": _criteria_narrative(tier, content, language, certification.kind)},
        "alignment": alignments,
        "humanCode": certification.tier_key,
        "version": str(version.number),
    }
    alternative = certification.kind == CertificationKind.alternative
    return {
        "@context": list(CONTEXTS),
        "id": credential_id(certification.id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{model.name}: {tier_name}",
        "description": (
            "AI literacy diploma (EU AI Act Article 4) awarded on alternative evidence."
            if alternative
            else "AI literacy diploma (EU AI Act Article 4) awarded on assessed evidence."
        ),
        "issuer": {
            "id": issuer.issuer_id,
            "type": ["Profile"],
            "name": issuer.organisation_name,
            "url": issuer.base,
        },
        "validFrom": _iso(_date_start(certification.valid_from)),
        "validUntil": _iso(_date_end(certification.valid_until)),
        "awardedDate": _iso(certification.awarded_at),
        "credentialSubject": {
            "id": subject_id(certification.person_id, key=key),
            "type": ["AchievementSubject"],
            "achievement": achievement,
        },
        "credentialStatus": {"id": issuer.status_url(certification.id), "type": STATUS_TYPE},
        "evidence": [
            {
                "type": ["Evidence"],
                "name": "Alternative evidence" if alternative else "Assessed evidence",
                "description": (
                    "Recognised prior learning or an external certificate, accepted by an "
                    "authorised assessor."
                    if alternative
                    else "Unvoided evidence for every requirement of the tier, at or above "
                    "the minimum level, by an accepted assessment form."
                ),
            }
        ],
    }


def sign(credential: dict[str, Any], *, key: SigningKey, now: datetime) -> str:
    """The credential as a VC-JWT (OB 3.0 §8.2 JSON Web Token Proof Format): the registered
    claims repeat the credential's issuer, id, subject and dates; `vc` carries it whole."""
    claims = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
        "iat": int(now.timestamp()),
        "vc": credential,
    }
    if credential.get("validUntil"):
        claims["exp"] = int(datetime.fromisoformat(credential["validUntil"]).timestamp())
    # OB 3.0: typ, if present, is "JWT"; kid names the key in /.well-known/jwks.json.
    return key.sign(claims, headers={"typ": "JWT"})


def issue(
    session: Session,
    *,
    certification_id: uuid.UUID,
    issuer: IssuerConfig,
    key: SigningKey,
    now: datetime,
    language: str = "en",
) -> tuple[str, dict[str, Any]]:
    """The signed VC-JWT and the credential it carries, for one certification."""
    certification = session.get(Certification, certification_id)
    if certification is None:
        raise NotFound(f"No certification {certification_id}.")
    credential = build_credential(
        session, certification=certification, issuer=issuer, key=key, language=language
    )
    return sign(credential, key=key, now=now), credential


# --- status and verification -------------------------------------------------------------------


def status_document(
    session: Session, *, certification_id: uuid.UUID, issuer: IssuerConfig
) -> dict[str, Any]:
    """The public state of one credential."""
    certification = session.get(Certification, certification_id)
    if certification is None:
        raise NotFound(f"No credential {certification_id}.")
    cid = credential_id(certification.id)
    return {
        "id": issuer.status_url(certification.id),
        "issuer": issuer.issuer_id,
        "credential": cid,
        "state": str(certification.state),
        "revokedCredentials": [{"id": cid}] if certification.state in REVOKED_STATES else [],
    }


@dataclass
class _Verification:
    checks: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def passed(self, check: str, detail: str) -> None:
        self.checks.append({"check": check, "passed": True, "detail": detail})

    def failed(self, check: str, reason: str, detail: str) -> None:
        self.checks.append({"check": check, "passed": False, "detail": detail})
        if reason not in self.reasons:
            self.reasons.append(reason)


def _numeric_date(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def verify(
    session: Session, *, token: str, issuer: IssuerConfig, key: SigningKey, now: datetime
) -> dict[str, Any]:
    """Verify a VC-JWT diploma: signature with the service key (RS256 only), the OB 3.0 claim
    rules, its dates against `now`, and its state in the database now."""
    result = _Verification()
    out: dict[str, Any] = {"credential": None, "superseded_by": None, "checked_at": now}

    def done() -> dict[str, Any]:
        return {**out, "valid": not result.reasons, **result.__dict__}

    try:
        header = jwt.get_unverified_header(token)
    except JOSEError:
        result.failed("format", "malformed", "Not a compact JWS (header.payload.signature).")
        return done()
    result.passed("format", "A compact JWS.")
    # The algorithm is pinned: never trust the token's own `alg` (no "none", no HS256 with
    # the public key as secret).
    if header.get("alg") != ALGORITHM:
        result.failed(
            "algorithm", "algorithm_not_allowed", f"alg {header.get('alg')!r} is not {ALGORITHM}."
        )
        return done()
    result.passed("algorithm", f"alg is {ALGORITHM}.")
    if header.get("kid") != key.kid:
        result.failed(
            "key",
            "wrong_key",
            f"kid {header.get('kid')!r} is not this service's key ({key.kid}, see "
            "/.well-known/jwks.json).",
        )
        return done()
    result.passed("key", f"kid {key.kid} is this service's key.")
    try:
        # Dates are checked below against the service clock, not the wall clock.
        claims = key.decode(
            token,
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except JOSEError:
        result.failed(
            "signature", "tampered", "The signature does not verify with the service key."
        )
        return done()
    result.passed("signature", "The signature verifies with the service key.")

    try:
        credential = OpenBadgeCredential.model_validate(claims.get("vc"))
    except ValidationError as exc:
        result.failed(
            "claims", "malformed", f"vc is not an OpenBadgeCredential: {exc.errors()[0]['msg']}."
        )
        return done()
    out["credential"] = credential.model_dump(mode="json", by_alias=True, exclude_none=True)
    # OB 3.0 §8.2.4.1: iss, sub, nbf, jti (and exp if present) must match the credential.
    mismatches = []
    if claims.get("iss") != credential.issuer.id:
        mismatches.append("iss")
    if claims.get("jti") != credential.id:
        mismatches.append("jti")
    if claims.get("sub") != credential.credentialSubject.id:
        mismatches.append("sub")
    nbf, exp = _numeric_date(claims.get("nbf")), _numeric_date(claims.get("exp"))
    if nbf is None or nbf != credential.validFrom:
        mismatches.append("nbf")
    if ("exp" in claims or credential.validUntil is not None) and exp != credential.validUntil:
        mismatches.append("exp")
    if credential.issuer.id != issuer.issuer_id:
        mismatches.append("issuer")
    if mismatches:
        result.failed(
            "claims",
            "claims_mismatch",
            f"{', '.join(mismatches)} do not match the credential or this issuer.",
        )
    else:
        result.passed("claims", "iss, jti, sub, nbf and exp match the credential.")

    if nbf is not None and now < nbf:
        result.failed("dates", "not_yet_valid", f"Valid from {_iso(nbf)}, not before.")
    elif exp is not None and now > exp:
        result.failed("dates", "expired", f"Expired at {_iso(exp)}.")
    else:
        result.passed("dates", "Within validFrom and validUntil.")

    certification_id = certification_id_of(credential.id)
    certification = session.get(Certification, certification_id) if certification_id else None
    if certification is None:
        result.failed("status", "unknown", "This service never issued this credential.")
        return done()
    state = CertificationState(certification.state)
    if state is CertificationState.active:
        result.passed("status", "Active: not revoked, suspended or superseded.")
    else:
        result.failed("status", str(state), f"The diploma is {state}.")
        if state is CertificationState.superseded:
            out["superseded_by"] = _successor(session, certification)
    return done()


def _successor(session: Session, certification: Certification) -> str | None:
    successor = session.exec(
        select(Certification.id).where(Certification.renews_id == certification.id)
    ).first()
    return credential_id(successor) if successor else None
