"""HTTP for the registry package."""

from app.core.routing import api_router

router = api_router()
