"""Imports every models module so SQLModel.metadata knows all tables (Alembic and tests)."""

from app.auth import models as auth_models  # noqa: F401
from app.certification import models as certification_models  # noqa: F401
from app.competencies import models as competency_models  # noqa: F401
from app.core import audit, idempotency, outbox  # noqa: F401
from app.evidence import models as evidence_models  # noqa: F401
from app.integrations.hris import models as hris_models  # noqa: F401
from app.integrations.scim import models as scim_models  # noqa: F401
from app.integrations.scorm import models as scorm_models  # noqa: F401
from app.integrations.webhooks import models as webhook_models  # noqa: F401
from app.integrations.xapi import models as xapi_models  # noqa: F401
from app.org import models as org_models  # noqa: F401
from app.registry import models as registry_models  # noqa: F401
from app.reports import models as report_models  # noqa: F401
from app.rollout import models as rollout_models  # noqa: F401
