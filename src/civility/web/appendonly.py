"""Append-only tables (the decision trail, the sanctions trail, appeals and their outcomes).

Two layers of the same rule. In the model layer, `AppendOnlyModel` refuses `save()` on an
existing row and `delete()`, and its `AppendOnlyQuerySet` refuses `update()` and `delete()`;
each raises the model's `append_only_error`. In the database, `Triggers` gives the SQL that
aborts any `UPDATE` or `DELETE` on the table (SQLite and PostgreSQL), installed by the app's
migration, so raw SQL, a shell or a future bug cannot rewrite the trail either.

`trail_triggers()` lists the triggers of every installed append-only model that declares
them (`trail_triggers` on the class): the test suites' flush lifts them around Django's
`flush`, the one time a trail may be emptied."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class AppendOnlyError(Exception):
    """Something tried to rewrite or delete an append-only trail."""


def _refuse(model) -> AppendOnlyError:
    return model.append_only_error(f"{model._meta.verbose_name_plural} are append-only")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise _refuse(self.model)

    def delete(self):
        raise _refuse(self.model)


class AppendOnlyModel(models.Model):
    """A row is written once: saving it again or deleting it raises `append_only_error`."""

    append_only_error: type[Exception] = AppendOnlyError
    # The database triggers of this table (a `Triggers`), for trail_triggers().
    trail_triggers: Triggers | None = None

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise _refuse(type(self))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise _refuse(type(self))


@dataclass(frozen=True)
class Triggers:
    """The triggers that abort UPDATE and DELETE on `table`: `civility_<name>_…` and the
    message `civility: <what> are append-only`."""

    table: str
    name: str
    what: str

    def create_statements(self, vendor: str) -> list[str]:
        message = f"civility: {self.what} are append-only"
        if vendor == "sqlite":
            return [
                f"""CREATE TRIGGER civility_{self.name}_no_update
       BEFORE UPDATE ON {self.table}
       BEGIN SELECT RAISE(ABORT, '{message}'); END""",
                f"""CREATE TRIGGER civility_{self.name}_no_delete
       BEFORE DELETE ON {self.table}
       BEGIN SELECT RAISE(ABORT, '{message}'); END""",
            ]
        if vendor == "postgresql":
            return [
                f"""CREATE OR REPLACE FUNCTION civility_{self.name}_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '{message}'; END;
       $$ LANGUAGE plpgsql""",
                f"""CREATE TRIGGER civility_{self.name}_append_only
       BEFORE UPDATE OR DELETE ON {self.table}
       FOR EACH ROW EXECUTE FUNCTION civility_{self.name}_refuse()""",
            ]
        return []

    def drop_statements(self, vendor: str) -> list[str]:
        if vendor == "sqlite":
            return [
                f"DROP TRIGGER IF EXISTS civility_{self.name}_no_update",
                f"DROP TRIGGER IF EXISTS civility_{self.name}_no_delete",
            ]
        if vendor == "postgresql":
            return [
                f"DROP TRIGGER IF EXISTS civility_{self.name}_append_only ON {self.table}",
                f"DROP FUNCTION IF EXISTS civility_{self.name}_refuse()",
            ]
        return []


def trail_triggers() -> list[Triggers]:
    """The triggers of every installed append-only model that declares them."""
    from django.apps import apps

    return [
        model.trail_triggers
        for model in apps.get_models()
        if issubclass(model, AppendOnlyModel) and model.trail_triggers is not None
    ]
