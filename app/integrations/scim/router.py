"""SCIM 2.0 endpoints under /scim/v2 (RFC 7644): Users, and the discovery endpoints that
describe exactly what is supported. Every response is application/scim+json."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session

from app.auth.dependencies import require
from app.core.routing import api_router, get_session
from app.integrations.scim import discovery, service
from app.integrations.scim.errors import ERROR_SCHEMA, SCIM_MEDIA_TYPE, ScimError

router = api_router(prefix="/scim/v2", tags=["scim"], dependencies=[require("scim")])
SessionDep = Annotated[Session, Depends(get_session)]


class ScimResponse(JSONResponse):
    media_type = SCIM_MEDIA_TYPE


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    schema = {
        "type": "object",
        "properties": {
            "schemas": {"type": "array", "items": {"type": "string", "enum": [ERROR_SCHEMA]}},
            "status": {"type": "string"},
            "scimType": {"type": "string"},
            "detail": {"type": "string"},
        },
    }
    return {
        status: {
            "description": "SCIM error (RFC 7644 3.12)",
            "content": {SCIM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in sorted({401, 403, *statuses})
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/scim/v2"


def _reply(
    resource: dict[str, Any], status: int = 200, location: bool = False, version: str | None = None
) -> ScimResponse:
    # A projection may leave meta out (attributes=userName); the ETag is still the version.
    headers = {"ETag": version or resource["meta"]["version"]}
    if location:
        headers["Location"] = resource["meta"]["location"]
    return ScimResponse(resource, status_code=status, headers=headers)


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


ResourceModel = dict[str, Any]


@router.get(
    "/ServiceProviderConfig",
    summary="Service provider configuration",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(),
)
def get_service_provider_config(request: Request) -> ScimResponse:
    """What this SCIM server supports (RFC 7643 5)."""
    return ScimResponse(discovery.service_provider_config(_base(request)))


@router.get(
    "/ResourceTypes",
    summary="List resource types",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(),
)
def list_resource_types(request: Request) -> ScimResponse:
    """The resource types served (RFC 7643 6): User only; Groups are not supported."""
    resources = [discovery.user_resource_type(_base(request))]
    return ScimResponse(
        {
            "schemas": [discovery.LIST_RESPONSE],
            "totalResults": 1,
            "startIndex": 1,
            "itemsPerPage": 1,
            "Resources": resources,
        }
    )


@router.get(
    "/ResourceTypes/{name}",
    summary="Get a resource type",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(404),
)
def get_resource_type(name: str, request: Request) -> ScimResponse:
    """One resource type (RFC 7643 6)."""
    if name != "User":
        raise ScimError(404, f"No resource type {name}.")
    return ScimResponse(discovery.user_resource_type(_base(request)))


@router.get(
    "/Schemas",
    summary="List schemas",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(),
)
def list_schemas(request: Request) -> ScimResponse:
    """The schemas of User and its extensions (RFC 7643 7)."""
    schemas = discovery.all_schemas(_base(request))
    return ScimResponse(
        {
            "schemas": [discovery.LIST_RESPONSE],
            "totalResults": len(schemas),
            "startIndex": 1,
            "itemsPerPage": len(schemas),
            "Resources": schemas,
        }
    )


@router.get(
    "/Schemas/{schema_id}",
    summary="Get a schema",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(404),
)
def get_schema(schema_id: str, request: Request) -> ScimResponse:
    """One schema by its URN (RFC 7643 7)."""
    schema = discovery.schema_resource(_base(request), schema_id)
    if schema is None:
        raise ScimError(404, f"No schema {schema_id}.")
    return ScimResponse(schema)


@router.get(
    "/Users",
    summary="List users",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(400),
)
def list_users(
    request: Request,
    session: SessionDep,
    filter: Annotated[
        str | None, Query(max_length=2000, description="RFC 7644 3.4.2.2 filter")
    ] = None,
    startIndex: Annotated[int, Query(le=service.MAX_INDEX)] = 1,  # noqa: N803 - SCIM names
    count: Annotated[int | None, Query(le=service.MAX_INDEX)] = None,
    sortBy: Annotated[str | None, Query(max_length=200)] = None,  # noqa: N803
    sortOrder: Annotated[str | None, Query(pattern="^(?i:ascending|descending)$")] = None,  # noqa: N803
    attributes: Annotated[str | None, Query(max_length=2000)] = None,
    excludedAttributes: Annotated[str | None, Query(max_length=2000)] = None,  # noqa: N803
) -> ScimResponse:
    """Users matching a filter, sorted and paged by startIndex and count (RFC 7644 3.4.2)."""
    return ScimResponse(
        service.list_users(
            session,
            filter_text=filter,
            start_index=startIndex,
            count=count,
            sort_by=sortBy,
            sort_order=sortOrder,
            attributes=_split(attributes),
            excluded=_split(excludedAttributes),
            base_url=_base(request),
        )
    )


@router.post(
    "/.search",
    summary="Search all resources",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(400),
)
def search_root(
    request: Request, session: SessionDep, payload: Annotated[dict[str, Any], Body()]
) -> ScimResponse:
    """Query with a SearchRequest body at the root (RFC 7644 3.4.3); Users are the only type."""
    return ScimResponse(service.search_users(session, body=payload, base_url=_base(request)))


@router.post(
    "/Users/.search",
    summary="Search users",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(400),
)
def search_users(
    request: Request, session: SessionDep, payload: Annotated[dict[str, Any], Body()]
) -> ScimResponse:
    """Query Users with a SearchRequest body instead of URL parameters (RFC 7644 3.4.3)."""
    return ScimResponse(service.search_users(session, body=payload, base_url=_base(request)))


@router.post(
    "/Users",
    status_code=201,
    summary="Create a user",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(400, 409),
)
def create_user(
    request: Request, session: SessionDep, payload: Annotated[dict[str, Any], Body()]
) -> ScimResponse:
    """Create a User (RFC 7644 3.3); userName, externalId and employeeNumber are unique."""
    return _reply(
        service.create_user(session, payload=payload, base_url=_base(request)), 201, location=True
    )


@router.get(
    "/Users/{user_id}",
    summary="Get a user",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(404),
)
def get_user(
    user_id: str,
    request: Request,
    session: SessionDep,
    attributes: Annotated[str | None, Query(max_length=2000)] = None,
    excludedAttributes: Annotated[str | None, Query(max_length=2000)] = None,  # noqa: N803
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One User (RFC 7644 3.4.1); 304 when If-None-Match names its current version."""
    resource = service.get_user(session, user_id=user_id, base_url=_base(request))
    version = resource["meta"]["version"]
    if if_none_match and version in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": version})
    from app.integrations.scim.resource import project

    return _reply(
        project(resource, _split(attributes), _split(excludedAttributes)), version=version
    )


@router.put(
    "/Users/{user_id}",
    summary="Replace a user",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(400, 404, 409, 412),
)
def replace_user(
    user_id: str,
    request: Request,
    session: SessionDep,
    payload: Annotated[dict[str, Any], Body()],
    if_match: Annotated[str | None, Header()] = None,
) -> ScimResponse:
    """Replace a User (RFC 7644 3.5.1); If-Match guards against lost updates (3.14)."""
    return _reply(
        service.replace_user(
            session, user_id=user_id, payload=payload, if_match=if_match, base_url=_base(request)
        )
    )


@router.patch(
    "/Users/{user_id}",
    summary="Patch a user",
    response_model=ResourceModel,
    response_class=ScimResponse,
    responses=_errors(400, 404, 409, 412),
)
def patch_user(
    user_id: str,
    request: Request,
    session: SessionDep,
    payload: Annotated[dict[str, Any], Body()],
    if_match: Annotated[str | None, Header()] = None,
) -> ScimResponse:
    """Add, replace and remove attributes, with value-filter paths (RFC 7644 3.5.2)."""
    return _reply(
        service.patch_user(
            session, user_id=user_id, body=payload, if_match=if_match, base_url=_base(request)
        )
    )


@router.delete(
    "/Users/{user_id}",
    status_code=204,
    summary="Delete a user",
    response_class=Response,
    responses=_errors(404, 412),
)
def delete_user(
    user_id: str,
    session: SessionDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Delete a User (RFC 7644 3.6): the person is deactivated, their history kept."""
    service.delete_user(session, user_id=user_id, if_match=if_match)
    return Response(status_code=204)
