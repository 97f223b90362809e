from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from civility.web.comments.cache import get_article
from civility.web.comments.views import render_comment_page

from .models import Article


@require_GET
def home(request):
    return render(request, "articles/home.html", {"articles": Article.objects.all()[:100]})


@require_GET
def detail(request, slug):
    article = get_article(slug)
    if article is None:
        raise Http404
    return render_comment_page(request, article, "articles/detail.html")
