"""HTTP for the organisation: org units, locations, job families, roles, people, CSV imports.

Batch routes (`/people:batch-upsert`) are declared before the `/{...}` routes of the
same collection, so a path parameter never swallows them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

from app.auth.dependencies import require
from app.core.errors import Unprocessable, UnsupportedMediaType, problem_responses
from app.core.etag import check_if_match, set_etag
from app.core.idempotency import idempotency_key
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session
from app.org import csv_import, service
from app.org.dependencies import ValidJobFamily, ValidLocation, ValidPerson
from app.org.models import OrgUnitKind
from app.org.schemas import (
    BatchResult,
    ImportReport,
    JobFamilyIn,
    JobFamilyPublic,
    JobFamilyUpdate,
    LocationIn,
    LocationPublic,
    LocationUpdate,
    OrgUnitBatch,
    OrgUnitIn,
    OrgUnitPublic,
    OrgUnitUpdate,
    PeopleBatch,
    PersonIn,
    PersonPublic,
    PersonUpdate,
    RoleBatch,
    RoleIn,
    RolePublic,
    RoleUpdate,
)

SessionDep = Annotated[Session, Depends(get_session)]
PageDep = Annotated[PageParams, Depends(page_params)]
Partial = Annotated[
    bool,
    Query(description="Apply the valid records and report the others, instead of all-or-nothing."),
]
READ = [require("org:read")]
WRITE = [require("org:write")]
CREATE = [require("org:write"), Depends(idempotency_key)]

router = api_router()
org_router = api_router(tags=["org"])
imports_router = api_router(prefix="/imports", tags=["imports"])


def _page(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor}


def _with_etag(response: Response, item: Any) -> Any:
    set_etag(response, item.version)
    return item


# Org units


@org_router.post(
    "/org-units:batch-upsert",
    summary="Create or update up to 1,000 org units by external id",
    response_model=BatchResult,
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403, 409, 415),
)
def batch_upsert_org_units(
    session: SessionDep, batch: OrgUnitBatch, partial: Partial = False
) -> Any:
    """One transaction; parents may be in the same batch; all-or-nothing unless partial=true."""
    return service.batch_upsert_org_units(session, records=batch.records, partial=partial)


@org_router.get(
    "/org-units",
    summary="List org units",
    response_model=Page[OrgUnitPublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_org_units(
    session: SessionDep,
    page: PageDep,
    parent_id: uuid.UUID | None = None,
    within_id: Annotated[
        uuid.UUID | None, Query(description="This org unit and every unit below it.")
    ] = None,
    kind: OrgUnitKind | None = None,
    active: bool | None = None,
) -> Any:
    """Org units in id order; filter by parent, subtree, kind or active."""
    return _page(
        *service.list_org_units(
            session, page=page, parent_id=parent_id, within_id=within_id, kind=kind, active=active
        )
    )


@org_router.post(
    "/org-units",
    summary="Create an org unit",
    status_code=201,
    response_model=OrgUnitPublic,
    dependencies=CREATE,
    responses=problem_responses(401, 403, 409, 415),
)
def create_org_unit(session: SessionDep, data: OrgUnitIn, response: Response) -> Any:
    """The parent is named by its external id."""
    return _with_etag(response, service.create_org_unit(session, data=data))


@org_router.get(
    "/org-units/{org_unit_id}",
    summary="Get an org unit",
    response_model=OrgUnitPublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_org_unit(session: SessionDep, org_unit_id: uuid.UUID, response: Response) -> Any:
    """One org unit with its parent's external id."""
    return _with_etag(response, service.get_org_unit_view(session, org_unit_id=org_unit_id))


@org_router.patch(
    "/org-units/{org_unit_id}",
    summary="Change an org unit",
    response_model=OrgUnitPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def update_org_unit(
    request: Request,
    session: SessionDep,
    org_unit_id: uuid.UUID,
    data: OrgUnitUpdate,
    response: Response,
) -> Any:
    """A new parent that would make the tree a cycle is refused (422)."""
    check_if_match(request, service.get_org_unit(session, org_unit_id=org_unit_id).version)
    return _with_etag(
        response, service.update_org_unit(session, org_unit_id=org_unit_id, data=data)
    )


@org_router.delete(
    "/org-units/{org_unit_id}",
    summary="Deactivate an org unit",
    response_model=OrgUnitPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 412),
)
def deactivate_org_unit(
    request: Request, session: SessionDep, org_unit_id: uuid.UUID, response: Response
) -> Any:
    """Org units are never deleted: they are marked inactive and keep their history."""
    check_if_match(request, service.get_org_unit(session, org_unit_id=org_unit_id).version)
    unit = service.update_org_unit(session, org_unit_id=org_unit_id, data={"active": False})
    return _with_etag(response, unit)


# Locations


@org_router.get(
    "/locations",
    summary="List locations",
    response_model=Page[LocationPublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_locations(session: SessionDep, page: PageDep) -> Any:
    """Locations in id order."""
    return _page(*service.list_locations(session, page=page))


@org_router.post(
    "/locations",
    summary="Create a location",
    status_code=201,
    response_model=LocationPublic,
    dependencies=CREATE,
    responses=problem_responses(401, 403, 409, 415),
)
def create_location(session: SessionDep, data: LocationIn, response: Response) -> Any:
    """A location such as an office; keyed by its external id."""
    return _with_etag(response, service.create_location(session, data=data))


@org_router.get(
    "/locations/{location_id}",
    summary="Get a location",
    response_model=LocationPublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_location(location: ValidLocation, response: Response) -> Any:
    """One location."""
    return _with_etag(response, location)


@org_router.patch(
    "/locations/{location_id}",
    summary="Change a location",
    response_model=LocationPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 412, 415),
)
def update_location(
    request: Request,
    session: SessionDep,
    location: ValidLocation,
    data: LocationUpdate,
    response: Response,
) -> Any:
    """Rename a location."""
    check_if_match(request, location.version)
    return _with_etag(response, service.update_location(session, location=location, data=data))


@org_router.delete(
    "/locations/{location_id}",
    summary="Delete an unused location",
    status_code=204,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409),
)
def delete_location(session: SessionDep, location: ValidLocation) -> Response:
    """Refused (409) while people are at the location."""
    service.delete_location(session, location=location)
    return Response(status_code=204)


# Job families


@org_router.get(
    "/job-families",
    summary="List job families",
    response_model=Page[JobFamilyPublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_job_families(session: SessionDep, page: PageDep) -> Any:
    """Job families in id order."""
    return _page(*service.list_job_families(session, page=page))


@org_router.post(
    "/job-families",
    summary="Create a job family",
    status_code=201,
    response_model=JobFamilyPublic,
    dependencies=CREATE,
    responses=problem_responses(401, 403, 409, 415),
)
def create_job_family(session: SessionDep, data: JobFamilyIn, response: Response) -> Any:
    """A group of related roles, keyed by a stable key."""
    return _with_etag(response, service.create_job_family(session, data=data))


@org_router.get(
    "/job-families/{job_family_id}",
    summary="Get a job family",
    response_model=JobFamilyPublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_job_family(family: ValidJobFamily, response: Response) -> Any:
    """One job family."""
    return _with_etag(response, family)


@org_router.patch(
    "/job-families/{job_family_id}",
    summary="Change a job family",
    response_model=JobFamilyPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 412, 415),
)
def update_job_family(
    request: Request,
    session: SessionDep,
    family: ValidJobFamily,
    data: JobFamilyUpdate,
    response: Response,
) -> Any:
    """Rename or describe a job family."""
    check_if_match(request, family.version)
    return _with_etag(response, service.update_job_family(session, family=family, data=data))


@org_router.delete(
    "/job-families/{job_family_id}",
    summary="Delete an unused job family",
    status_code=204,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409),
)
def delete_job_family(session: SessionDep, family: ValidJobFamily) -> Response:
    """Refused (409) while roles are in the family."""
    service.delete_job_family(session, family=family)
    return Response(status_code=204)


# Roles


@org_router.post(
    "/roles:batch-upsert",
    summary="Create or update up to 1,000 roles by key",
    response_model=BatchResult,
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403, 409, 415),
)
def batch_upsert_roles(session: SessionDep, batch: RoleBatch, partial: Partial = False) -> Any:
    """One transaction; job families must exist; all-or-nothing unless partial=true."""
    return service.batch_upsert_roles(session, records=batch.records, partial=partial)


@org_router.get(
    "/roles",
    summary="List roles",
    response_model=Page[RolePublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_roles(
    session: SessionDep,
    page: PageDep,
    job_family_id: uuid.UUID | None = None,
    active: bool | None = None,
) -> Any:
    """Roles in id order; filter by job family or active."""
    return _page(
        *service.list_roles(session, page=page, job_family_id=job_family_id, active=active)
    )


@org_router.post(
    "/roles",
    summary="Create a role",
    status_code=201,
    response_model=RolePublic,
    dependencies=CREATE,
    responses=problem_responses(401, 403, 409, 415),
)
def create_role(session: SessionDep, data: RoleIn, response: Response) -> Any:
    """The job family is named by its key."""
    return _with_etag(response, service.create_role(session, data=data))


@org_router.get(
    "/roles/{role_id}",
    summary="Get a role",
    response_model=RolePublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_role(session: SessionDep, role_id: uuid.UUID, response: Response) -> Any:
    """One role with its job family's key."""
    return _with_etag(response, service.get_role_view(session, role_id=role_id))


@org_router.patch(
    "/roles/{role_id}",
    summary="Change a role",
    response_model=RolePublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def update_role(
    request: Request, session: SessionDep, role_id: uuid.UUID, data: RoleUpdate, response: Response
) -> Any:
    """Change a role's name, job family, description, job code or active flag."""
    check_if_match(request, service.get_role(session, role_id=role_id).version)
    return _with_etag(response, service.update_role(session, role_id=role_id, data=data))


@org_router.delete(
    "/roles/{role_id}",
    summary="Deactivate a role",
    response_model=RolePublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 412),
)
def deactivate_role(
    request: Request, session: SessionDep, role_id: uuid.UUID, response: Response
) -> Any:
    """Roles are never deleted: they are marked inactive and keep their holders' history."""
    check_if_match(request, service.get_role(session, role_id=role_id).version)
    role = service.update_role(session, role_id=role_id, data={"active": False})
    return _with_etag(response, role)


# People


@org_router.post(
    "/people:batch-upsert",
    summary="Create or update up to 1,000 people by employee number",
    response_model=BatchResult,
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403, 409, 415),
)
def batch_upsert_people(session: SessionDep, batch: PeopleBatch, partial: Partial = False) -> Any:
    """One transaction, a result per record; managers may be in the same batch.
    All-or-nothing (422 listing every bad record) unless partial=true."""
    result = service.batch_upsert_people(session, records=batch.records, partial=partial)
    # Already a validated BatchResult: serialise once instead of FastAPI validating it again
    # (1,000 results per call is the normal case for sync jobs).
    return Response(result.model_dump_json(), media_type="application/json")


@org_router.get(
    "/people",
    summary="List people",
    response_model=Page[PersonPublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_people(
    session: SessionDep,
    page: PageDep,
    org_unit_id: Annotated[
        uuid.UUID | None, Query(description="People in this org unit or any unit below it.")
    ] = None,
    role_id: Annotated[uuid.UUID | None, Query(description="Current holders of this role.")] = None,
    location_id: uuid.UUID | None = None,
    manager_id: Annotated[uuid.UUID | None, Query(description="Direct reports of.")] = None,
    active: bool | None = None,
) -> Any:
    """People in id order with their roles; combine filters freely."""
    return _page(
        *service.list_people(
            session,
            page=page,
            org_unit_id=org_unit_id,
            role_id=role_id,
            location_id=location_id,
            manager_id=manager_id,
            active=active,
        )
    )


@org_router.post(
    "/people",
    summary="Create a person",
    status_code=201,
    response_model=PersonPublic,
    dependencies=CREATE,
    responses=problem_responses(401, 403, 409, 415),
)
def create_person(session: SessionDep, data: PersonIn, response: Response) -> Any:
    """References use HR keys: org unit and location external ids, manager employee number."""
    return _with_etag(response, service.create_person(session, data=data))


@org_router.get(
    "/people/{person_key}",
    summary="Get a person",
    response_model=PersonPublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_person(session: SessionDep, person: ValidPerson, response: Response) -> Any:
    """By id, `employee:{number}` or `email:{address}`; roles include ended ones."""
    return _with_etag(response, service.person_views(session, [person])[0])


@org_router.patch(
    "/people/{person_key}",
    summary="Change a person",
    response_model=PersonPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def update_person(
    request: Request,
    session: SessionDep,
    person: ValidPerson,
    data: PersonUpdate,
    response: Response,
) -> Any:
    """`roles`, when given, lists every role held now; roles left out are ended, not deleted."""
    check_if_match(request, person.version)
    return _with_etag(response, service.update_person(session, person=person, data=data))


@org_router.delete(
    "/people/{person_key}",
    summary="Deactivate a person",
    response_model=PersonPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 412),
)
def deactivate_person(
    request: Request, session: SessionDep, person: ValidPerson, response: Response
) -> Any:
    """People are never deleted: deactivation keeps their roles, evidence and audit history."""
    check_if_match(request, person.version)
    return _with_etag(response, service.deactivate_person(session, person=person))


# CSV imports


async def csv_body(request: Request) -> bytes:
    """The raw text/csv request body."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in ("text/csv", "application/csv"):
        raise UnsupportedMediaType(f"Send the file as text/csv, not {content_type or 'nothing'}.")
    return await request.body()


CsvBody = Annotated[bytes, Depends(csv_body)]
CSV_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _run_import(
    session: Session,
    kind: str,
    body: bytes,
    dry_run: bool,
    delimiter: str | None,
    mapping: list[str] | None,
) -> ImportReport:
    report = csv_import.import_csv(
        session,
        kind=kind,
        data=body,
        delimiter=delimiter,
        mapping=csv_import.parse_mapping(mapping, kind=kind),
        dry_run=dry_run,
    )
    if report.errors and not dry_run:
        raise Unprocessable(
            f"{len(report.errors)} problems in the file; nothing was imported.",
            slug="import-rejected",
            title="Import rejected",
            line_errors=[error.model_dump() for error in report.errors],
            counts=report.counts.model_dump(),
        )
    return report


DryRun = Annotated[
    bool, Query(description="Report what would change and every bad line; write nothing.")
]
Delimiter = Annotated[
    str | None,
    Query(max_length=3, description="`,`, `;`, `|` or `tab`; default: guessed from the header."),
]
Mapping = Annotated[
    list[str] | None,
    Query(
        alias="map",
        description="Header mapping `csvheader=field`, repeatable, e.g. `Personeelsnummer=employee_number`.",
    ),
]


@imports_router.post(
    "/people",
    summary="Import people from CSV",
    response_model=ImportReport,
    dependencies=[require("org:write")],
    responses=problem_responses(400, 401, 403, 415),
    openapi_extra=CSV_REQUEST,
)
def import_people(
    session: SessionDep,
    body: CsvBody,
    dry_run: DryRun = False,
    delimiter: Delimiter = None,
    mapping: Mapping = None,
) -> Any:
    """Upsert by employee number; any bad line rejects the file (422) with every line number."""
    return _run_import(session, "people", body, dry_run, delimiter, mapping)


@imports_router.post(
    "/org-units",
    summary="Import org units from CSV",
    response_model=ImportReport,
    dependencies=[require("org:write")],
    responses=problem_responses(400, 401, 403, 415),
    openapi_extra=CSV_REQUEST,
)
def import_org_units(
    session: SessionDep,
    body: CsvBody,
    dry_run: DryRun = False,
    delimiter: Delimiter = None,
    mapping: Mapping = None,
) -> Any:
    """Upsert by external id; parents may come later in the file."""
    return _run_import(session, "org-units", body, dry_run, delimiter, mapping)


@imports_router.post(
    "/roles",
    summary="Import roles from CSV",
    response_model=ImportReport,
    dependencies=[require("org:write")],
    responses=problem_responses(400, 401, 403, 415),
    openapi_extra=CSV_REQUEST,
)
def import_roles(
    session: SessionDep,
    body: CsvBody,
    dry_run: DryRun = False,
    delimiter: Delimiter = None,
    mapping: Mapping = None,
) -> Any:
    """Upsert by role key; job families must exist."""
    return _run_import(session, "roles", body, dry_run, delimiter, mapping)


router.include_router(org_router)
router.include_router(imports_router)
