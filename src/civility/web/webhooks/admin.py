"""Admin: register webhooks (URL, events, secret) and read the delivery log."""

from django import forms
from django.contrib import admin

from .models import EVENTS, Delivery, Webhook


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Webhook
        fields = ("url", "events", "active", "description", "secret")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ("url", "events", "active", "description", "created")
    list_filter = ("active",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only; the body and every attempt are shown as text."""

    list_display = (
        "id",
        "event",
        "webhook",
        "comment_id",
        "status",
        "attempts",
        "last_response",
        "last_error",
        "created",
        "delivered",
    )
    list_filter = ("status", "event", "webhook")
    search_fields = ("delivery_id",)
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
