"""`civility demo`: a working newsroom on SQLite in ./var, filled through the real pipeline.

Migrates, loads our demo articles, posts the demo comments through `submit_comment` (so the
engine and the policy decide what they can), creates a demo moderator, then serves."""

import secrets

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from civility.web.articles.demo.content import ARTICLES, COMMENTS
from civility.web.articles.models import Article
from civility.web.comments.models import Comment
from civility.web.comments.services import submit_comment
from civility.web.site.services import create_moderator

DEMO_MODERATOR = "demo-moderator"


def load_demo_content() -> tuple[int, int]:
    """(articles created, comments posted); posts nothing if the demo was loaded before."""
    created = 0
    for data in ARTICLES:
        fields = {k: v for k, v in data.items() if k != "slug"}
        _, was_created = Article.objects.get_or_create(slug=data["slug"], defaults=fields)
        created += was_created
    articles = {a.slug: a for a in Article.objects.filter(slug__in=[d["slug"] for d in ARTICLES])}
    if Comment.objects.filter(article__in=articles.values()).exists():
        return created, 0
    posted: list[Comment] = []
    # The demo posts faster than a reader could; lift the posting limits while it does.
    unlimited = (10_000, 60)
    with override_settings(
        CIVILITY_POST_LIMIT_PER_IP=unlimited, CIVILITY_POST_LIMIT_PER_AUTHOR=unlimited
    ):
        for number, (slug, author, text, lang, reply_to) in enumerate(COMMENTS):
            parent = posted[reply_to] if reply_to is not None else None
            ip = f"192.0.2.{number % 250 + 1}"  # TEST-NET addresses: clearly not real readers
            article = articles[slug]
            posted.append(submit_comment(article, author, "", text, parent, ip=ip, lang=lang))
    return created, len(posted)


class Command(BaseCommand):
    help = (
        "Set up the demo newsroom (SQLite under ./var by default) and serve it on 127.0.0.1:8000."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="set up, print, and exit")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        articles, comments = load_demo_content()
        self.stdout.write(
            f"Demo content: {articles} new articles, {comments} comments posted through the engine"
        )
        counts = {s: 0 for s in ("pending", "approved", "rejected")}
        for status in Comment.objects.with_status().values_list("current_status", flat=True):
            counts[status] += 1
        self.stdout.write("Comments now: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        password = secrets.token_urlsafe(9)
        user, _, token = create_moderator(DEMO_MODERATOR, "moderator@demo.invalid", password)
        user.set_password(password)  # a fresh password each run, so it can always be printed
        user.save(update_fields=["password"])
        host, port = options["host"], options["port"]
        self.stdout.write(
            f"Demo moderator: sign in at http://{host}:{port}/accounts/login/ as "
            f"{DEMO_MODERATOR} with password {password}"
        )
        self.stdout.write(f"Moderator API token: {token}")
        if options["no_serve"]:
            return
        from .serve import run_gunicorn, warm_engine

        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(warm_engine())
        self.stdout.write(f"Serving the demo on http://{host}:{port}/ (Ctrl-C stops)")
        self.stdout.flush()
        run_gunicorn(host, port, options["workers"], quiet=True)
