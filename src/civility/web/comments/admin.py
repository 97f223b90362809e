"""Admin: read-only views of comments and the decision trail (no editing, no deleting)."""

from django.contrib import admin

from .models import Assessment, Comment, Decision


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("id", "article", "author_name", "created", "language")
    search_fields = ("body", "author_name")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("comment", "action", "reasons", "actor", "actor_policy_version", "created")


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    list_display = ("comment", "suggested_decision", "score", "model_version")
