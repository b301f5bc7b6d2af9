"""Worker jobs of the LMS integration: attach statements and SCORM attempts of people
who appeared after their records arrived, and the scheduled pull from a remote LRS."""

from __future__ import annotations

from sqlmodel import Session

from app.core.config import Settings
from app.core.db import make_session_factory
from app.integrations.scorm import service as scorm_service
from app.integrations.xapi import service, sync


class ResolvePending:
    """Statements and attempts kept for unknown learners become evidence once they resolve."""

    def __init__(self, settings: Settings) -> None:
        self.account_homepage = settings.xapi_account_homepage

    def __call__(self, session: Session) -> int:
        attached = service.resolve_pending(session, account_homepage=self.account_homepage)
        return attached + scorm_service.resolve_pending(session)


class PullRemoteLRS:
    """AIDIPLOMA_XAPI_SYNC_ENDPOINT/_KEY/_SECRET: pull new statements every interval."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, session: Session) -> int:
        settings = self.settings
        assert settings.xapi_sync_endpoint and settings.xapi_sync_key
        # The pull commits per page in sessions of its own on the same database.
        factory = make_session_factory(session.get_bind())
        result = sync.pull(
            factory,
            endpoint=settings.xapi_sync_endpoint,
            key=settings.xapi_sync_key,
            secret=settings.xapi_sync_secret or "",
            account_homepage=settings.xapi_account_homepage,
            retries=2,
        )
        return result.statements
