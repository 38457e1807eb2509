"""The document's two charts as data (what the bars are) and as inline SVG (for the HTML rendering);
the PDF draws the same data with its own primitives."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from aireg_events.catalogue.common import Direction, Position, Question
from aireg_reporting.document.wording import Wording
from aireg_reporting.statistics import Statistics

POSITION_COLOURS = {"support": "#2e7d32", "conditional": "#e0a100", "oppose": "#c62828"}
BAR_COLOUR = "#1f4e79"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


@dataclass(frozen=True)
class StackedBar:
    label: str
    parts: list[tuple[str, int]]
    """(position, count) in the order support, conditional, oppose."""

    @property
    def total(self) -> int:
        return sum(count for _, count in self.parts)


def proposals_per_direction(statistics: Statistics, words: Wording) -> list[Bar]:
    return [
        Bar(words.label(direction.value), statistics.by_direction.get(direction.value, 0))
        for direction in Direction
    ]


def positions_per_question(statistics: Statistics, words: Wording) -> list[StackedBar]:
    order = [Position.support.value, Position.conditional.value, Position.oppose.value]
    return [
        StackedBar(
            words.label(question.value),
            [(position, statistics.positions.get(question.value, {}).get(position, 0)) for position in order],
        )
        for question in Question
    ]


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int = 12,
    weight: str = "normal",
    fill: str = "#1b1f24",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
        f'fill="{fill}" font-family="Helvetica, Arial, sans-serif">{escape(content)}</text>'
    )


def label_room(labels: list[str], least: float) -> float:
    """Room for the longest label at 12 px (the Russian names of directions and questions are long)."""
    return max(least, 12 + 6.6 * max([len(text) for text in labels] + [0]))


def bar_chart_svg(title: str, bars: list[Bar]) -> str:
    label_width, row, top = label_room([bar.label for bar in bars], 220), 26, 34
    width = round(label_width + 420)
    height = top + row * len(bars) + 10
    scale = max([bar.value for bar in bars] + [1])
    room = width - label_width - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(0, 18, title, size=14, weight="bold"),
    ]
    for index, bar in enumerate(bars):
        y = top + index * row
        length = room * bar.value / scale
        parts.append(_text(label_width - 8, y + 15, bar.label, anchor="end"))
        parts.append(
            f'<rect x="{label_width:.1f}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" rx="2" fill="{BAR_COLOUR}">'
            f"<title>{escape(bar.label)}: {bar.value}</title></rect>"
        )
        parts.append(_text(label_width + length + 6, y + 15, str(bar.value), size=11, fill="#444"))
    parts.append("</svg>")
    return "".join(parts)


def stacked_bar_svg(title: str, bars: list[StackedBar], words: Wording) -> str:
    label_width, row, top = label_room([bar.label for bar in bars], 250), 26, 54
    width = round(label_width + 390)
    height = top + row * len(bars) + 10
    scale = max([bar.total for bar in bars] + [1])
    room = width - label_width - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(0, 18, title, size=14, weight="bold"),
    ]
    legend_x = 0.0
    for position, colour in POSITION_COLOURS.items():
        parts.append(f'<rect x="{legend_x:.1f}" y="28" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(legend_x + 16, 38, words.label(position), size=11))
        legend_x += 110
    for index, bar in enumerate(bars):
        y = top + index * row
        parts.append(_text(label_width - 8, y + 15, bar.label, anchor="end"))
        x = float(label_width)
        for position, count in bar.parts:
            if count == 0:
                continue
            length = room * count / scale
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
                f'fill="{POSITION_COLOURS[position]}"><title>{escape(bar.label)}: {words.label(position)} {count}</title></rect>'
            )
            x += length
        parts.append(_text(x + 6, y + 15, str(bar.total), size=11, fill="#444"))
    parts.append("</svg>")
    return "".join(parts)
