"""HTTP for the org package."""

from app.core.routing import api_router

router = api_router()
