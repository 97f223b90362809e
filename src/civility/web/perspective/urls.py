from django.urls import path

from . import views

app_name = "perspective"

urlpatterns = [
    path("v1alpha1/comments:analyze", views.analyze, name="analyze"),
    path("v1alpha1/comments:suggestscore", views.suggestscore, name="suggestscore"),
    path("coral/moderate", views.coral_moderate, name="coral-moderate"),
]
