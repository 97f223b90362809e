"""The reader's pages in each of the six languages, in Chromium: an article in the language,
a comment posted through the form, the held notice in the same language, the document's
direction; and the live counter counting what the server's limit counts.

Screenshots go to the test output folder: $CIVILITY_TEST_OUTPUT (default: out/ at the
repository root), under browser/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from civility.web.articles.models import Article
from civility.web.comments.models import Comment
from civility.web.comments.services import MAX_COMMENT_CHARS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPOSITORY = Path(__file__).resolve().parents[2]

# (language, direction, article title, body, reader's name, comment), written for this test.
STORIES = [
    (
        "en",
        "ltr",
        "Iraq and the US resume security talks",
        "Delegations met in Baghdad to discuss the future of the coalition.",
        "Layla",
        "Who will check that the timetable is kept?",
    ),
    (
        "ar",
        "rtl",
        "العراق والولايات المتحدة تستأنفان المحادثات الأمنية",
        "التقى الوفدان في بغداد لبحث مستقبل التحالف.",
        "عمر",
        "أتمنى أن تؤدي هذه المحادثات إلى انسحاب منظم يحفظ أمن المدنيين.",
    ),
    (
        "fa",
        "rtl",
        "عراق و آمریکا گفت‌وگوهای امنیتی را از سر گرفتند",
        "هیئت‌ها در بغداد دربارهٔ آیندهٔ ائتلاف گفت‌وگو کردند.",
        "سارا",
        "امیدوارم این گفت‌وگوها به امنیت مردم کمک کند.",
    ),
    (
        "tr",
        "ltr",
        "Irak ve ABD güvenlik görüşmelerine yeniden başladı",
        "Heyetler koalisyonun geleceğini görüşmek için Bağdat'ta bir araya geldi.",
        "Deniz",
        "Bu görüşmeler bölgedeki istikrar için önemli.",
    ),
    (
        "ckb",
        "rtl",
        "عێراق و ئەمریکا وتووێژە ئەمنییەکان دەست پێدەکەنەوە",
        "شاندەکان لە بەغدا کۆبوونەوە بۆ تاوتوێکردنی داهاتووی هاوپەیمانی.",
        "ئاراس",
        "هیوادارم ئەم وتووێژانە ئاسایشی خەڵک بپارێزن.",
    ),
    (
        "kmr",
        "ltr",
        "Iraq û DYA dîsa dest bi danûstandinên ewlehiyê dikin",
        "Şandeyan li Bexdayê li ser paşeroja hevpeymaniyê civiyan.",
        "Rojda",
        "Hêvîdarim ev danûstandin ewlehiya gel biparêzin.",
    ),
]


@pytest.fixture(scope="module")
def output_folder() -> Path:
    folder = Path(os.environ.get("CIVILITY_TEST_OUTPUT") or REPOSITORY / "out") / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return gettext(text)


@pytest.mark.parametrize(
    "language, direction, title, body, author, text", STORIES, ids=[s[0] for s in STORIES]
)
def test_article_post_and_held_notice_in_each_language(
    site, reader_page, output_folder, language, direction, title, body, author, text
):
    article = Article.objects.create(
        slug=f"security-talks-{language}", title=title, body=body, language=language
    )
    page = reader_page
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(f"{site.url}/articles/{article.slug}/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", language)
    expect(html).to_have_attribute("dir", direction)
    heading = translated(language, "Post a comment")
    expect(page.locator("#post-comment h3")).to_have_text(heading)
    if language != "en":
        assert heading != "Post a comment"  # a real translation, not the English fallback
    # The layout mirrors: the submit button sits at the start of the line, which is the
    # right edge of the form in a right-to-left page.
    form = page.locator("#post-comment").bounding_box()
    button = page.locator("#post-comment button[type=submit]").bounding_box()
    if direction == "rtl":
        assert abs((button["x"] + button["width"]) - (form["x"] + form["width"])) < 2
    else:
        assert abs(button["x"] - form["x"]) < 2
    page.fill("#id_author", author)
    page.fill("#id_text", text)
    page.screenshot(path=output_folder / f"article-{language}.png", full_page=True)
    page.click("#post-comment button[type=submit]")

    expect(page.locator("h1")).to_have_text(translated(language, "Awaiting moderation"))
    expect(page.locator(".notice")).to_have_text(
        translated(language, "Thank you. Your comment was received.")
    )
    expect(page.locator("html")).to_have_attribute("dir", direction)
    expect(page.locator("html")).to_have_attribute("lang", language)
    # the reader's own words keep their own direction, isolated from the page's
    expect(page.locator("blockquote.comment-text")).to_have_attribute("dir", "auto")
    page.screenshot(path=output_folder / f"held-{language}.png", full_page=True)
    comment = Comment.objects.get(article=article)
    assert (comment.author_name, comment.body, comment.status) == (author, text, "pending")
    for name in (f"article-{language}.png", f"held-{language}.png"):
        assert (output_folder / name).read_bytes()[:8] == PNG_MAGIC


def test_counter_counts_like_the_server_in_persian_digits(site, reader_page):
    article = Article.objects.create(slug="counter", title="شمارنده", language="fa")
    page = reader_page
    page.goto(f"{site.url}/articles/{article.slug}/")
    counter = page.locator("#text-counter")
    # an emoji (two UTF-16 units), a Persian letter, a zero-width non-joiner and a line break
    text = "😀 نظر\u200cها\nخوب"
    page.fill("#id_text", text)
    sent = len(text.replace("\n", "\r\n"))  # what the form sends and the server counts
    expect(counter).to_have_attribute("data-used", str(sent))
    shown = translated("fa", "{used} of {max} characters")
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    expected = shown.replace("{used}", str(sent).translate(persian)).replace(
        "{max}", str(MAX_COMMENT_CHARS).translate(persian)
    )
    expect(counter).to_have_text(expected)
    # just over the limit: the counter says so before the server does
    page.fill("#id_text", "ب" * (MAX_COMMENT_CHARS - 1) + "\n")
    expect(counter).to_have_attribute("data-used", str(MAX_COMMENT_CHARS + 1))
    expect(counter).to_have_class("counter over")
    page.fill("#id_author", "Sara")
    page.click("#post-comment button[type=submit]")
    expect(page.locator(".error[data-field=text]")).to_be_visible()
    assert not Comment.objects.exists()
    # exactly at the limit, line break included: accepted
    page.fill("#id_text", "ب" * (MAX_COMMENT_CHARS - 2) + "\n")
    expect(counter).to_have_attribute("data-used", str(MAX_COMMENT_CHARS))
    page.click("#post-comment button[type=submit]")
    expect(page.locator("h1")).to_have_text(translated("fa", "Awaiting moderation"))
    assert len(Comment.objects.get().body) == MAX_COMMENT_CHARS - 2  # the ends are trimmed


def test_reader_switches_language_and_it_sticks_through_posting(site, reader_page):
    article = Article.objects.create(slug="switch", title="Budget vote", language="en")
    page = reader_page
    page.goto(f"{site.url}/articles/{article.slug}/")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.click("nav.languages a[hreflang=ckb]")
    expect(page.locator("html")).to_have_attribute("lang", "ckb")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.fill("#id_author", "Aras")
    page.fill("#id_text", "A fair summary of the vote.")
    page.click("#post-comment button[type=submit]")
    expect(page.locator("h1")).to_have_text(translated("ckb", "Awaiting moderation"))


def test_moderator_pages_in_each_language_from_the_preferences(site, moderator_page, output_folder):
    """The moderator picks a language in the preferences; the queue and the dashboard follow,
    with their direction."""
    article = Article.objects.create(slug="queue-story", title="Iraq talks", language="en")
    Comment.objects.create(article=article, author_name="عمر", body="تعليق ينتظر المراجعة.")
    page = moderator_page
    page.set_viewport_size({"width": 1100, "height": 800})
    for language, direction, *_ in STORIES:
        page.goto(f"{site.url}/moderation/preferences/")
        page.select_option("#id_language", language)
        page.click(".preferences button[type=submit]")
        expect(page.locator(".mod-messages")).to_have_text(
            translated(language, "Preferences saved.")
        )
        page.goto(f"{site.url}/moderation/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("html")).to_have_attribute("dir", direction)
        expect(page.locator(".moderation h1")).to_contain_text(
            translated(language, "Moderation queue")
        )
        expect(page.locator(".card .author")).to_have_text("عمر")
        page.screenshot(path=output_folder / f"queue-{language}.png", full_page=True)
        page.goto(f"{site.url}/moderation/dashboard/")
        expect(page.locator(".dashboard h1")).to_have_text(
            translated(language, "Moderation dashboard")
        )
        expect(page.locator("html")).to_have_attribute("dir", direction)
