from django.urls import path

from . import article_pages as views

app_name = "articles"  # the URL names stay articles:home, articles:detail

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<slug:slug>/", views.detail, name="detail"),
]
