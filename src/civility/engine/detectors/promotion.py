"""Promotion signals: links, contact details and sales pitches, as rule-based evidence.

URLs, e-mail addresses, phone numbers and handles are found in the reader's original text
(the de-leeted matching view would mangle digits); pitch phrases are found in the normalised
text and mapped back. One link to a news source is weak evidence; contact details together with
a money pitch are strong. The score is a noisy-OR of the pieces of evidence, lifted when a way
to reach someone and a pitch appear together.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .lexicon import PhraseMatcher, fold_letters

if TYPE_CHECKING:
    from ..text import NormalizedText


@dataclass(frozen=True)
class PromotionSignals:
    score: float  # rule-based 0..1 strength of promotion evidence
    spans: list[tuple[int, int]]  # original-text offsets of URLs, phones, handles, pitches
    features: dict[str, float]  # fixed key set, see PROMOTION_FEATURE_NAMES


PROMOTION_FEATURE_NAMES: tuple[str, ...] = (
    "promo_url_count",
    "promo_news_url",
    "promo_shortener_url",
    "promo_messaging_url",
    "promo_self_promotion_url",
    "promo_obfuscated_link",
    "promo_email_count",
    "promo_phone_count",
    "promo_handle_count",
    "promo_messaging_app",
    "promo_money_rate",
    "promo_pitch_max",
    "promo_contact_and_pitch",
)

# Evidence weights (how strongly one piece alone suggests promotion).
W_URL = 0.25
W_NEWS_URL = 0.08
W_SHORTENER = 0.45
W_MESSAGING_URL = 0.65
W_OBFUSCATED = 0.6
W_EMAIL = 0.4
W_PHONE = 0.45
W_HANDLE = 0.08  # replying to another commenter ("@sam") is normal in threads
W_APP = 0.3
W_MONEY_RATE = 0.3  # "$500 a day": salaries and rents in news comments look the same
W_EARNING_RATE = 0.6  # "earn $500 a day"
CONTACT_AND_PITCH_FLOOR = 0.9

# Outlets whose links in a comment usually cite a source rather than sell something.
_NEWS_DOMAINS = frozenset(
    "bbc.co.uk bbc.com reuters.com apnews.com theguardian.com nytimes.com washingtonpost.com "
    "aljazeera.com aljazeera.net ft.com economist.com bloomberg.com cnn.com npr.org dw.com "
    "france24.com euronews.com rudaw.net kurdistan24.net bianet.org hurriyet.com.tr "
    "sozcu.com.tr cumhuriyet.com.tr bbc.in irna.ir isna.ir iranintl.com radiofarda.com "
    "independent.co.uk wikipedia.org who.int un.org gov.uk europa.eu alarabiya.net "
    "asharq.com shafaq.com middleeasteye.net".split()
)
# Profiles, shops and fundraisers: where self-promotion links usually point.
_SELF_PROMOTION_DOMAINS = frozenset(
    "facebook.com fb.com instagram.com tiktok.com snapchat.com onlyfans.com patreon.com "
    "ebay.com amazon.com amazon.co.uk etsy.com aliexpress.com paypal.me gofundme.com "
    "linktr.ee linkbucks.com adf.ly binbox.io soundcloud.com twitch.tv".split()
)
W_SELF_PROMOTION_URL = 0.4
_SHORTENERS = frozenset(
    "bit.ly tinyurl.com goo.gl t.co cutt.ly is.gd ow.ly rb.gy shorturl.at".split()
)
_MESSAGING_HOSTS = frozenset(
    "t.me wa.me chat.whatsapp.com telegram.me discord.gg api.whatsapp.com".split()
)
# Bare domains (no scheme, no www) count only with these common suffixes: "this.is" or "end.so"
# in sloppy typing must not become links.
_BARE_SUFFIXES = frozenset(
    "com net org info biz io co me tv ly gg xyz top site online shop store app link click club "
    "live news blog ru tr ir iq sa ae eg de uk fr us ca in pk com.tr co.uk org.uk net.tr "
    "com.sa com.eg ac.ir co.ir".split()
)

# Without a scheme or "www.", a host does not start right after a label character or a
# separator that follows one: the match from the start of that run was tried already, and
# trying every later position of a long run that fails ("a[.]a[.]a[.]…") made the scan
# quadratic (3 s on 20,000 characters). The same links are found.
_URL = re.compile(
    r"(?:(?P<scheme>(?:https?|hxxps?|h\*\*ps?)://)|(?P<www>www\d?\.)"
    r"|(?<![a-z0-9])(?<![a-z0-9][.\-])(?<![a-z0-9]\[\.\])(?<![a-z0-9]\(\.\))(?<![a-z0-9]\{\.\}))"
    r"(?P<host>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.|\[\.\]|\(\.\)|\{\.\}))+[a-z]{2,24})"
    r"(?P<path>[/?#][^\s<>\"']*)?",
    re.IGNORECASE,
)
# Both start at the "@" so that re can jump from one "@" to the next; the e-mail's local part is
# then read backwards from it (see _emails).
_EMAIL_DOMAIN = re.compile(
    r"@(?<=[\w.+\-]@)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}(?![\w-])", re.IGNORECASE
)
_EMAIL_LOCAL_CHARS = re.compile(r"[\w.+\-]")
_HANDLE = re.compile(
    r"@(?<![\w.@]@)[a-z0-9_](?:[a-z0-9_.]{1,28}[a-z0-9_])?(?![\w@])", re.IGNORECASE
)
# International (+ or 00) or local (leading 0) numbers; \d covers Arabic-Indic and Persian digits.
# International (+ or 00), local with a trunk 0, or North American 3-3-4. Lists of years or
# amounts fit none of these. \d covers Arabic-Indic and Persian digits too.
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"(?:\+|00|٠٠|۰۰)\d{1,3}[\s\-.]?\(?\d{1,4}\)?(?:[\s\-.]?\d{2,5}){1,4}"
    r"|[0٠۰]\d{2,4}[\s\-.]?\d{2,4}(?:[\s\-.]?\d{2,4}){0,3}"
    r"|\(?\d{3}\)?[\s\-.]\d{3}[\s\-.]\d{4}"
    r")(?!\w)"
)
# The words start at a word's start, or where a "x[.]y" match may have ended: a long run of
# letters is then tried once, not from each of its letters (that was quadratic: 15 s on
# 20,000 characters with "dot" in them). The same matches are found.
_WORD_START = r"(?:(?<!\w)|(?<=\[\.\]\w))"
_OBFUSCATED_DOT = re.compile(
    _WORD_START + r"\w+\s*(?:\(dot\)|\[dot\]|\{dot\}|\s(?:dot|d0t|nokta|نقطة|نقطه|دات)\s)\s*"
    r"(?:com|net|org|io|me|info|co|ir|tr|xyz|كوم|کام)\b"
    r"|hxxps?:|\w\[\.\]\w|" + _WORD_START + r"\w+\s+\.\s*(?:com|net|org)\b",
    re.IGNORECASE,
)
_MONEY = (
    r"(?:[$€£₺]\s?\d[\d,.]*k?|\d[\d,.]*k?\s?(?:\$|usd|dollars?|bucks|euros?|€|£|tl|lira|"
    r"دولار|دلار|تومان|ریال|ريال|جنيه|درهم|ليرة|لیر))"
)
_RATE = (
    r"\s*(?:a|per|/|in\s+a|every|each|daily|weekly|monthly|in\s+one|يوميا|يومياً|في\s+اليوم|"
    r"روزانه|در\s+روز|günlük|haftalık|aylık|bir\s+günde|günde)(?:\s*(?:day|week|hour|month|يوم|"
    r"اليوم|روز|gün|saat|ay))?"
)
_MONEY_RATE = re.compile(
    r"(?:(?:günlük|haftalık|aylık|روزانه|daily|weekly)\s*)?" + _MONEY + r"(?:" + _RATE + r")",
    re.IGNORECASE,
)

# Pitch phrases per kind, matched on the normalised (casefolded) text. Weight per kind.
_PITCH_KINDS: dict[str, tuple[float, str]] = {
    "earn": (
        0.55,
        r"(?:earn|make|making|earning)\s+(?:money|cash|income|\$?\d+\S*)\s+(?:from|at)\s+home"
        r"|work(?:ing)?\s+from\s+home\s+(?:and|job|opportunity)|passive\s+income|financial\s+freedom"
        r"|make\s+money\s+online|earn\s+money|extra\s+income|get\s+rich\s+quick"
        r"|الربح\s+من|اربح|ربح\s+يومي|دخل\s+(?:يومي|إضافي|اضافي)|العمل\s+من\s+المنزل"
        r"|کسب\s+درآمد|درآمد\s+(?:دلاری|روزانه|میلیونی)|کار\s+در\s+منزل"
        r"|evden\s+(?:para\s+kazan\w*|çalış\w*)|para\s+kazan(?:ın|mak|mak\s+için|dırıyoruz)"
        r"|ek\s+gelir|pasif\s+gelir",
    ),
    "invest": (
        0.3,
        r"crypto(?:currency)?|bitcoin|btc|forex|binary\s+options|trading\s+signals"
        r"|investment\s+(?:opportunity|plan|platform)|guaranteed\s+(?:profit|returns?|income)"
        r"|double\s+your\s+(?:money|investment)|account\s+manager"
        r"|تداول|فوركس|فوريكس|بيتكوين|عملات\s+رقمية|أرباح\s+مضمونة|ارباح\s+مضمونة"
        r"|ارز\s+دیجیتال|بیت\s?کوین|فارکس|سیگنال\s+رایگان|سود\s+تضمینی"
        r"|kripto|yat[ıi]r[ıi]m\s+f[ıi]rsat[ıi]|garantili\s+kazanç|borsa\s+sinyal",
    ),
    "contact_me": (
        0.45,
        r"(?:dm|inbox|pm|message|text|contact|call|whatsapp|email|e-mail)\s+(?:me|us)(?:\s+now)?"
        r"|call\s+now|for\s+more\s+info(?:rmation)?\s+(?:call|contact|text|dm)"
        r"|للتواصل|تواصل\s+(?:معي|معنا)|راسلني|راسلنا|اتصل\s+(?:بي|بنا|على)|للاستفسار"
        r"|تماس\s+بگیرید|پیام\s+بدید|پیام\s+دهید|دایرکت|پی\s?وی"
        r"|dm\s+at|dm['’]?den|bana\s+yaz[ıi]n|ileti[şs]im\s+i[çc]in|bize\s+ula[şs][ıi]n",
    ),
    "channel": (
        0.55,
        r"(?:check\s+out|visit|subscribe\s+to|follow|join)\s+(?:my|our)\s+"
        r"(?:channel|page|profile|video|videos|website|site|blog|shop|store|instagram|group|account)"
        r"|link\s+in\s+(?:my\s+)?bio|click\s+(?:the\s+link|here|my\s+profile)|follow\s+me"
        r"|subscribe\s+(?:now|to\s+me)|smash\s+(?:that|the)\s+like|please\s+subscribe|plz\s+subscribe"
        r"|(?:sub|subs|subscribe|suscribe)\s+(?:to\s+|on\s+)?my|my\s+(?:youtube\s+)?channel"
        r"|check\s+(?:out\s+)?my\s+(?:new\s+)?(?:\w+\s+)?(?:channel|page|video|videos|song|music|app|site)"
        r"|subscribe\s+(?:me|back|please|pls|plz)"
        r"|(?:i['’]?ll|i\s+will)\s+(?:subscribe|sub|follow)\s+back|sub\s*4\s*sub|follow\s+for\s+follow"
        r"|like\s+(?:this|my)\s+(?:pic|picture|photo|page|video|facebook\S*)|join\s+(?:our|my)\s+team"
        r"|اشترك(?:وا)?\s+(?:في|ب)\s*(?:قناتي|القناة)|تابعوني|زوروا\s+(?:صفحتي|قناتي|موقعي)"
        r"|قناتي\s+على|کانال\s+(?:ما|من)|عضو\s+کانال|فالو\s+کنید|لینک\s+در\s+بیو"
        r"|kanal[ıi]ma\s+abone|abone\s+olun|beni\s+takip|takip\s+edin|sayfam[ıi]\s+ziyaret",
    ),
    "check_out": (
        0.2,
        r"check\s+(?:it\s+|this\s+|these\s+)?out|please\s+(?:visit|watch|share)"
        r"|like\s+this\s+comment|thumbs\s+up\s+if",
    ),
    "sale": (
        0.3,
        r"buy\s+now|order\s+now|limited\s+(?:time\s+)?offer|promo\s+code|discount\s+code"
        r"|free\s+followers|best\s+price|for\s+sale|cheap\s+(?:followers|likes|loans?)"
        r"|casino|sports\s+betting|bet\s+now|viagra|weight\s+loss\s+(?:pills?|secret)"
        r"|hot\s+singles|sugar\s+daddy|(?:chance\s+to\s+)?win\s+(?:an?\s+)?(?:free\s+)?(?:iphone|ipad|gift\s+card)"
        r"|free\s+(?:leads|gift\s+cards?|iphones?|money|robux|v-?bucks|followers|likes|subscribers)"
        r"|للبيع|للطلب|خصم\s+\d+|عرض\s+خاص|تخفیف\s+(?:ویژه|\d+)|فروش\s+ویژه|سفارش"
        r"|indirim\s+kodu|kampanyal[ıi]|bahis|sipari[şs]\s+i[çc]in",
    ),
}
_APPS = (
    r"whats\s?app|watsapp|telegram|viber|wechat|snapchat|onlyfans|signal\s+app"
    r"|واتساب|واتس\s?اب|واتس|تلغرام|تليجرام|تيليجرام|تلگرام|واتس\s?اپ|واتساپ|ایتا|روبیکا"
)
# One matcher for every keyword kind; index i is _KEYWORD_KINDS[i].
_KEYWORD_KINDS: tuple[str, ...] = (*_PITCH_KINDS, "app")
# Letter variants folded like the lexicons (the normalised text writes آ as ا, ي as ی, ...).
_KEYWORDS = PhraseMatcher(
    [fold_letters(pattern) for _, pattern in _PITCH_KINDS.values()] + [fold_letters(_APPS)]
)
_EARNING_VERB = re.compile(
    r"(?:earn|make|making|earning|get|paid|profit|kazan|ربح|اربح|دخل|درآمد|درامد|کسب)\w*\W+(?:\w+\W+)?$",
    re.IGNORECASE,
)
_HAS_DIGIT = re.compile(r"\d")
_DIGIT_RUN = re.compile(r"\d[\d\s\-().]{6,}\d")  # could be a phone number
_CURRENCY_SIGNS = ("$", "€", "£", "₺")
_CURRENCY_WORDS = frozenset(
    "usd dollar dollars bucks euro euros tl lira دولار دلار تومان ریال ريال جنيه درهم ليرة لیر".split()
)


def preload() -> None:
    """Compile the keyword phrases now rather than on first use."""
    _KEYWORDS.compile_all()


def _mentions_money(original: str, folded: str) -> bool:
    if any(sign in original for sign in _CURRENCY_SIGNS):
        return True
    return any(word.strip(".,;:!?()\"'") in _CURRENCY_WORDS for word in folded.split())


# A dot between a letter/digit and two letters ("site.com"); the literal dot leads so that re
# can scan for it quickly. Sentences ending ". Next" have a space and do not count.
_URL_HINT = re.compile(r"\.(?<=\w\.)[a-z]{2}|://|\[\.\]|\(\.\)", re.IGNORECASE)
_OBFUSCATION_WORDS = (
    "dot",
    "d0t",
    "hxxp",
    "nokta",
    "نقطة",
    "نقطه",
    "دات",
    "[.]",
    "(.)",
    "{.}",
    " . com",
    " . net",
    " . org",
)


@lru_cache(maxsize=4096)
def _registered_domain(host: str) -> str:
    """The last two labels (three for second-level country suffixes like co.uk)."""
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _BARE_SUFFIXES and len(labels[-2]) <= 3:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _suffix(host: str) -> str:
    labels = host.split(".")
    two = ".".join(labels[-2:])
    return two if two in _BARE_SUFFIXES and len(labels) >= 3 else labels[-1]


def _empty() -> PromotionSignals:
    return PromotionSignals(0.0, [], dict.fromkeys(PROMOTION_FEATURE_NAMES, 0.0))


def promotion_signals(norm: NormalizedText) -> PromotionSignals:
    """Rule-based promotion evidence for one comment: score, original-text spans, features."""
    original = norm.original
    if not original:
        return _empty()
    features = dict.fromkeys(PROMOTION_FEATURE_NAMES, 0.0)
    spans: list[tuple[int, int]] = []
    evidence: list[float] = []
    contact = _scan_links(original, norm.text, features, spans, evidence)

    pitch_max = 0.0
    for index, start, end in _KEYWORDS.find(norm.text):
        kind = _KEYWORD_KINDS[index]
        spans.append(norm.to_original(start, end))
        if kind == "app":
            features["promo_messaging_app"] = 1.0
            evidence.append(W_APP)
            contact = True
        else:
            weight = _PITCH_KINDS[kind][0]
            pitch_max = max(pitch_max, weight)
            evidence.append(weight)
    if _HAS_DIGIT.search(original) and _mentions_money(original, norm.text):
        for match in _MONEY_RATE.finditer(original):
            before = original[max(0, match.start() - 30) : match.start()]
            weight = W_EARNING_RATE if _EARNING_VERB.search(before) else W_MONEY_RATE
            features["promo_money_rate"] = max(features["promo_money_rate"], weight)
            pitch_max = max(pitch_max, weight)
            spans.append(match.span())
            evidence.append(weight)
    features["promo_pitch_max"] = pitch_max

    if not evidence:
        return _empty()
    score = 1.0 - math.prod(1.0 - w for w in evidence)
    if contact and pitch_max >= 0.3:
        features["promo_contact_and_pitch"] = 1.0
        score = max(score, CONTACT_AND_PITCH_FLOOR)
    return PromotionSignals(round(min(score, 1.0), 4), _merge(spans), features)


def _scan_links(
    original: str, folded: str, features: dict[str, float], spans: list, evidence: list[float]
) -> bool:
    """URLs, obfuscated links, e-mails, phones and handles. True if any is a way to reach someone.

    Each regex runs only when a cheap test says it could match: most comments skip them all."""
    contact = False
    has_at = "@" in original
    emails = _emails(original) if has_at else []
    for span in emails:
        features["promo_email_count"] += 1
        spans.append(span)
        evidence.append(W_EMAIL)
        contact = True
    urls = 0
    url_matches = _URL.finditer(original) if _URL_HINT.search(original) else ()
    for match in url_matches:
        if any(s <= match.start() < e for s, e in emails):
            continue
        host = re.sub(r"\[\.\]|\(\.\)|\{\.\}", ".", match.group("host")).lower()
        explicit = match.group("scheme") or match.group("www")
        if not explicit and _suffix(host) not in _BARE_SUFFIXES:
            continue
        domain = _registered_domain(host)
        urls += 1
        spans.append(match.span())
        if host in _MESSAGING_HOSTS or domain in _MESSAGING_HOSTS:
            features["promo_messaging_url"] = 1.0
            evidence.append(W_MESSAGING_URL)
            contact = True
        elif domain in _SHORTENERS or host in _SHORTENERS:
            features["promo_shortener_url"] = 1.0
            evidence.append(W_SHORTENER)
            contact = True
        elif domain in _SELF_PROMOTION_DOMAINS:
            features["promo_self_promotion_url"] = 1.0
            evidence.append(W_SELF_PROMOTION_URL)
            contact = True
        elif domain in _NEWS_DOMAINS:
            features["promo_news_url"] = 1.0
            evidence.append(W_NEWS_URL)
        else:
            evidence.append(W_URL)
            contact = True
    features["promo_url_count"] = math.log1p(urls)
    obfuscated = any(word in folded for word in _OBFUSCATION_WORDS)
    for match in _OBFUSCATED_DOT.finditer(original) if obfuscated else ():
        features["promo_obfuscated_link"] = 1.0
        spans.append(match.span())
        evidence.append(W_OBFUSCATED)
        contact = True
    phones = 0
    for match in _PHONE.finditer(original) if _DIGIT_RUN.search(original) else ():
        digits = sum(ch.isdigit() for ch in match.group())
        if 9 <= digits <= 15 and not any(s <= match.start() < e for s, e in spans):
            phones += 1
            spans.append(match.span())
            evidence.append(W_PHONE)
            contact = True
    features["promo_phone_count"] = math.log1p(phones)
    handles = 0
    for match in _HANDLE.finditer(original) if has_at else ():
        if any(s <= match.start() < e for s, e in emails):
            continue
        handles += 1
        spans.append(match.span())
        evidence.append(W_HANDLE)
    features["promo_handle_count"] = math.log1p(handles)
    features["promo_email_count"] = math.log1p(features["promo_email_count"])
    return contact


def _emails(original: str) -> list[tuple[int, int]]:
    found = []
    for match in _EMAIL_DOMAIN.finditer(original):
        start = match.start()
        while start > 0 and _EMAIL_LOCAL_CHARS.match(original, start - 1):
            start -= 1
        found.append((start, match.end()))
    return found


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, with overlapping spans joined, so highlights never nest."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
