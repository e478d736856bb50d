"""dates: human-written dates -> ISO ``yyyy - mm - dd``; each output field aligns to its own input word."""

from __future__ import annotations

import datetime as dt
import random
import re

from attnviz.builtin.tasks.base import Example, Task

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTH_ABBR = tuple(m[:3] for m in MONTHS)
FIRST_YEAR, LAST_YEAR = 1970, 2069  # two-digit years: 70-99 -> 19xx, 00-69 -> 20xx
# Each format is a list of fields; literal tokens are written as themselves.
FORMATS = (
    ("WEEKDAY", "D", "MONTH", "YYYY"),  # monday 23 november 2026
    ("DD", "/", "MM", "/", "YY"),  # 23/11/26
    ("MON", "DTH", "YYYY"),  # nov 23rd 2026
    ("MONTH", "D", ",", "YYYY"),  # november 23, 2026
    ("DD", ".", "MM", ".", "YYYY"),  # 23.11.2026
    ("DTH", "of", "MONTH", "YYYY"),  # 23rd of november 2026
    ("D", "MON", "YY"),  # 23 nov 26
)
FIELD_OF = {"D": "day", "DD": "day", "DTH": "day", "MONTH": "month", "MON": "month", "MM": "month"}
FIELD_OF |= {"YYYY": "year", "YY": "year"}


def ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def render_field(field: str, date: dt.date) -> str:
    """One field of ``date`` as a token; a literal field renders as itself."""
    return {
        "WEEKDAY": WEEKDAYS[date.weekday()],
        "D": str(date.day),
        "DD": f"{date.day:02d}",
        "DTH": ordinal(date.day),
        "MONTH": MONTHS[date.month - 1],
        "MON": MONTH_ABBR[date.month - 1],
        "MM": f"{date.month:02d}",
        "YYYY": str(date.year),
        "YY": f"{date.year % 100:02d}",
    }.get(field, field)


YEARS = range(FIRST_YEAR, LAST_YEAR + 1)
# token -> value, for each field of a format
TABLES = {
    "D": {str(d): d for d in range(1, 32)},
    "DD": {f"{d:02d}": d for d in range(1, 32)},
    "DTH": {ordinal(d): d for d in range(1, 32)},
    "MONTH": {m: i + 1 for i, m in enumerate(MONTHS)},
    "MON": {m: i + 1 for i, m in enumerate(MONTH_ABBR)},
    "MM": {f"{m:02d}": m for m in range(1, 13)},
    "YYYY": {str(y): y for y in YEARS},
    "YY": {f"{y % 100:02d}": y for y in YEARS},
}


class DatesTask(Task):
    name = "dates"
    title = "Dates to ISO"
    description = (
        "Turn a human-written date (“monday 23 november 2026”, “23/11/26”, “nov 23rd 2026”, "
        f"“23.11.2026”, ...) from {FIRST_YEAR}-{LAST_YEAR} into ISO yyyy-mm-dd. The year, month and day "
        "each come from a different input word, wherever the format puts it."
    )
    example_text = "monday 23 november 2026"
    max_source_len = 5
    max_target_len = 5

    def source_words(self) -> list[str]:
        words = list(WEEKDAYS) + ["/", ".", ",", "of"]
        for table in TABLES.values():
            words += list(table)
        return words

    def target_words(self) -> list[str]:
        return ["-", *TABLES["YYYY"], *TABLES["DD"]]

    def detokenize(self, tokens: tuple[str, ...]) -> str:
        return re.sub(r" ([/.]) ", r"\1", " ".join(tokens)).replace(" ,", ",")

    def sample(self, rng: random.Random) -> Example:
        span = (dt.date(LAST_YEAR, 12, 31) - dt.date(FIRST_YEAR, 1, 1)).days
        date = dt.date(FIRST_YEAR, 1, 1) + dt.timedelta(days=rng.randint(0, span))
        fmt = rng.choice(FORMATS)
        return _example(tuple(render_field(f, date) for f in fmt), fmt, date)

    def reference(self, source: tuple[str, ...]) -> Example | None:
        for fmt in FORMATS:
            values = _match(fmt, source)
            if values is None:
                continue
            try:
                date = dt.date(values["year"], values["month"], values["day"])
            except ValueError:
                return None
            return _example(source, fmt, date)
        return None


def _match(fmt: tuple[str, ...], source: tuple[str, ...]) -> dict[str, int] | None:
    if len(fmt) != len(source):
        return None
    values: dict[str, int] = {}
    for field, token in zip(fmt, source):
        if field == "WEEKDAY":
            if token not in WEEKDAYS:
                return None
        elif field in TABLES:
            if token not in TABLES[field]:
                return None
            values[FIELD_OF[field]] = TABLES[field][token]
        elif token != field:
            return None
    return values


def _example(source: tuple[str, ...], fmt: tuple[str, ...], date: dt.date) -> Example:
    position = {FIELD_OF[f]: i for i, f in enumerate(fmt) if f in FIELD_OF}
    target = (str(date.year), "-", f"{date.month:02d}", "-", f"{date.day:02d}")
    alignment = (
        frozenset({position["year"]}),
        frozenset(),
        frozenset({position["month"]}),
        frozenset(),
        frozenset({position["day"]}),
    )
    return Example(source=source, target=target, alignment=alignment)
