"""Admin: the notification mails' outbox, read-only (what was sent, skipped, is retried or
was given up, and the mail server's last error)."""

from django.contrib import admin

from .models import OutgoingMail


@admin.register(OutgoingMail)
class OutgoingMailAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "comment_id",
        "language",
        "status",
        "attempts",
        "last_error",
        "created",
        "sent",
    )
    list_filter = ("status", "kind", "language")
    readonly_fields = [f.name for f in OutgoingMail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
