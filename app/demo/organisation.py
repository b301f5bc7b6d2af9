"""Demo organisation: org units, locations, job families, roles and people."""

from sqlmodel import Session


def load(session: Session, *, language: str) -> dict[str, int]:
    return {}
