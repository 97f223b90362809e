"""The site's front page and an article's page with its comments. Here in the comments app,
not in articles: the page is the comments' (render_comment_page), and the articles app stays
below comments (comments import Article; articles import nothing of comments)."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from civility.web.articles.models import Article

from .cache import get_article
from .views import render_comment_page


@require_GET
def home(request):
    return render(request, "articles/home.html", {"articles": Article.objects.all()[:100]})


@require_GET
def detail(request, slug):
    article = get_article(slug)
    if article is None:
        raise Http404
    return render_comment_page(request, article, "articles/detail.html")
