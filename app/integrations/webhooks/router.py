"""HTTP for webhook subscriptions, their delivery log, dead letters and replay."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlmodel import Session

from app.auth.dependencies import require
from app.core.config import Settings
from app.core.errors import problem_responses
from app.core.etag import check_if_match, set_etag
from app.core.idempotency import idempotency_key
from app.core.pagination import Page, PageParams, page_params
from app.core.routing import api_router, get_session
from app.integrations.webhooks import service
from app.integrations.webhooks.models import DeliveryState, WebhookSubscription
from app.integrations.webhooks.schemas import (
    EVENT_TYPES,
    DeliveryPublic,
    DeliveryWithAttempts,
    EventTypePublic,
    RotateSecret,
    SubscriptionCreate,
    SubscriptionPublic,
    SubscriptionUpdate,
    SubscriptionWithSecret,
)

SessionDep = Annotated[Session, Depends(get_session)]
PageDep = Annotated[PageParams, Depends(page_params)]
MANAGE = [require("webhooks:manage")]

router = api_router(prefix="/webhooks", tags=["webhooks"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def valid_subscription(session: SessionDep, subscription_id: uuid.UUID) -> WebhookSubscription:
    """Path loader: the subscription or 404."""
    return service.get_subscription(session, subscription_id=subscription_id)


ValidSubscription = Annotated[WebhookSubscription, Depends(valid_subscription)]
SettingsDep = Annotated[Settings, Depends(_settings)]


def _with_secret(subscription: WebhookSubscription) -> SubscriptionWithSecret:
    return SubscriptionWithSecret(
        **SubscriptionPublic.model_validate(subscription).model_dump(), secret=subscription.secret
    )


@router.get(
    "/event-types",
    summary="List event types",
    response_model=list[EventTypePublic],
    dependencies=MANAGE,
    responses=problem_responses(401, 403),
)
def list_event_types() -> Any:
    """The event types a subscription can ask for ('*' means all of them)."""
    return [{"type": key, "description": text} for key, text in EVENT_TYPES.items()]


@router.get(
    "/subscriptions",
    summary="List webhook subscriptions",
    response_model=Page[SubscriptionPublic],
    dependencies=MANAGE,
    responses=problem_responses(400, 401, 403),
)
def list_subscriptions(session: SessionDep, page: PageDep) -> Any:
    """Subscriptions without their secrets."""
    items, next_cursor = service.list_subscriptions(session, page=page)
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "/subscriptions",
    summary="Create a webhook subscription",
    status_code=201,
    response_model=SubscriptionWithSecret,
    dependencies=[*MANAGE, Depends(idempotency_key)],
    responses=problem_responses(401, 403, 409, 415),
)
def create_subscription(
    session: SessionDep, data: SubscriptionCreate, settings: SettingsDep, response: Response
) -> Any:
    """The signing secret (whsec_...) is returned here once; private targets are refused."""
    subscription = service.create_subscription(
        session, data=data, private_allowed=settings.webhooks_allow_private
    )
    set_etag(response, subscription.version)
    return _with_secret(subscription)


@router.get(
    "/subscriptions/{subscription_id}",
    summary="Get a webhook subscription",
    response_model=SubscriptionPublic,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404),
)
def get_subscription(subscription: ValidSubscription, response: Response) -> Any:
    """One subscription with its failure count and why it was disabled, if it was."""
    set_etag(response, subscription.version)
    return subscription


@router.patch(
    "/subscriptions/{subscription_id}",
    summary="Change a webhook subscription",
    response_model=SubscriptionPublic,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404, 412, 415),
)
def update_subscription(
    request: Request,
    session: SessionDep,
    subscription: ValidSubscription,
    data: SubscriptionUpdate,
    settings: SettingsDep,
    response: Response,
) -> Any:
    """Only the fields sent change; `active: true` re-enables and resets the failure count."""
    check_if_match(request, subscription.version)
    updated = service.update_subscription(
        session,
        subscription=subscription,
        data=data,
        private_allowed=settings.webhooks_allow_private,
    )
    set_etag(response, updated.version)
    return updated


@router.delete(
    "/subscriptions/{subscription_id}",
    summary="Delete a webhook subscription",
    status_code=204,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404, 412),
)
def delete_subscription(
    request: Request, session: SessionDep, subscription: ValidSubscription
) -> Response:
    """Deletes its queued deliveries and their log too."""
    check_if_match(request, subscription.version)
    service.delete_subscription(session, subscription=subscription)
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    summary="Rotate a subscription's signing secret",
    response_model=SubscriptionWithSecret,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404, 415),
)
def rotate_secret(
    session: SessionDep,
    subscription: ValidSubscription,
    settings: SettingsDep,
    response: Response,
    data: RotateSecret | None = None,
) -> Any:
    """Returns the new secret once; the old one keeps signing alongside it for the overlap."""
    seconds = data.overlap_seconds if data and data.overlap_seconds is not None else None
    if seconds is None:
        seconds = settings.webhooks_rotation_overlap_seconds
    rotated = service.rotate_secret(
        session, subscription=subscription, overlap=timedelta(seconds=seconds)
    )
    set_etag(response, rotated.version)
    return _with_secret(rotated)


@router.post(
    "/subscriptions/{subscription_id}/test",
    summary="Send a test ping",
    status_code=202,
    response_model=DeliveryPublic,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404, 409),
)
def send_test(session: SessionDep, subscription: ValidSubscription) -> Any:
    """Queues a signed `webhook.test` event; follow it in the subscription's deliveries."""
    return service.send_test(session, subscription=subscription)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    summary="List a subscription's deliveries",
    response_model=Page[DeliveryWithAttempts],
    dependencies=MANAGE,
    responses=problem_responses(400, 401, 403, 404),
)
def list_deliveries(
    session: SessionDep,
    subscription: ValidSubscription,
    page: PageDep,
    state: DeliveryState | None = None,
) -> Any:
    """Each delivery with its log of attempts (time, status code, duration, error)."""
    items, next_cursor = service.list_deliveries(
        session, subscription_id=subscription.id, page=page, state=state
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/dead-letters",
    summary="List dead-lettered deliveries",
    response_model=Page[DeliveryWithAttempts],
    dependencies=MANAGE,
    responses=problem_responses(400, 401, 403),
)
def list_dead_letters(
    session: SessionDep, page: PageDep, subscription_id: uuid.UUID | None = None
) -> Any:
    """Deliveries whose retries ran out or whose endpoint answered 410; replay them."""
    items, next_cursor = service.list_dead_letters(
        session, page=page, subscription_id=subscription_id
    )
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/deliveries/{delivery_id}",
    summary="Get a delivery",
    response_model=DeliveryWithAttempts,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404),
)
def get_delivery(session: SessionDep, delivery_id: uuid.UUID) -> Any:
    """One delivery with its attempts."""
    delivery = service.get_delivery(session, delivery_id=delivery_id)
    return service.delivery_view(session, delivery)


@router.post(
    "/deliveries/{delivery_id}/replay",
    summary="Replay a delivery",
    status_code=202,
    response_model=DeliveryPublic,
    dependencies=MANAGE,
    responses=problem_responses(401, 403, 404, 409),
)
def replay_delivery(session: SessionDep, delivery_id: uuid.UUID) -> Any:
    """Queues a dead or delivered event again with the same webhook-id and a fresh schedule."""
    delivery = service.get_delivery(session, delivery_id=delivery_id)
    return service.replay(session, delivery=delivery)
