"""Alembic owns the schema: the migrations produce exactly the models, on both databases."""

from app.core import migrations


def test_models_and_migrations_do_not_drift(database):
    """`alembic check` finds no difference between the models and the migrated database."""
    migrations.check(database.url)


def test_database_is_at_head(database):
    assert migrations.current_revision(database.engine) == migrations.head_revision()


def test_migrations_are_reversible(database, tmp_path):
    """Down to nothing and up again on a fresh database of the same kind."""
    from alembic import command

    from tests.conftest import create_database, drop_database

    fresh = create_database(database.backend, tmp_path)
    try:
        config = migrations.alembic_config(fresh.url)
        command.downgrade(config, "base")
        assert migrations.current_revision(fresh.engine) is None
        command.upgrade(config, "head")
        assert migrations.current_revision(fresh.engine) == migrations.head_revision()
    finally:
        drop_database(fresh)
