"""Demo AI-use register: AI systems, processes, role-process links, intake."""

from sqlmodel import Session


def load(session: Session, *, language: str) -> dict[str, int]:
    return {}
