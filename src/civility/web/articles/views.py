from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from civility.web.comments.views import section_context

from .models import Article


@require_GET
def home(request):
    return render(request, "articles/home.html", {"articles": Article.objects.all()[:100]})


@require_GET
def detail(request, slug):
    article = get_object_or_404(Article, slug=slug)
    return render(request, "articles/detail.html", section_context(request, article))
