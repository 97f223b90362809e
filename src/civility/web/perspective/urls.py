from django.urls import path

from . import views

app_name = "perspective"

urlpatterns = [
    path("v1alpha1/comments:analyze", views.analyze, name="analyze"),
    path("v1alpha1/comments:suggestscore", views.suggestscore, name="suggestscore"),
    path("$discovery/rest", views.discovery_document, name="discovery"),
    path("coral/moderate", views.coral_moderate, name="coral-moderate"),
]
