"""Language identification on our own sample comments (written for these tests)."""

import socket

import pytest

from civility.engine import language
from civility.engine.language import SUPPORTED_LANGUAGES, detect_language

SAMPLES: dict[str, list[str]] = {
    "en": [
        "This is exactly why the city needs better public transport.",
        "I don't agree with the mayor, but the article explains it well.",
        "Thanks for the clear reporting on the flood damage.",
        "Who is going to pay for all of this?",
        "The school board should have listened to the parents before closing it.",
        "Great article",
        "Nonsense.",
        "Well said!",
    ],
    "ar": [
        "هذا القرار سيضر بالعائلات الفقيرة في المدينة",
        "شكرا على هذا التقرير المفصل والواضح",
        "لماذا لم تتحرك الحكومة قبل وقوع الكارثة؟",
        "أتفق تماما مع ما كتبه الصحفي",
        "الأسعار ترتفع كل يوم والرواتب لا تتغير",
        "نريد مدارس أفضل لأطفالنا",
        "مقال رائع",
        "كلام فارغ",
    ],
    "fa": [
        "این تصمیم به خانواده‌های فقیر شهر آسیب می‌زند",
        "ممنون از گزارش دقیق و روشن شما",
        "چرا دولت قبل از وقوع فاجعه کاری نکرد؟",
        "کاملاً با نویسنده موافقم",
        "قیمت‌ها هر روز بالا می‌رود ولی حقوق‌ها تغییر نمی‌کند",
        "ما مدرسه‌های بهتری برای بچه‌هایمان می‌خواهیم",
        "مقاله خوبی بود",
        "چه حرف مفتی",
    ],
    "tr": [
        "Bu karar şehirdeki yoksul aileleri çok etkileyecek.",
        "Bu detaylı ve açık haber için teşekkürler.",
        "Hükümet felaketten önce neden harekete geçmedi?",
        "Yazara tamamen katılıyorum.",
        "Fiyatlar her gün artıyor ama maaşlar değişmiyor.",
        "Çocuklarımız için daha iyi okullar istiyoruz.",
        "Harika bir yazı",
        "Saçmalık!",
    ],
    "ckb": [
        "ئەم بڕیارە زیان بە خێزانە هەژارەکانی شار دەگەیەنێت",
        "سوپاس بۆ ئەم ڕاپۆرتە ڕوون و وردە",
        "بۆچی حکومەت پێش کارەساتەکە هیچی نەکرد؟",
        "من تەواو لەگەڵ نووسەر هاوڕام",
        "نرخەکان هەموو ڕۆژێک بەرز دەبنەوە بەڵام مووچە ناگۆڕێت",
        "ئێمە قوتابخانەی باشتر بۆ منداڵەکانمان دەوێت",
        "وتارێکی باشە",
        "قسەی بێمانا",
    ],
    "kmr": [
        "Ev biryar dê zirarê bide malbatên feqîr ên bajêr.",
        "Spas ji bo vê nûçeya zelal û hûrgilî.",
        "Çima hikûmetê berî felaketê tiştek nekir?",
        "Ez bi tevahî bi nivîskar re hemfikir im.",
        "Biha her roj bilind dibin lê meaş naguherin.",
        "Em dibistanên baştir ji bo zarokên xwe dixwazin.",
        "Nivîsek baş e",
        "Tu çawa yî?",
    ],
    "other": [
        "Das ist eine gute Nachricht für die Stadt und ihre Bürger.",
        "C'est une très bonne nouvelle pour les habitants de la ville.",
        "Это очень хорошая новость для нашего города.",
        "这是一个非常好的消息",
        "Esta es una noticia muy buena para la ciudad y sus vecinos.",
    ],
}


def _cases():
    return [(lang, text) for lang, texts in SAMPLES.items() for text in texts]


def test_accuracy_on_own_samples_is_high():
    cases = _cases()
    wrong = [(lang, text, detect_language(text)) for lang, text in cases]
    wrong = [w for w in wrong if w[0] != w[2]]
    # A few misses on the shortest samples are tolerated; more means a regression.
    assert len(wrong) <= 3, wrong


@pytest.mark.parametrize("lang", ["en", "ar", "fa", "tr", "ckb", "kmr"])
def test_full_sentences_are_identified(lang):
    # The first four samples of each language are full sentences: no misses allowed there.
    for text in SAMPLES[lang][:4]:
        assert detect_language(text) == lang, text


def test_sorani_letters_decide_even_when_short():
    assert detect_language("زۆر باشە") == "ckb"
    assert detect_language("ڕاستە") == "ckb"


def test_persian_letters_versus_arabic_letters_in_short_texts():
    assert detect_language("چرا نگفتی") == "fa"
    assert detect_language("الله يرحمه") == "ar"


def test_turkish_letters_versus_kurmanji_letters_in_short_texts():
    assert detect_language("Çok güzel") == "tr"
    assert detect_language("Gelek baş e, spas") == "kmr"
    assert detect_language("ılık") == "tr"
    assert detect_language("zêde") == "kmr"


def test_urls_digits_and_handles_do_not_decide_the_language():
    text = "هذا المقال رائع https://example.com/page?id=12345 @someone 2024"
    assert detect_language(text) == "ar"


def test_other_scripts_and_no_letters_are_other():
    assert detect_language("Привет, как дела у всех?") == "other"
    assert detect_language("12345 !!!") == "other"
    assert detect_language("") == "other"


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("ku", "kmr"),
        ("ku-Latn", "kmr"),
        ("sdh", "ckb"),
        ("ku-Arab", "ckb"),
        ("ckb-IQ", "ckb"),
        ("fa-IR", "fa"),
        ("tr", "tr"),
        ("ar-EG", "ar"),
    ],
)
def test_valid_hint_wins(hint, expected):
    # The text is plainly English: only the hint can produce the expected label.
    text = "This is plainly an English sentence about the weather today."
    assert detect_language(text, hint=hint) == expected


@pytest.mark.parametrize("hint", ["xx", "klingon", "", None, "de-DE", 42])
def test_unknown_hint_is_ignored(hint):
    assert detect_language("Bu haber için teşekkürler, çok güzel olmuş.", hint=hint) == "tr"


def test_every_answer_is_supported_or_other():
    for _, text in _cases():
        assert detect_language(text) in (*SUPPORTED_LANGUAGES, "other")


def test_models_load_and_answer_without_network(monkeypatch):
    # Reload both models with every socket connection refused.
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    language._fasttext_lite.cache_clear()
    language._py3langid.cache_clear()
    assert language._fasttext_scores("Bu haber için teşekkürler, çok güzel olmuş.")
    assert language._py3langid_label("Ez ji te hez dikim û tu çawa yî") == "ku"
    for _, text in _cases():
        detect_language(text)


def test_preload_loads_both_models():
    language._fasttext_lite.cache_clear()
    language._py3langid.cache_clear()
    language.preload()
    assert language._fasttext_lite.cache_info().currsize == 1
    assert language._py3langid.cache_info().currsize == 1
