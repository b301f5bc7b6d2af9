"""Imports every models module so SQLModel.metadata knows all tables (Alembic and tests)."""

from app.auth import models as auth_models  # noqa: F401
from app.core import audit, idempotency  # noqa: F401
from app.org import models as org_models  # noqa: F401
