"""RelevanceScorer on short articles and comments written for these tests."""

from dataclasses import dataclass

import pytest

from civility.engine.relevance import NEUTRAL, RelevanceScorer


@dataclass(frozen=True)
class Art:
    title: str
    body: str


CYCLE_LANES = Art(
    "Council approves twelve kilometres of protected cycle lanes",
    "The city council voted on Tuesday to build twelve kilometres of protected cycle lanes "
    "through the centre. Shop owners on Market Street fear the loss of parking spaces. "
    "Cycling groups welcomed the vote and said the lanes would make commuting safer. "
    "Construction starts in spring and should take eighteen months. "
    "The scheme will cost 14 million, paid partly by a national transport grant.",
)
FLOODS = Art(
    "Flood defences fail as river bursts its banks",
    "Hundreds of homes were evacuated overnight after the river burst its banks. "
    "Emergency services used boats to reach residents trapped by the water. "
    "The flood barrier, finished only two years ago, failed at its weakest point. "
    "Engineers will inspect the defences once the water level drops.",
)
ARABIC = Art(
    "البلدية تفتتح مكتبة عامة جديدة في وسط المدينة",
    "افتتحت البلدية اليوم مكتبة عامة جديدة تضم أكثر من عشرين ألف كتاب. "
    "وقال رئيس البلدية إن المكتبة ستكون مفتوحة للطلاب والعائلات طوال الأسبوع. "
    "وتحتوي المكتبة على قاعة للأطفال وأجهزة حاسوب مجانية.",
)
TURKISH = Art(
    "Belediye otobüs ücretlerine yüzde yirmi zam yaptı",
    "Belediye meclisi otobüs ve metro ücretlerine yüzde yirmi zam yapılmasını onayladı. "
    "Öğrenciler ve emekliler için indirimli biletler korunacak. "
    "Muhalefet, zammın dar gelirli aileleri zor durumda bırakacağını söyledi.",
)

ON_TOPIC = [
    (CYCLE_LANES, "The new cycle lanes will finally make my commute to the centre safer."),
    (CYCLE_LANES, "Shop owners on Market Street are right, losing parking will hurt them."),
    (CYCLE_LANES, "14 million for bike lanes while buses are falling apart? Ridiculous spending."),
    (FLOODS, "Two years old and the flood barrier already failed? Who signed off on it?"),
    (FLOODS, "Thank you to the emergency services and the boat crews who rescued residents."),
    (ARABIC, "مكتبة جديدة للأطفال والطلاب فكرة ممتازة من البلدية"),
    (TURKISH, "Otobüs ücretleri zaten çok pahalıydı, bu zam emeklileri de vuracak."),
]
OFF_TOPIC = [
    (CYCLE_LANES, "Buy cheap designer watches and handbags online, best prices, free delivery!"),
    (
        CYCLE_LANES,
        "My favourite football team lost again on Saturday, the goalkeeper was terrible.",
    ),
    (FLOODS, "Earn money from home with crypto trading, join my channel for daily signals."),
    (FLOODS, "The election debate last night showed both candidates avoiding the tax question."),
    (ARABIC, "أفضل عروض الهواتف المحمولة والساعات بأسعار مخفضة اتصل بنا الآن"),
    (TURKISH, "Dün akşamki maçta hakem çok kötüydü, penaltı verilmeliydi."),
]
SHORT_NEUTRAL = [
    (CYCLE_LANES, "Great reporting, thanks"),
    (FLOODS, "Well said."),
    (ARABIC, "شكرا على المقال"),
    (TURKISH, "Teşekkürler, güzel haber"),
    (CYCLE_LANES, "I agree!"),
]


@pytest.fixture(scope="module")
def scorer():
    return RelevanceScorer()


@pytest.mark.parametrize(("article", "comment"), ON_TOPIC)
def test_on_topic_comments_lean_relevant(scorer, article, comment):
    # "bike" vs the article's "cycle" is a paraphrase that word overlap only partly sees.
    assert scorer.score(comment, article) > NEUTRAL


@pytest.mark.parametrize(("article", "comment"), OFF_TOPIC)
def test_off_topic_comments_score_low(scorer, article, comment):
    assert scorer.score(comment, article) <= 0.2


@pytest.mark.parametrize(("article", "comment"), SHORT_NEUTRAL)
def test_short_generic_comments_stay_near_neutral(scorer, article, comment):
    assert abs(scorer.score(comment, article) - NEUTRAL) <= 0.15


def test_every_on_topic_comment_beats_every_off_topic_comment_on_the_same_article(scorer):
    for article in (CYCLE_LANES, FLOODS, ARABIC, TURKISH):
        on = [scorer.score(c, a) for a, c in ON_TOPIC if a is article]
        off = [scorer.score(c, a) for a, c in OFF_TOPIC if a is article]
        assert min(on) > max(off)


def test_the_same_comment_is_relevant_to_its_own_article_only(scorer):
    comment = "The flood barrier failed and the river water reached our homes."
    assert scorer.score(comment, FLOODS) > scorer.score(comment, CYCLE_LANES) + 0.4


def test_title_words_weigh_more_than_body_words(scorer):
    article = Art("Zoo welcomes baby elephant", "Visitors queued at the gates. " * 3)
    about_title = scorer.score("What a lovely baby elephant at the zoo", article)
    about_queue = scorer.score("Visitors queued at the gates again", article)
    assert about_title >= about_queue


def test_scores_are_between_zero_and_one(scorer):
    for article, comment in ON_TOPIC + OFF_TOPIC + SHORT_NEUTRAL:
        assert 0.0 <= scorer.score(comment, article) <= 1.0


def test_empty_comment_or_article_is_neutral(scorer):
    assert scorer.score("", CYCLE_LANES) == NEUTRAL
    assert scorer.score("!!! 👍", CYCLE_LANES) == NEUTRAL
    assert scorer.score("Cycle lanes are a waste of money", Art("", "")) == NEUTRAL


def test_evasive_spelling_is_normalised_before_matching(scorer):
    plain = scorer.score("Flood barrier failed again", FLOODS)
    styled = scorer.score("ＦＬＯＯＤ barrier fa1led again", FLOODS)
    assert styled == pytest.approx(plain, abs=0.1)


def test_articles_are_fitted_once_and_cached():
    scorer = RelevanceScorer(cache_size=2)
    scorer.score("cycle lanes", CYCLE_LANES)
    first = scorer._model(CYCLE_LANES)
    scorer.score("the river flooded", FLOODS)
    assert scorer._model(CYCLE_LANES) is first
    scorer.score("otobüs zammı", TURKISH)
    scorer.score("otobüs zammı", ARABIC)  # evicts the least recently used: FLOODS
    assert len(scorer._cache) == 2
    assert scorer._model(TURKISH) is not None and (FLOODS.title, FLOODS.body) not in scorer._cache


def test_article_as_any_object_with_title_and_body(scorer):
    class Plain:
        title = CYCLE_LANES.title
        body = CYCLE_LANES.body

    assert scorer.score("cycle lanes and parking", Plain()) == scorer.score(
        "cycle lanes and parking", CYCLE_LANES
    )


CROSS_LANGUAGE = [
    (CYCLE_LANES, "Bisiklet yolları şehir merkezini daha güvenli yapacak, teşekkürler."),
    (CYCLE_LANES, "المسارات الجديدة للدراجات ستجعل الطريق إلى العمل أكثر أمانا"),
    (FLOODS, "سد سیل بعد از دو سال شکست، چه کسی مسئول است؟"),
    (TURKISH, "Raising bus and metro fares by twenty percent will hurt pensioners."),
]


@pytest.mark.parametrize(("article", "comment"), CROSS_LANGUAGE)
def test_comment_in_another_language_is_never_called_off_topic(scorer, article, comment):
    # Word overlap cannot see across languages: such comments must not be flagged off-topic.
    assert scorer.score(comment, article) >= NEUTRAL


def test_same_language_off_topic_is_still_low_when_language_is_given(scorer):
    comment = "My favourite football team lost again on Saturday, the goalkeeper was terrible."
    assert scorer.score(comment, CYCLE_LANES, language="en") <= 0.2
    # A caller-supplied language that differs from the article's makes it undecidable.
    assert scorer.score(comment, CYCLE_LANES, language="tr") == NEUTRAL


def test_normalized_text_gives_the_same_score_as_the_string(scorer):
    from civility.engine.text import normalize

    for article, comment in ON_TOPIC + OFF_TOPIC + CROSS_LANGUAGE:
        assert scorer.score(normalize(comment), article) == scorer.score(comment, article)


def test_one_scorer_can_be_shared_between_threads():
    from concurrent.futures import ThreadPoolExecutor

    scorer = RelevanceScorer(cache_size=2)
    articles = [
        Art(f"Story {i} about harbour cranes", f"Cranes number {i} moved.") for i in range(8)
    ]
    jobs = [(a, "harbour cranes moved today") for a in articles * 20]
    with ThreadPoolExecutor(max_workers=4) as pool:
        scores = list(pool.map(lambda job: scorer.score(job[1], job[0]), jobs))
    assert len(scorer._cache) <= 2
    assert scores == [scorer.score(c, a) for a, c in jobs]
