"""Database guarantees for the sanctions trail (as comments/triggers.py does for decisions):
raw SQL, a shell or a bug cannot rewrite or delete a sanction."""

SQLITE_CREATE = [
    """CREATE TRIGGER civility_sanction_no_update
       BEFORE UPDATE ON commenters_sanction
       BEGIN SELECT RAISE(ABORT, 'civility: sanctions are append-only'); END""",
    """CREATE TRIGGER civility_sanction_no_delete
       BEFORE DELETE ON commenters_sanction
       BEGIN SELECT RAISE(ABORT, 'civility: sanctions are append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS civility_sanction_no_update",
    "DROP TRIGGER IF EXISTS civility_sanction_no_delete",
]
POSTGRES_CREATE = [
    """CREATE OR REPLACE FUNCTION civility_sanction_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'civility: sanctions are append-only'; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER civility_sanction_append_only
       BEFORE UPDATE OR DELETE ON commenters_sanction
       FOR EACH ROW EXECUTE FUNCTION civility_sanction_refuse()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS civility_sanction_append_only ON commenters_sanction",
    "DROP FUNCTION IF EXISTS civility_sanction_refuse()",
]


def create_statements(vendor: str) -> list[str]:
    return {"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}.get(vendor, [])


def drop_statements(vendor: str) -> list[str]:
    return {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}.get(vendor, [])
