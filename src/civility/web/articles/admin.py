from django.contrib import admin

from .models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "language", "comments_open", "created")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
