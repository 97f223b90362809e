"""Database triggers for the immutable body and the append-only decisions, and the
Moderators group holding the `comments.moderate_comment` permission."""

from django.db import migrations

from civility.web.comments.triggers import create_statements, drop_statements

MODERATORS_GROUP = "Moderators"


def create_triggers(apps, schema_editor):
    for sql in create_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)  # None: a literal % stays literal


def drop_triggers(apps, schema_editor):
    for sql in drop_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)  # None: a literal % stays literal


def create_moderators_group(apps, schema_editor):
    # Permissions are normally created after migrations; make this one now so the group has it.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="comments", model="comment")
    permission, _ = Permission.objects.get_or_create(
        codename="moderate_comment",
        content_type=content_type,
        defaults={"name": "Can approve or reject comments"},
    )
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    group.permissions.add(permission)


def remove_moderators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=MODERATORS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(create_moderators_group, remove_moderators_group),
    ]
