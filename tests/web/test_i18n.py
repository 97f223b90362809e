"""Six languages: catalogues complete, the page language follows the article (or the reader's
pick, or the moderator's preference), right-to-left where it should be, our numbers and dates
in the language's digits, and the counter counting what the server's limit counts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from civility.web import i18n
from civility.web.articles.models import Article
from civility.web.comments import services
from civility.web.comments.models import Comment
from civility.web.comments.services import MAX_COMMENT_CHARS
from civility.web.moderation.models import ModeratorProfile

WEB = Path(i18n.__file__).resolve().parent
TRANSLATED = ("ar", "fa", "tr", "ckb", "kmr")
RTL = {"ar", "fa", "ckb"}
HTML_TAG = re.compile(r'<html lang="([^"]+)" dir="(ltr|rtl)">')


def html_lang_dir(response) -> tuple[str, str]:
    return HTML_TAG.search(response.content.decode()).groups()


# -- the catalogues ---------------------------------------------------------------------------


def po_problems(po_text: str) -> list[str]:
    """Entries of a .po file that are untranslated (any msgstr empty) or fuzzy, the header
    included; obsolete (#~) entries are ignored."""
    problems = []
    for block in re.split(r"\n\s*\n", po_text.strip()):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        flags = " ".join(line for line in lines if line.startswith("#,"))
        msgid = _joined(lines, "msgid ")
        if "fuzzy" in flags:
            problems.append(f"fuzzy: {msgid!r}")
            continue
        keys = [k for k in ("msgstr ", *(f"msgstr[{n}] " for n in range(6))) if _has(lines, k)]
        if msgid and (not keys or any(not _joined(lines, k) for k in keys)):
            problems.append(f"untranslated: {msgid!r}")
    return problems


def _has(lines, key):
    return any(line.startswith(key) for line in lines)


def _joined(lines, key) -> str:
    """The string value of `key` (msgid, msgstr, msgstr[n]) with its continuation lines."""
    out, taking = [], False
    for line in lines:
        if line.startswith(key):
            taking = True
            out.append(line[len(key) :])
        elif taking and line.startswith('"'):
            out.append(line)
        elif taking:
            break
    return "".join(part.strip()[1:-1] for part in out)


def test_po_problems_finds_untranslated_and_fuzzy_entries():
    po = (
        'msgid ""\nmsgstr ""\n"Language: ar\\n"\n\n'
        'msgid "Done"\nmsgstr "تم"\n\n'
        'msgid "Missing"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Guessed"\nmsgstr "خمن"\n\n'
        'msgid "%(n)s day"\nmsgid_plural "%(n)s days"\nmsgstr[0] "%(n)s يوم"\nmsgstr[1] ""\n\n'
        '#~ msgid "Old"\n#~ msgstr ""\n'
    )
    assert po_problems(po) == [
        "untranslated: 'Missing'",
        "fuzzy: 'Guessed'",
        "untranslated: '%(n)s day'",
    ]


def test_makemessages_finds_no_untranslated_or_fuzzy_string(tmp_path):
    """Extract every string of the web project again (Django's makemessages, into a copy of
    the tree, merged with our catalogues) and require a translation for each, in each
    language. A new or changed string without a translation fails here."""
    assert shutil.which("xgettext"), "GNU gettext is missing: `make i18n-deps` installs it"
    copy = tmp_path / "web"
    shutil.copytree(WEB, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static"))
    languages = [arg for code in TRANSLATED for arg in ("-l", code)]
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", *languages, "--no-obsolete"]
        + ["--add-location", "file", "--verbosity", "0"],
        cwd=copy,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "civility.web.settings_test"},
    )
    report = {}
    for code in TRANSLATED:
        text = (copy / "locale" / code / "LC_MESSAGES" / "django.po").read_text("utf-8")
        assert f'"Language: {code}\\n"' in text
        problems = po_problems(text)
        if problems:
            report[code] = problems
    assert not report, report


def test_every_translation_keeps_the_placeholders_of_its_source():
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}|<[^>]+>")
    for code in TRANSLATED:
        text = (WEB / "locale" / code / "LC_MESSAGES" / "django.po").read_text("utf-8")
        for block in re.split(r"\n\s*\n", text.strip())[1:]:
            lines = block.splitlines()
            if any(line.startswith("#,") and "fuzzy" in line for line in lines):
                continue  # not compiled; the makemessages test reports it
            source = _joined(lines, "msgid_plural ") or _joined(lines, "msgid ")
            wanted = sorted(set(placeholder.findall(source)))
            for key in ("msgstr ", *(f"msgstr[{n}] " for n in range(6))):
                if _has(lines, key) and _joined(lines, key):
                    found = sorted(set(placeholder.findall(_joined(lines, key))))
                    assert found == wanted, (code, source, key)


def test_catalogues_are_compiled_and_used():
    for code in TRANSLATED:
        assert (WEB / "locale" / code / "LC_MESSAGES" / "django.mo").exists()
        with translation.override(code):
            assert gettext("Awaiting moderation") != "Awaiting moderation", code
            assert gettext("Moderation queue") != "Moderation queue", code


def test_kurdish_languages_are_registered_with_their_direction():
    from django.conf.locale import LANG_INFO

    assert LANG_INFO["kmr"]["bidi"] is False and LANG_INFO["kmr"]["name_local"] == "Kurmancî"
    assert LANG_INFO["ckb"]["bidi"] is True
    assert sorted(settings.LANGUAGES_BIDI) == ["ar", "ckb", "fa"]
    for code in TRANSLATED:
        assert translation.check_for_language(code), code
        assert translation.get_language_info(code)["bidi"] is (code in RTL)


# -- which language a page speaks -------------------------------------------------------------


def make_article(code: str) -> Article:
    return Article.objects.create(slug=f"story-{code}", title=f"Story {code}", language=code)


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["en", *TRANSLATED])
def test_article_page_follows_the_article_language(code):
    article = make_article(code)
    for _ in range(2):  # built, then from the cache (and the fast path)
        response = Client().get(f"/articles/{article.slug}/", HTTP_ACCEPT_LANGUAGE="de")
        assert response.status_code == 200
        assert html_lang_dir(response) == (code, "rtl" if code in RTL else "ltr")
        assert response["Content-Language"] == code
        with translation.override(code):
            assert gettext("Post a comment") in response.content.decode()


@pytest.mark.django_db
def test_reader_can_switch_and_the_choice_is_carried_along(fake_engine):
    article = make_article("en")
    page = Client().get(f"/articles/{article.slug}/?lang=fa")
    assert html_lang_dir(page) == ("fa", "rtl")
    html = page.content.decode()
    assert f'action="/articles/{article.slug}/comments/?lang=fa"' in html
    assert 'href="/guidelines/?lang=fa"' in html
    # every language is offered, each named in itself and marked with its own language
    for code, name in settings.LANGUAGES:
        assert f'lang="{code}" hreflang="{code}"' in html and name in html
    response = Client().post(
        f"/articles/{article.slug}/comments/?lang=fa", {"author": "Sara", "text": "Fair enough."}
    )
    assert "lang=fa" in response["Location"]
    status = Client().get(response["Location"])
    assert html_lang_dir(status) == ("fa", "rtl")
    with translation.override("fa"):
        assert gettext("Thank you. Your comment was received.") in status.content.decode()
    # an unknown pick falls back on the article's language
    assert html_lang_dir(Client().get(f"/articles/{article.slug}/?lang=xx")) == ("en", "ltr")


@pytest.mark.django_db
def test_form_errors_are_in_the_reader_language(fake_engine):
    article = make_article("ar")
    response = Client().post(f"/articles/{article.slug}/comments/", {"author": "", "text": "x"})
    assert response.status_code == 400
    with translation.override("ar"):
        assert gettext("Please give a name.") in response.content.decode()
    too_long = "ب" * (MAX_COMMENT_CHARS + 1)
    response = Client().post(
        f"/articles/{article.slug}/comments/", {"author": "Ali", "text": too_long}
    )
    html = response.content.decode()
    assert response.status_code == 400 and 'data-field="text"' in html
    assert i18n.local_digits(MAX_COMMENT_CHARS + 1, "ar") in html  # ٢٠٠١, not 2001
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_moderator_pages_follow_the_profile_then_the_browser(client, moderator_user):
    client.force_login(moderator_user)
    queue = client.get("/moderation/", HTTP_ACCEPT_LANGUAGE="tr")
    assert html_lang_dir(queue) == ("tr", "ltr")
    saved = client.post("/moderation/preferences/", {"language": "ckb"})
    assert saved.status_code == 302
    assert ModeratorProfile.objects.get(user=moderator_user).language == "ckb"
    with translation.override("ckb"):  # said in the language just chosen
        assert gettext("Preferences saved.") in client.get(saved["Location"]).content.decode()
    queue = client.get("/moderation/", HTTP_ACCEPT_LANGUAGE="tr")
    assert html_lang_dir(queue) == ("ckb", "rtl")
    with translation.override("ckb"):
        assert gettext("Moderation queue") in queue.content.decode()
    dashboard = client.get("/moderation/dashboard/", HTTP_ACCEPT_LANGUAGE="tr")
    assert html_lang_dir(dashboard) == ("ckb", "rtl")
    # empty: back to the browser's language
    client.post("/moderation/preferences/", {"language": ""})
    assert html_lang_dir(client.get("/moderation/", HTTP_ACCEPT_LANGUAGE="fa")) == ("fa", "rtl")
    assert client.post("/moderation/preferences/", {"language": "xx"}).status_code == 400


@pytest.mark.django_db
def test_preferences_need_a_moderator(client, reader_user):
    assert client.get("/moderation/preferences/").status_code == 302  # to the sign-in page
    client.force_login(reader_user)
    assert client.post("/moderation/preferences/", {"language": "ar"}).status_code == 403
    assert not ModeratorProfile.objects.exists()


# -- numbers, dates, bidi ---------------------------------------------------------------------


def test_local_digits():
    assert i18n.local_digits("2000", "fa") == "۲۰۰۰"
    assert i18n.local_digits("2000", "ar") == "٢٠٠٠"
    assert i18n.local_digits("2000", "ckb") == "٢٠٠٠"
    assert i18n.local_digits("41%", "fa") == "۴۱٪"
    assert i18n.local_digits("2000", "tr") == "2000"
    assert i18n.local_digits("2000", "kmr") == "2000"


@pytest.mark.django_db
def test_counts_and_dates_in_persian_digits_and_names_isolated(fake_engine):
    article = make_article("fa")
    # the fake engine approves plain comments at once
    services.submit_comment(article, "علی \u202eevil", "", "این یک نظر است.", ip="10.1.1.1")
    html = Client().get(f"/articles/{article.slug}/").content.decode()
    assert "۱ نظر" in html  # the heading's count
    assert 'data-max="2000"' in html and "۲۰۰۰" in html  # the counter's limit as shown
    date = re.search(r'<time datetime="[^"]+">([^<]+)</time>', html).group(1)
    assert re.search("[۰-۹]", date) and not re.search("[0-9]", date), date
    assert '<bdi class="author">' in html  # names isolated from the text around them
    assert '<div class="comment-text" dir="auto">' in html


@pytest.mark.django_db
def test_kurmanji_dates_are_numeric(fake_engine):
    article = make_article("kmr")
    services.submit_comment(article, "Rojda", "", "Gotareke baş.", ip="10.1.1.2")
    html = Client().get(f"/articles/{article.slug}/").content.decode()
    date = re.search(r'<time datetime="[^"]+">([^<]+)</time>', html).group(1)
    assert re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", date), date


@pytest.mark.django_db
def test_the_counter_counts_what_the_server_limit_counts(article, fake_engine):
    """Code points of the text as the form sends it, a line break being CR LF (two): the
    counter's sentLength in reader.js. At the limit it is accepted, one more is refused."""
    line = "😀 ژ" + "a" * 48  # an emoji outside the BMP and a Kurdish letter count once each
    lines = [line] * (MAX_COMMENT_CHARS // 60)
    text = "\r\n".join(lines)
    text += "b" * (MAX_COMMENT_CHARS - len(text))
    assert len(text) == MAX_COMMENT_CHARS
    ok = Client().post(f"/articles/{article.slug}/comments/", {"author": "Ann", "text": text})
    assert ok.status_code == 302
    refused = Client().post(
        f"/articles/{article.slug}/comments/", {"author": "Bo", "text": text + "c"}
    )
    assert refused.status_code == 400 and 'data-field="text"' in refused.content.decode()
    script = (WEB / "static" / "reader" / "reader.js").read_text()
    assert 'value.replace(/\\r\\n|\\r|\\n/g, "\\r\\n")' in script and "Array.from(" in script
