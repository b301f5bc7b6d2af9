"""What the SCIM server supports, as RFC 7643 sections 5-7 describe it: ServiceProviderConfig,
ResourceTypes and Schemas. The attribute definitions here also drive attribute-name
canonicalisation, so what is published is exactly what is understood."""

from __future__ import annotations

from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
AIDIPLOMA_USER = "urn:aidiploma:params:scim:schemas:extension:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
EXTENSIONS = (ENTERPRISE_USER, AIDIPLOMA_USER)
MAX_RESULTS = 200


def _attr(
    name: str,
    type_: str = "string",
    *,
    description: str,
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    sub: list[dict[str, Any]] | None = None,
    reference_types: list[str] | None = None,
    canonical: list[str] | None = None,
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub is not None:
        attribute["subAttributes"] = sub
    if reference_types is not None:
        attribute["referenceTypes"] = reference_types
    if canonical is not None:
        attribute["canonicalValues"] = canonical
    return attribute


CORE_ATTRIBUTES = [
    _attr(
        "userName",
        description="Unique identifier for the user, typically the sign-in name.",
        required=True,
        uniqueness="server",
    ),
    _attr(
        "name",
        "complex",
        description="The components of the user's name.",
        sub=[
            _attr("givenName", description="Given name."),
            _attr("familyName", description="Family name."),
        ],
    ),
    _attr("displayName", description="Name as displayed."),
    _attr("title", description="Job title; mapped to a role through the job_title mappings."),
    _attr("active", "boolean", description="Whether the person is employed and active."),
    _attr(
        "emails",
        "complex",
        multi=True,
        description="Email addresses; the primary (else the first) is the person's work email.",
        sub=[
            _attr("value", description="Email address."),
            _attr("type", description="work, home or other.", canonical=["work", "home", "other"]),
            _attr("primary", "boolean", description="The primary address."),
        ],
    ),
]

ENTERPRISE_ATTRIBUTES = [
    _attr("employeeNumber", description="The HR employee number: aidiploma's person key."),
    _attr("costCenter", description="Cost center."),
    _attr("organization", description="Organization."),
    _attr("division", description="Division."),
    _attr("department", description="Department: mapped to an org unit."),
    _attr(
        "manager",
        "complex",
        description="The user's manager; value is the manager's id or employee number.",
        sub=[
            _attr("value", description="id (or employee number) of the manager."),
            _attr(
                "$ref",
                "reference",
                description="URI of the manager's User resource.",
                reference_types=["User"],
                mutability="readOnly",
            ),
            _attr("displayName", description="Manager's display name.", mutability="readOnly"),
        ],
    ),
]

AIDIPLOMA_ATTRIBUTES = [
    _attr("jobCode", description="HR job code: mapped to a role."),
    _attr("location", description="HR location code: mapped to a location."),
    _attr("roles", multi=True, description="aidiploma role keys held, when HR knows them."),
]

SCHEMAS = [
    (CORE_USER, "User", "User Account", CORE_ATTRIBUTES),
    (ENTERPRISE_USER, "EnterpriseUser", "Enterprise User", ENTERPRISE_ATTRIBUTES),
    (
        AIDIPLOMA_USER,
        "AidiplomaUser",
        "AI diploma fields: job code, location, roles",
        AIDIPLOMA_ATTRIBUTES,
    ),
]


def schema_resource(base_url: str, urn: str) -> dict[str, Any] | None:
    for schema_id, name, description, attributes in SCHEMAS:
        if schema_id == urn:
            return {
                "schemas": [SCHEMA_SCHEMA],
                "id": schema_id,
                "name": name,
                "description": description,
                "attributes": attributes,
                "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{schema_id}"},
            }
    return None


def all_schemas(base_url: str) -> list[dict[str, Any]]:
    return [schema_resource(base_url, urn) for urn, *_ in SCHEMAS]  # type: ignore[misc]


def user_resource_type(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "People, keyed by employee number, with their HR attributes.",
        "schema": CORE_USER,
        "schemaExtensions": [
            {"schema": ENTERPRISE_USER, "required": False},
            {"schema": AIDIPLOMA_USER, "required": False},
        ],
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
    }


def service_provider_config(base_url: str) -> dict[str, Any]:
    """What is supported (RFC 7643 5): PATCH, filter, ETags and sort; no bulk, no password."""
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/aidiploma/aidiploma/blob/main/docs/integrations.md",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "OAuth 2.0 client credentials (scope scim); send the JWT as Bearer.",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def _index(attributes: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        a["name"].lower(): (
            a["name"],
            {s["name"].lower(): s["name"] for s in a.get("subAttributes", [])},
        )
        for a in attributes
    }


# lower-case name -> (canonical name, {lower-case sub name: canonical sub name}), per schema.
CANONICAL = {
    CORE_USER: _index(CORE_ATTRIBUTES),
    ENTERPRISE_USER: _index(ENTERPRISE_ATTRIBUTES),
    AIDIPLOMA_USER: _index(AIDIPLOMA_ATTRIBUTES),
}
MULTI_VALUED = {"emails", "roles"}
READ_ONLY = {"id", "meta", "schemas"}
