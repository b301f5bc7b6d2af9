"""Alembic owns the schema: the migrations produce exactly the models, on both databases."""

from app.core import migrations


def test_models_and_migrations_do_not_drift(database):
    """`alembic check` finds no difference between the models and the migrated database."""
    migrations.check(database.url)


def test_database_is_at_head(database):
    assert migrations.current_revision(database.engine) == migrations.head_revision()
