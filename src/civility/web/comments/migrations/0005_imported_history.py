"""Imported history (`civility import`): a checksum on comments that came from another system,
and imported decisions (no user, no policy; the decider's name kept as text).

SQLite changes a table's columns and constraints by copying it into a new table, which drops
the table's triggers: the audit-trail triggers are installed again at the end."""

from django.conf import settings
from django.db import migrations, models

from civility.web.comments.triggers import create_statements, drop_statements


def reinstall_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in [*drop_statements(vendor), *create_statements(vendor)]:
        schema_editor.execute(sql, params=None)  # None: a literal % stays literal


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0004_awaiting_assessment"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Unapplying ends here: the copies made on the way back dropped the triggers too.
        migrations.RunPython(migrations.RunPython.noop, reinstall_triggers),
        migrations.RemoveConstraint(
            model_name="decision",
            name="decision_has_actor",
        ),
        migrations.AddField(
            model_name="comment",
            name="import_key",
            field=models.CharField(
                blank=True, editable=False, max_length=64, null=True, unique=True
            ),
        ),
        migrations.AddField(
            model_name="decision",
            name="decided_by",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="decision",
            name="imported",
            field=models.BooleanField(default=False),
        ),
        migrations.AddConstraint(
            model_name="decision",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("actor__isnull", False),
                    models.Q(("actor_policy_version", ""), _negated=True),
                    ("imported", True),
                    _connector="OR",
                ),
                name="decision_has_actor",
            ),
        ),
        migrations.AddConstraint(
            model_name="decision",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("decided_by", ""), ("imported", False)),
                    models.Q(
                        ("actor__isnull", True), ("actor_policy_version", ""), ("imported", True)
                    ),
                    _connector="OR",
                ),
                name="decision_import_fields",
            ),
        ),
        migrations.RunPython(reinstall_triggers, migrations.RunPython.noop),
    ]
