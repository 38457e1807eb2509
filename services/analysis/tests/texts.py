"""Proposal texts for tests, from a seeded generator: distinct proposals share the call's vocabulary and
stock phrases (as real ones do), form letters differ by a few edits and a signature."""

# ruff: noqa: RUF001 (Russian words made only of letters that look Latin)

from __future__ import annotations

import random

OPENINGS = [
    "We propose the following measures on the regulation of artificial intelligence.",
    "Our organization submits its proposals on the legal regulation of artificial intelligence.",
    "In response to the call for proposals we set out our position below.",
]
SUBJECTS = [
    "developers of foundation models",
    "operators of high-risk systems",
    "public authorities using automated decisions",
    "providers of medical diagnostic software",
    "banks that score credit applications",
    "vendors of face recognition",
    "universities training large models",
    "data centre operators",
    "integrators of sovereign models",
    "platforms that recommend content",
    "insurers pricing risk with machine learning",
    "manufacturers of autonomous vehicles",
    "developers of educational assistants",
    "law enforcement agencies",
    "small businesses adopting chat assistants",
]
VERBS = [
    "should register",
    "must disclose",
    "ought to certify",
    "should be allowed to test",
    "must keep records of",
    "should publish summaries of",
    "must obtain consent before deploying",
    "should insure against failures of",
    "must assess the risks of",
    "should be exempt from licensing for",
    "must explain the outputs of",
    "should be liable for harm caused by",
]
OBJECTS = [
    "their training data",
    "every model version",
    "the evaluation results",
    "systems that affect citizens",
    "models trained abroad",
    "the logs of automated decisions",
    "datasets with personal data",
    "experimental deployments",
    "the energy use of data centres",
    "algorithms used in hiring",
    "safety incidents",
    "open source components",
]
CONDITIONS = [
    "where the cost of an error is high",
    "within an experimental legal regime",
    "unless the use is purely internal",
    "under a national technical standard",
    "before entering the public sector market",
    "once a year",
    "with the supervision of an accredited laboratory",
    "in healthcare and transport first",
    "without creating barriers for startups",
    "in line with international practice",
    "after a public consultation",
    "within two years of the law entering into force",
]
SYLLABLES = ["ka", "lo", "mi", "ner", "sta", "vu", "re", "tol", "gan", "pri", "sel", "dor", "bek", "zu", "ha"]

FORM_LETTER = (
    "Dear colleagues of the ministry. As citizens who care about the future of technology in our country "
    "we ask you to adopt a single comprehensive law on artificial intelligence. The law must define "
    "artificial intelligence clearly, assign liability to developers and to users for the harm their "
    "systems cause, and ban the use of artificial intelligence for social scoring and for mass "
    "surveillance in public places. We also ask that every system used in healthcare, education and the "
    "courts be certified by an independent body before it is deployed, that citizens always have the "
    "right to a human review of an automated decision, and that developers publish what data their "
    "models were trained on. Sovereign domestic models should be preferred in public administration, "
    "but foreign models must not be banned where they are safer or better. Please protect the rights of "
    "people while keeping freedom for research and for small companies. We trust that the ministry will "
    "hear the voice of ordinary people in this consultation."
)


RUSSIAN_LETTER = (
    "Уважаемые коллеги! Просим принять единый закон, регулирующий искусственный интеллект. Закон должен "
    "запретить социальный рейтинг и массовую слежку, обязать разработчиков раскрывать обучающие данные и "
    "гарантировать каждому гражданину право на пересмотр решения человеком. Мы надеемся, что министерство "
    "услышит голос простых людей."
)
"""A short form letter of 39 words (the kind whose copies word shingles failed to group)."""
RUSSIAN_DISTINCT = [
    "Уважаемые коллеги! Просим не принимать единый закон, регулирующий искусственный интеллект: лучше "
    "отраслевые стандарты. Социальный рейтинг уже запрещён, а обучающие данные разработчиков составляют "
    "коммерческую тайну.",
    "Просим обязать разработчиков раскрывать обучающие данные только регулятору, а не всем гражданам. "
    "Массовую слежку следует ограничить судебным контролем, пересмотр решения человеком нужен в медицине.",
    "Закон должен гарантировать каждому гражданину право знать, что с ним говорит искусственный "
    "интеллект. Мы надеемся, что министерство поддержит маркировку сгенерированного контента в сети.",
    "Добрый день. Единый закон преждевременен: искусственный интеллект быстро меняется. Предлагаем "
    "экспериментальные правовые режимы в регионах и право на пересмотр решения человеком в банках.",
]
"""Short Russian proposals on the same topic with reasoning of their own (not the letter's campaign)."""
RUSSIAN_WORDS = ["очень", "также", "строго", "всех", "именно", "новый", "срочно", "ещё", "людей", "важно"]


def pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def distinct_text(rng: random.Random, sentences: int = 12) -> str:
    """A proposal of its own: stock phrases recombined, with names of its own."""
    parts = [rng.choice(OPENINGS)]
    for _ in range(sentences):
        sentence = (
            f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(CONDITIONS)}"
        )
        if rng.random() < 0.5:
            sentence += (
                f", as the {pseudo_word(rng)} {pseudo_word(rng)} pilot in {pseudo_word(rng).title()} showed"
            )
        parts.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(parts)


def form_letter_copy(rng: random.Random) -> str:
    """The form letter with small edits: a few words swapped or dropped, and a personal signature."""
    words = FORM_LETTER.split()
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(words))
        if rng.random() < 0.5:
            words[position] = pseudo_word(rng)
        else:
            del words[position]
    greeting = rng.choice(["", "Hello.", "Good afternoon."])
    signature = (
        f"Sincerely, {pseudo_word(rng).title()} {pseudo_word(rng).title()} from {pseudo_word(rng).title()}."
    )
    return " ".join(part for part in (greeting, " ".join(words), signature) if part)


def russian_letter_copy(rng: random.Random, changes: int = 3) -> str:
    """The Russian letter with ``changes`` words replaced, as senders personalize it."""
    words = RUSSIAN_LETTER.split()
    for position in rng.sample(range(len(words)), changes):
        words[position] = rng.choice(RUSSIAN_WORDS)
    return " ".join(words)
