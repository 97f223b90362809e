from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created", "revoked")
    readonly_fields = ("key_hash", "prefix", "created")
    list_filter = ("revoked",)
