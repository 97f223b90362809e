"""Database-level guarantees for the audit trail, per vendor.

The model layer refuses these changes too; the triggers make sure that raw SQL, a shell
session or a future bug cannot rewrite what a reader wrote or what a moderator decided."""

from civility.web.appendonly import Triggers

SQLITE_CREATE = [
    """CREATE TRIGGER civility_comment_body_immutable
       BEFORE UPDATE OF body ON comments_comment
       WHEN NEW.body IS NOT OLD.body
       BEGIN SELECT RAISE(ABORT, 'civility: a comment body is immutable'); END""",
    """CREATE TRIGGER civility_decision_no_update
       BEFORE UPDATE ON comments_decision
       BEGIN SELECT RAISE(ABORT, 'civility: decisions are append-only'); END""",
    """CREATE TRIGGER civility_decision_no_delete
       BEFORE DELETE ON comments_decision
       BEGIN SELECT RAISE(ABORT, 'civility: decisions are append-only'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS civility_comment_body_immutable",
    "DROP TRIGGER IF EXISTS civility_decision_no_update",
    "DROP TRIGGER IF EXISTS civility_decision_no_delete",
]

POSTGRES_CREATE = [
    """CREATE OR REPLACE FUNCTION civility_refuse_change() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'civility: %', TG_ARGV[0]; END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER civility_comment_body_immutable
       BEFORE UPDATE OF body ON comments_comment
       FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body)
       EXECUTE FUNCTION civility_refuse_change('a comment body is immutable')""",
    """CREATE TRIGGER civility_decision_append_only
       BEFORE UPDATE OR DELETE ON comments_decision
       FOR EACH ROW EXECUTE FUNCTION civility_refuse_change('decisions are append-only')""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS civility_comment_body_immutable ON comments_comment",
    "DROP TRIGGER IF EXISTS civility_decision_append_only ON comments_decision",
    "DROP FUNCTION IF EXISTS civility_refuse_change()",
]


def create_statements(vendor: str) -> list[str]:
    return {"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}.get(vendor, [])


def drop_statements(vendor: str) -> list[str]:
    return {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}.get(vendor, [])


# Appeals and their outcomes (migration 0007): append-only like the decisions.
APPEALS = Triggers("comments_appeal", "appeal", "appeals")
APPEAL_OUTCOMES = Triggers("comments_appealoutcome", "appeal_outcome", "appeal outcomes")
