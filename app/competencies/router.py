"""HTTP for competency models: versions and content, publishing, diff, matrix, role
requirements, activity matching, CASE and plain JSON interchange."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from sqlmodel import Session

from app.auth.dependencies import require
from app.competencies import case, requirements, service
from app.competencies.models import CompetencyModel, CompetencyModelVersion
from app.competencies.rules import tier_implications
from app.competencies.schemas import (
    ActivityMappingContent,
    CompetencyContent,
    Key,
    MatchedMapping,
    Matrix,
    ModelCreate,
    ModelDocument,
    ModelFromTemplate,
    ModelPublic,
    ModelWithVersion,
    PublishResult,
    RoleRequirement,
    TierContent,
    VersionContent,
    VersionCopy,
    VersionDiff,
    VersionPublic,
    VersionWithContent,
)
from app.core.csv_response import csv_response, json_or_csv_responses, wants_csv
from app.core.errors import BadRequest, problem_responses
from app.core.etag import check_if_match, set_etag
from app.core.idempotency import idempotency_key
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session

SessionDep = Annotated[Session, Depends(get_session)]
Number = Annotated[int, Path(ge=1, le=100000, description="Version number")]
Language = Annotated[str, Query(pattern=r"^[a-z]{2,3}$", description="Language of titles")]

router = api_router(tags=["competencies"])
READ = [require("competencies:read")]
WRITE = [require("competencies:write")]


def _model_public(session: Session, model: CompetencyModel) -> dict[str, Any]:
    current = service.current_version_numbers(session, model_ids=[model.id]).get(model.id)
    return {**ModelPublic.model_validate(model).model_dump(), "current_version": current}


def _with_content(
    session: Session, version: CompetencyModelVersion, response: Response | None = None
) -> dict[str, Any]:
    if response is not None:
        set_etag(response, version.version)
    content = service.version_content(session, version=version)
    return {
        **VersionPublic.model_validate(version).model_dump(),
        "content": content,
        "tier_implies": tier_implications(content),
    }


def _created(session: Session, model: CompetencyModel, version: CompetencyModelVersion) -> Any:
    return {"model": _model_public(session, model), "version": version}


@router.get(
    "/competency-models",
    summary="List competency models",
    response_model=Page[ModelPublic],
    dependencies=READ,
    responses=problem_responses(400, 401, 403),
)
def list_models(session: SessionDep, page: Annotated[PageParams, Depends(page_params)]) -> Any:
    """All competency models, with the number of each one's current published version."""
    items, next_cursor = service.list_models(session, page=page)
    current = service.current_version_numbers(session, model_ids=[m.id for m in items])
    return {
        "items": [
            {**ModelPublic.model_validate(m).model_dump(), "current_version": current.get(m.id)}
            for m in items
        ],
        "next_cursor": next_cursor,
    }


@router.post(
    "/competency-models",
    summary="Create a competency model",
    status_code=201,
    response_model=ModelWithVersion,
    dependencies=[*WRITE, Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def create_model(session: SessionDep, data: ModelCreate) -> Any:
    """Version 1 is a draft with the given content, or five domains, three levels and tiers."""
    model, version = service.create_model(session, data=data)
    return _created(session, model, version)


@router.post(
    "/competency-models:from-template",
    summary="Create a competency model from a shipped template",
    status_code=201,
    response_model=ModelWithVersion,
    dependencies=[*WRITE, Depends(idempotency_key)],
    responses=problem_responses(401, 403, 404, 409, 415),
)
def create_from_template(session: SessionDep, data: ModelFromTemplate) -> Any:
    """The English or Dutch template as version 1 (a draft), ready to adjust and publish."""
    model, version = service.create_from_template(session, data=data)
    return _created(session, model, version)


@router.post(
    "/competency-models:import",
    summary="Import a competency model from its plain JSON document",
    status_code=201,
    response_model=ModelWithVersion,
    dependencies=[*WRITE, Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def import_model(
    session: SessionDep,
    document: ModelDocument,
    key: Annotated[
        Key | None, Query(description="Key of the new model (default: the document's)")
    ] = None,
) -> Any:
    """The document's content becomes version 1 (a draft) of a new model."""
    model, version = service.import_document(session, document=document, key=key)
    return _created(session, model, version)


@router.post(
    "/competency-models:import-case",
    summary="Import a competency framework from a 1EdTech CASE 1.1 package",
    status_code=201,
    response_model=ModelWithVersion,
    dependencies=[*WRITE, Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def import_case(
    session: SessionDep,
    package: case.CFPackage,
    key: Annotated[Key | None, Query(description="Key of the new model")] = None,
) -> Any:
    """A CFPackage becomes version 1 (a draft); references to nothing in it are a 422 listing them."""
    document = case.import_package(package, key=key)
    model, version = service.import_document(session, document=document)
    return _created(session, model, version)


@router.get(
    "/competency-models/{model_id}",
    summary="Get a competency model",
    response_model=ModelPublic,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_model(session: SessionDep, model_id: uuid.UUID) -> Any:
    """One model with the number of its current published version."""
    return _model_public(session, service.get_model(session, model_id=model_id))


@router.get(
    "/competency-models/{model_id}/versions",
    summary="List the versions of a competency model",
    response_model=list[VersionPublic],
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def list_versions(session: SessionDep, model_id: uuid.UUID) -> Any:
    """Every version, oldest first, with its status."""
    return service.list_versions(session, model_id=model_id)


@router.get(
    "/competency-models/{model_id}/versions/{number}",
    summary="Get a version with its content",
    response_model=VersionWithContent,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def get_version(
    session: SessionDep, model_id: uuid.UUID, number: Number, response: Response
) -> Any:
    """Domains, levels, competencies, tiers, derivation rules, role requirements and mappings."""
    version = service.get_version(session, model_id=model_id, number=number)
    return _with_content(session, version, response)


@router.put(
    "/competency-models/{model_id}/versions/{number}/content",
    summary="Replace the content of a draft version",
    response_model=VersionWithContent,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def replace_content(
    request: Request,
    session: SessionDep,
    model_id: uuid.UUID,
    number: Number,
    content: VersionContent,
    response: Response,
) -> Any:
    """Only a draft changes (409 otherwise); references are checked (422 naming each)."""
    version = service.get_version(session, model_id=model_id, number=number)
    check_if_match(request, version.version)
    version = service.replace_content(session, version=version, content=content)
    return _with_content(session, version, response)


@router.put(
    "/competency-models/{model_id}/versions/{number}/competencies/{key}",
    summary="Add or replace a competency of a draft version",
    response_model=VersionWithContent,
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 415),
)
def put_competency(
    request: Request,
    session: SessionDep,
    model_id: uuid.UUID,
    number: Number,
    key: Key,
    competency: CompetencyContent,
    response: Response,
) -> Any:
    """The key in the body must be the key in the path."""
    if competency.key != key:
        raise BadRequest("The competency's key must match the path.")
    version = service.get_version(session, model_id=model_id, number=number)
    check_if_match(request, version.version)
    version = service.upsert_competency(session, version=version, competency=competency)
    return _with_content(session, version, response)


@router.delete(
    "/competency-models/{model_id}/versions/{number}/competencies/{key}",
    summary="Remove a competency from a draft version",
    response_model=VersionWithContent,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412),
)
def delete_competency(
    request: Request,
    session: SessionDep,
    model_id: uuid.UUID,
    number: Number,
    key: Key,
    response: Response,
) -> Any:
    """409 while a tier, role requirement or activity mapping still uses it."""
    version = service.get_version(session, model_id=model_id, number=number)
    check_if_match(request, version.version)
    version = service.delete_competency(session, version=version, key=key)
    return _with_content(session, version, response)


@router.put(
    "/competency-models/{model_id}/versions/{number}/tiers/{key}",
    summary="Add or replace a diploma tier of a draft version",
    response_model=VersionWithContent,
    dependencies=WRITE,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 415),
)
def put_tier(
    request: Request,
    session: SessionDep,
    model_id: uuid.UUID,
    number: Number,
    key: Key,
    tier: TierContent,
    response: Response,
) -> Any:
    """A new tier is added as the highest; its requirements replace the old ones."""
    if tier.key != key:
        raise BadRequest("The tier's key must match the path.")
    version = service.get_version(session, model_id=model_id, number=number)
    check_if_match(request, version.version)
    version = service.upsert_tier(session, version=version, tier=tier)
    return _with_content(session, version, response)


@router.post(
    "/competency-models/{model_id}/versions/{number}/activity-mappings",
    summary="Map an LMS activity to a competency in a draft version",
    status_code=201,
    response_model=VersionWithContent,
    dependencies=[*WRITE, Depends(idempotency_key)],
    responses=problem_responses(401, 403, 404, 409, 412, 415),
)
def add_activity_mapping(
    request: Request,
    session: SessionDep,
    model_id: uuid.UUID,
    number: Number,
    mapping: ActivityMappingContent,
    response: Response,
) -> Any:
    """Several activities may map to one competency; exact or prefix match on the activity id."""
    version = service.get_version(session, model_id=model_id, number=number)
    check_if_match(request, version.version)
    version = service.add_activity_mapping(session, version=version, mapping=mapping)
    return _with_content(session, version, response)


@router.get(
    "/competency-models/{model_id}/versions/{number}/activity-mappings:match",
    summary="Find the mappings an LMS activity id matches",
    response_model=list[MatchedMapping],
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def match_activity(
    session: SessionDep,
    model_id: uuid.UUID,
    number: Number,
    activity_id: Annotated[str, Query(min_length=1, max_length=1000)],
) -> Any:
    """What the LMS integration uses to turn a learning record into evidence."""
    version = service.get_version(session, model_id=model_id, number=number)
    return service.match_activity(session, version_id=version.id, activity_id=activity_id)


@router.post(
    "/competency-models/{model_id}/versions/{number}/publish",
    summary="Publish a draft version",
    response_model=PublishResult,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409, 412),
)
def publish(request: Request, session: SessionDep, model_id: uuid.UUID, number: Number) -> Any:
    """It becomes the current version and never changes; 422 lists each publishing rule broken."""
    version = service.get_version(session, model_id=model_id, number=number)
    check_if_match(request, version.version)
    version, warnings = service.publish(session, version=version)
    return {"version": version, "warnings": warnings}


@router.post(
    "/competency-models/{model_id}/versions/{number}/retire",
    summary="Retire a published version",
    response_model=VersionPublic,
    dependencies=WRITE,
    responses=problem_responses(401, 403, 404, 409),
)
def retire(session: SessionDep, model_id: uuid.UUID, number: Number) -> Any:
    """The model then has no current version until a draft is published."""
    version = service.get_version(session, model_id=model_id, number=number)
    return service.retire(session, version=version)


@router.post(
    "/competency-models/{model_id}/versions/{number}/copy",
    summary="Copy a version to a new draft",
    status_code=201,
    response_model=VersionPublic,
    dependencies=[*WRITE, Depends(idempotency_key)],
    responses=problem_responses(401, 403, 404, 409, 415),
)
def copy_to_draft(
    session: SessionDep, model_id: uuid.UUID, number: Number, data: VersionCopy | None = None
) -> Any:
    """The way to change a published model; 409 when the model already has a draft."""
    version = service.get_version(session, model_id=model_id, number=number)
    return service.copy_to_draft(session, version=version, notes=data.notes if data else None)


@router.get(
    "/competency-models/{model_id}/versions/{a}/diff/{b}",
    summary="Compare two versions",
    response_model=VersionDiff,
    dependencies=READ,
    responses=problem_responses(400, 401, 403, 404),
)
def diff(session: SessionDep, model_id: uuid.UUID, a: Number, b: Number) -> Any:
    """Competencies, tiers and tier requirements added, removed or changed from a to b."""
    return service.diff(session, model_id=model_id, from_number=a, to_number=b)


@router.get(
    "/competency-models/{model_id}/matrix",
    summary="Roles x competencies matrix (JSON or CSV)",
    response_model=Matrix,
    dependencies=READ,
    responses={**json_or_csv_responses(), **problem_responses(400, 401, 403, 404)},
)
def matrix(
    request: Request,
    session: SessionDep,
    model_id: uuid.UUID,
    version: Annotated[int | None, Query(ge=1, description="Default: the current version")] = None,
    language: Language = "en",
) -> Any:
    """Each active role's tier and required competencies with minimum level and forms."""
    data = requirements.matrix(session, model_id=model_id, number=version, language=language)
    if wants_csv(request):
        rows, columns = requirements.matrix_rows(data)
        return csv_response(
            rows, columns=columns, filename=f"{data['model_key']}-v{data['version']}-matrix.csv"
        )
    return data


@router.get(
    "/competency-models/{model_id}/versions/{number}/document",
    summary="Export a version as the service's plain JSON document",
    response_model=ModelDocument,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def export_document(session: SessionDep, model_id: uuid.UUID, number: Number) -> Any:
    """Importable with POST /competency-models:import."""
    model = service.get_model(session, model_id=model_id)
    version = service.get_version(session, model_id=model_id, number=number)
    return ModelDocument(
        key=model.key,
        name=model.name,
        description=model.description,
        version=version.number,
        content=service.version_content(session, version=version),
    )


@router.get(
    "/competency-models/{model_id}/versions/{number}/case",
    summary="Export a version as a 1EdTech CASE 1.1 package",
    response_model=case.CFPackage,
    response_model_exclude_none=True,
    dependencies=READ,
    responses=problem_responses(401, 403, 404),
)
def export_case(
    session: SessionDep, model_id: uuid.UUID, number: Number, language: Language = "en"
) -> Any:
    """CFDocument, CFItems (domains, levels, tiers, competencies), CFAssociations, CFRubrics."""
    model = service.get_model(session, model_id=model_id)
    version = service.get_version(session, model_id=model_id, number=number)
    return case.export_package(
        model_key=model.key,
        model_name=model.name,
        model_description=model.description,
        number=version.number,
        status=str(version.status),
        changed_at=version.published_at or version.updated_at,
        content=service.version_content(session, version=version),
        language=language,
    )


@router.get(
    "/roles/{role_id}/requirement",
    summary="A role's AI competency requirement and where it comes from",
    response_model=RoleRequirement,
    dependencies=READ,
    responses=problem_responses(400, 401, 403, 404),
)
def role_requirement(
    session: SessionDep,
    role_id: uuid.UUID,
    model_id: Annotated[
        uuid.UUID | None, Query(description="Default: the only published model")
    ] = None,
    version: Annotated[int | None, Query(ge=1, description="Default: the current version")] = None,
) -> Any:
    """Derived from the register (risk class, overseer) unless a role or job family tier is set."""
    return requirements.role_requirement(
        session, role_id=role_id, model_id=model_id, number=version
    )
