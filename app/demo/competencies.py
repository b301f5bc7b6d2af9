"""Demo competency model: a template with role requirements and activity mappings."""

from sqlmodel import Session


def load(session: Session, *, language: str) -> dict[str, int]:
    return {}
