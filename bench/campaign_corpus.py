"""A labelled corpus of letters for the campaign benchmark (``bench/campaigns.py``), generated from a seed:
mass campaigns (a template each, its letters edited as senders edit them) and distinct proposals on the
same topics, in Russian and English, of 20 to 400 words.

Templates and distinct proposals are written from the same phrase banks (a topic draws its subjects,
duties, objects and conditions from a shared pool), so they share vocabulary and stock phrases as real
letters on one call do; some distinct proposals open by quoting a sentence of a campaign's template and
go on with reasoning of their own. A letter of a campaign is its template with some of: words replaced,
inserted or deleted, a greeting, the sender's name and city, a signature, a sentence dropped or two
swapped, typos, and the orthographic variants senders produce (ё written as е, other quotes and dashes,
another case); a few are exact copies.
"""

# ruff: noqa: RUF001, RUF002 (Russian words made only of letters that look Latin, a preposition or "sugubo")

from __future__ import annotations

import random
from dataclasses import dataclass, field

BANDS: tuple[tuple[int, int], ...] = ((20, 49), (50, 99), (100, 199), (200, 400))
"""Length bands of the templates, in words."""


@dataclass(frozen=True)
class PhraseBank:
    """One language's material: sentence parts (a part is a head and a complement, so that letters share
    words far more often than runs of words), the personal parts senders add, words to edit with."""

    actors: tuple[str, ...]
    """Who (plural): joined to one of ``fields``."""
    fields: tuple[str, ...]
    duties: tuple[str, ...]
    records: tuple[str, ...]
    """What (the duty's object): joined to one of ``activities``."""
    activities: tuple[str, ...]
    conditions: tuple[str, ...]
    scopes: tuple[str, ...]
    """Where (a condition, a scope or both end a sentence)."""
    reasons: tuple[str, ...]
    details: tuple[str, ...]
    """A proposal's own evidence, with ``{place}`` and ``{number}``."""
    openings: tuple[str, ...]
    closings: tuple[str, ...]
    greetings: tuple[str, ...]
    introductions: tuple[str, ...]
    """With ``{name}`` and ``{city}``."""
    signatures: tuple[str, ...]
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]
    cities: tuple[str, ...]
    fillers: tuple[str, ...]
    """Words a sender inserts or replaces with."""
    joiner: str
    """Between a head and its complement ("" in Russian, where the complement is a genitive)."""


RUSSIAN = PhraseBank(
    actors=(
        "разработчики",
        "операторы",
        "поставщики",
        "владельцы",
        "пользователи",
        "заказчики",
        "производители",
        "интеграторы",
        "продавцы",
        "администраторы",
        "создатели",
        "эксплуатанты",
    ),
    fields=(
        "базовых моделей",
        "систем повышенного риска",
        "медицинского программного обеспечения",
        "систем распознавания лиц",
        "центров обработки данных",
        "суверенных моделей",
        "рекомендательных платформ",
        "беспилотных автомобилей",
        "образовательных помощников",
        "чат-ботов",
        "кредитных скоринговых систем",
        "государственных информационных систем",
        "больших наборов данных",
        "генеративных сервисов",
        "голосовых помощников",
        "систем видеонаблюдения",
        "промышленных роботов",
        "систем отбора персонала",
    ),
    duties=(
        "должны регистрировать",
        "обязаны раскрывать",
        "должны публиковать",
        "обязаны хранить",
        "должны проверять",
        "обязаны передавать регулятору",
        "должны страховать",
        "обязаны маркировать",
        "должны согласовывать",
        "обязаны объяснять",
        "должны ежегодно пересматривать",
        "обязаны сертифицировать",
        "вправе не раскрывать",
        "должны документировать",
    ),
    records=(
        "результаты",
        "журналы",
        "отчёты",
        "описания",
        "параметры",
        "источники",
        "ошибки",
        "инциденты",
        "методики",
        "условия",
        "последствия",
        "риски",
    ),
    activities=(
        "испытаний",
        "обучения моделей",
        "автоматизированных решений",
        "обработки персональных данных",
        "работы алгоритмов",
        "контроля качества",
        "эксплуатации систем",
        "анализа медицинских изображений",
        "генерации контента",
        "распознавания лиц",
        "оценки кредитоспособности",
        "отбора кандидатов",
        "использования зарубежных моделей",
        "энергопотребления",
        "обновления версий",
        "взаимодействия с детьми",
    ),
    conditions=(
        "там, где цена ошибки высока",
        "в рамках экспериментального правового режима",
        "если применение не является сугубо внутренним",
        "по национальному техническому стандарту",
        "до выхода на рынок государственных закупок",
        "не реже одного раза в год",
        "под надзором аккредитованной лаборатории",
        "прежде всего в здравоохранении и на транспорте",
        "не создавая барьеров для стартапов",
        "с учётом международной практики",
        "после публичного обсуждения",
        "в течение двух лет после вступления закона в силу",
        "с учётом мнения отраслевых ассоциаций",
        "без дублирования уже действующих требований",
        "в образовании и социальной сфере",
        "при работе с данными граждан",
    ),
    scopes=(
        "в здравоохранении",
        "на транспорте",
        "в образовании",
        "в финансовом секторе",
        "в государственном управлении",
        "в промышленности",
        "в средствах массовой информации",
        "в правоохранительной деятельности",
        "в сельском хозяйстве",
        "в энергетике",
        "в строительстве",
        "в торговле",
    ),
    reasons=(
        "потому что граждане должны понимать, кто отвечает за ошибку",
        "поскольку иначе доверие к технологиям будет подорвано",
        "так как это уже сделано в ряде стран",
        "чтобы не задушить отечественные разработки",
        "поскольку последствия ошибки трудно исправить",
        "потому что ещё никто не отвечает за такие решения",
        "чтобы защитить детей и пожилых людей",
        "так как рынок сам этого не обеспечит",
    ),
    details=(
        "как показал пилотный проект в городе {place}",
        "что снизило число жалоб на {number} процентов",
        "по опыту {number} предприятий региона {place}",
        "как установила проверка в {place} в {number} году",
        "что обходится бизнесу в {number} тысяч рублей в год",
    ),
    openings=(
        "В ответ на приглашение к обсуждению направляем наши предложения.",
        "Просим учесть следующие предложения по регулированию искусственного интеллекта.",
        "Наша организация представляет позицию по правовому регулированию искусственного интеллекта.",
        "Предлагаем следующие меры в сфере искусственного интеллекта.",
    ),
    closings=(
        "Просим учесть наше мнение при подготовке закона.",
        "Надеемся, что министерство услышит голос граждан.",
        "Готовы участвовать в дальнейшем обсуждении.",
        "Благодарим за возможность высказаться.",
    ),
    greetings=(
        "Уважаемые коллеги!",
        "Здравствуйте!",
        "Добрый день.",
        "Уважаемый министр!",
        "Уважаемые сотрудники министерства,",
    ),
    introductions=(
        "Меня зовут {name}, я живу в городе {city}.",
        "Пишу вам из города {city}.",
        "С вами говорит {name} ({city}).",
        "Я, {name}, житель города {city}, поддерживаю это обращение.",
    ),
    signatures=(
        "С уважением, {name}.",
        "{name}, {city}.",
        "С уважением, {name}, г. {city}",
        "Искренне ваш, {name}",
    ),
    first_names=("Иван", "Мария", "Алексей", "Ольга", "Сергей", "Наталья", "Дмитрий", "Алёна", "Пётр"),
    surnames=("Петров", "Смирнова", "Кузнецов", "Иванова", "Соколов", "Попова", "Лебедев", "Фёдоров"),
    cities=("Казань", "Томск", "Самара", "Воронеж", "Пермь", "Иркутск", "Калуга", "Орёл", "Сочи"),
    fillers=(
        "очень",
        "также",
        "обязательно",
        "всех",
        "именно",
        "новые",
        "строго",
        "ещё",
        "важно",
        "срочно",
        "наконец",
        "граждан",
        "действительно",
        "людей",
    ),
    joiner="",
)

ENGLISH = PhraseBank(
    actors=(
        "developers",
        "operators",
        "providers",
        "owners",
        "users",
        "buyers",
        "makers",
        "integrators",
        "sellers",
        "administrators",
        "creators",
        "maintainers",
    ),
    fields=(
        "foundation models",
        "high-risk systems",
        "medical diagnostic software",
        "face recognition systems",
        "data centres",
        "sovereign models",
        "recommendation platforms",
        "autonomous vehicles",
        "educational assistants",
        "chat bots",
        "credit scoring systems",
        "public information systems",
        "large datasets",
        "generative services",
        "voice assistants",
        "video surveillance",
        "industrial robots",
        "hiring systems",
    ),
    duties=(
        "should register",
        "must disclose",
        "should publish",
        "must keep",
        "should check",
        "must report to the regulator",
        "should insure",
        "must label",
        "should agree in advance",
        "must explain",
        "should review every year",
        "must certify",
        "may withhold",
        "should document",
    ),
    records=(
        "the results",
        "the logs",
        "the reports",
        "the descriptions",
        "the parameters",
        "the sources",
        "the errors",
        "the incidents",
        "the methods",
        "the conditions",
        "the consequences",
        "the risks",
    ),
    activities=(
        "testing",
        "model training",
        "automated decisions",
        "personal data processing",
        "algorithm behaviour",
        "quality control",
        "system operation",
        "medical image analysis",
        "content generation",
        "face recognition",
        "credit assessment",
        "candidate selection",
        "the use of foreign models",
        "energy consumption",
        "version updates",
        "interaction with children",
    ),
    conditions=(
        "where the cost of an error is high",
        "within an experimental legal regime",
        "unless the use is purely internal",
        "under a national technical standard",
        "before entering the public sector market",
        "at least once a year",
        "with the supervision of an accredited laboratory",
        "in healthcare and transport first",
        "without creating barriers for startups",
        "in line with international practice",
        "after a public consultation",
        "within two years of the law entering into force",
        "taking the views of industry associations into account",
        "without duplicating requirements that already apply",
        "in education and social services",
        "when they work with the data of citizens",
    ),
    scopes=(
        "in healthcare",
        "in transport",
        "in education",
        "in the financial sector",
        "in public administration",
        "in industry",
        "in the media",
        "in law enforcement",
        "in agriculture",
        "in the energy sector",
        "in construction",
        "in retail",
    ),
    reasons=(
        "because citizens must know who answers for an error",
        "since otherwise trust in the technology will be lost",
        "as several countries have already done",
        "so as not to stifle domestic research",
        "because the consequences of an error are hard to undo",
        "because nobody answers for such decisions today",
        "to protect children and elderly people",
        "since the market will not provide it by itself",
    ),
    details=(
        "as the pilot project in {place} showed",
        "which cut complaints by {number} percent",
        "according to {number} companies of the {place} region",
        "as an inspection in {place} found in {number}",
        "which costs business {number} thousand a year",
    ),
    openings=(
        "In response to the call for proposals we set out our position below.",
        "Please consider the following proposals on the regulation of artificial intelligence.",
        "Our organization submits its proposals on the legal regulation of artificial intelligence.",
        "We propose the following measures on artificial intelligence.",
    ),
    closings=(
        "Please take our view into account when drafting the law.",
        "We hope the ministry will hear the voice of citizens.",
        "We are ready to take part in further discussion.",
        "Thank you for the opportunity to comment.",
    ),
    greetings=("Dear colleagues,", "Hello.", "Good afternoon.", "Dear Minister,", "To the ministry:"),
    introductions=(
        "My name is {name} and I live in {city}.",
        "I am writing to you from {city}.",
        "This is {name} from {city}.",
        "I, {name}, a resident of {city}, support this appeal.",
    ),
    signatures=("Sincerely, {name}.", "{name}, {city}.", "Kind regards, {name} ({city})", "Yours, {name}"),
    first_names=("John", "Mary", "Alex", "Olivia", "Samuel", "Nora", "David", "Grace", "Peter"),
    surnames=("Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Hughes", "Wright"),
    cities=("Leeds", "Bristol", "York", "Cardiff", "Dundee", "Norwich", "Bath", "Exeter", "Perth"),
    fillers=(
        "very",
        "also",
        "really",
        "all",
        "indeed",
        "new",
        "strictly",
        "still",
        "importantly",
        "urgently",
        "finally",
        "citizens",
        "clearly",
        "people",
    ),
    joiner=" of",
)

BANKS = {"ru": RUSSIAN, "en": ENGLISH}
PLACES = ("Kalinovka", "Severo", "Lesnoy", "Zarechny", "Ozersk", "Primorye", "Vostok", "Gornoye")


@dataclass(frozen=True)
class Topic:
    """A topic of the call: the part of the bank's pools that letters on it draw from."""

    language: str
    actors: tuple[str, ...]
    fields: tuple[str, ...]
    duties: tuple[str, ...]
    records: tuple[str, ...]
    activities: tuple[str, ...]
    conditions: tuple[str, ...]
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Letter:
    """A letter of the corpus with its label: its campaign (None: a distinct proposal), language and
    length band (of its template, or its own)."""

    text: str
    campaign: str | None
    language: str
    band: tuple[int, int]
    exact_copy: bool = False
    """The same words as another letter of its campaign (an exact duplicate to triage)."""


@dataclass
class Corpus:
    letters: list[Letter] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)


def _topics(rng: random.Random, language: str, count: int) -> list[Topic]:
    bank = BANKS[language]

    def part(pool: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(rng.sample(pool, max(4, len(pool) * 6 // 10)))

    return [
        Topic(
            language,
            part(bank.actors),
            part(bank.fields),
            part(bank.duties),
            part(bank.records),
            part(bank.activities),
            part(bank.conditions),
            part(bank.scopes),
        )
        for _ in range(count)
    ]


def _sentence(rng: random.Random, topic: Topic) -> str:
    bank = BANKS[topic.language]
    sentence = (
        f"{rng.choice(topic.actors)}{bank.joiner} {rng.choice(topic.fields)} {rng.choice(topic.duties)} "
        f"{rng.choice(topic.records)}{bank.joiner} {rng.choice(topic.activities)}"
    )
    ending = rng.random()
    if ending < 0.7:
        sentence += f" {rng.choice(topic.scopes)}"
    if ending > 0.5:
        sentence += f" {rng.choice(topic.conditions)}"
    if rng.random() < 0.2:
        sentence += f", {rng.choice(bank.reasons)}"
    elif rng.random() < 0.3:
        place = rng.choice(PLACES) if topic.language == "en" else rng.choice(bank.cities)
        sentence += ", " + rng.choice(bank.details).format(place=place, number=rng.randint(3, 2030))
    return sentence[0].upper() + sentence[1:] + "."


def _text(rng: random.Random, topic: Topic, words: int, *, opening: str | None = None) -> list[str]:
    """Sentences on ``topic`` until about ``words`` words (the last one cut to fit)."""
    bank = BANKS[topic.language]
    formal = words >= 60 and rng.random() < 0.5  # a short letter goes straight to the point
    sentences = [opening or rng.choice(bank.openings)] if formal or opening else []
    while sum(len(sentence.split()) for sentence in sentences) < words:
        sentences.append(_sentence(rng, topic) if rng.random() < 0.9 else rng.choice(bank.closings))
    over = sum(len(sentence.split()) for sentence in sentences) - words
    if over > 0:
        kept = sentences[-1].split()[: max(3, len(sentences[-1].split()) - over)]
        sentences[-1] = " ".join(kept).rstrip(",.") + "."
    return sentences


def _name(rng: random.Random, bank: PhraseBank) -> str:
    return f"{rng.choice(bank.first_names)} {rng.choice(bank.surnames)}"


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    at = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if kind == 1:
        return word[:at] + word[at + 1 :]
    return word[:at] + word[at] + word[at:]


def edited(rng: random.Random, template: list[str], language: str) -> str:
    """A sender's letter from the template's sentences."""
    bank = BANKS[language]
    sentences = list(template)
    if len(sentences) >= 4 and rng.random() < 0.15:
        del sentences[rng.randrange(len(sentences))]
    if len(sentences) >= 3 and rng.random() < 0.15:
        first = rng.randrange(len(sentences) - 1)
        sentences[first], sentences[first + 1] = sentences[first + 1], sentences[first]
    words = " ".join(sentences).split()
    for _ in range(rng.randint(0, 3 + len(words) // 80)):
        at = rng.randrange(len(words))
        choice = rng.random()
        if choice < 0.5:
            words[at] = rng.choice(bank.fillers)
        elif choice < 0.75:
            words.insert(at, rng.choice(bank.fillers))
        elif len(words) > 5:
            del words[at]
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 2)):
            at = rng.randrange(len(words))
            words[at] = _typo(rng, words[at])
    name, city = _name(rng, bank), rng.choice(bank.cities)
    parts = []
    if rng.random() < 0.4:
        parts.append(rng.choice(bank.greetings))
    if rng.random() < 0.3:
        parts.append(rng.choice(bank.introductions).format(name=name, city=city))
    parts.append(" ".join(words))
    if rng.random() < 0.5:
        parts.append(rng.choice(bank.signatures).format(name=name, city=city))
    text = " ".join(parts)
    if language == "ru" and rng.random() < 0.5:
        text = text.replace("ё", "е").replace("Ё", "Е")
    if rng.random() < 0.3:
        text = text.replace(",", " ,").replace(" - ", " — ")
    if rng.random() < 0.1:
        text = text.upper() if rng.random() < 0.5 else text.lower()
    return text


def _exact_copy(rng: random.Random, text: str) -> str:
    """The same words: only case, spacing or punctuation differ (or nothing at all)."""
    choice = rng.randrange(3)
    if choice == 0:
        return text
    if choice == 1:
        return text.upper()
    return "  ".join(text.replace(".", " !").split())


def generate(
    seed: int, *, campaigns_per_band: int = 4, distinct_per_band: int = 20, sizes: tuple[int, ...] = ()
) -> Corpus:
    """Per language and band: ``campaigns_per_band`` campaigns (sizes drawn from ``sizes``) and
    ``distinct_per_band`` distinct proposals, on three topics per language; letters shuffled."""
    rng = random.Random(seed)
    sizes = sizes or (2, 3, 5, 8, 12, 20, 30)
    corpus = Corpus()
    for language in sorted(BANKS):
        topics = _topics(rng, language, 3)
        for band in BANDS:
            templates = []
            for number in range(campaigns_per_band):
                label = f"{language}-{band[0]}-{number}"
                topic = rng.choice(topics)
                template = _text(rng, topic, rng.randint(*band))
                templates.append((topic, template))
                corpus.templates[label] = " ".join(template)
                letters: list[str] = []
                for _ in range(rng.choice(sizes)):
                    if letters and rng.random() < 0.08:
                        corpus.letters.append(
                            Letter(
                                _exact_copy(rng, rng.choice(letters)), label, language, band, exact_copy=True
                            )
                        )
                        continue
                    letters.append(edited(rng, template, language))
                    corpus.letters.append(Letter(letters[-1], label, language, band))
            for _ in range(distinct_per_band):
                topic = rng.choice(topics)
                opening = None
                if band[0] >= 50 and rng.random() < 0.25:  # quotes a campaign, then reasons on its own
                    quoted_topic, template = rng.choice(templates)
                    topic, opening = quoted_topic, rng.choice(template)
                sentences = _text(rng, topic, rng.randint(*band), opening=opening)
                corpus.letters.append(Letter(" ".join(sentences), None, language, band))
    rng.shuffle(corpus.letters)
    return corpus
