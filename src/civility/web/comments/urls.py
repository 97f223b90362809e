from django.urls import path

from . import views

app_name = "comments"

urlpatterns = [
    path("articles/<slug:slug>/comments/", views.post_comment, name="post"),
    path("comments/status/<str:token>/", views.comment_status, name="status"),
    path("comments/status/<str:token>/appeal/", views.appeal, name="appeal"),
    path("guidelines/", views.guidelines, name="guidelines"),
    path("embed/<slug:slug>/", views.embed, name="embed"),
    path("embed/<slug:slug>/comments/", views.embed_post, name="embed-post"),
    path("embed.js", views.embed_js, name="embed-js"),
]
