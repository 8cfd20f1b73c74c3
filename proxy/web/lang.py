"""The languages of the household pages (one place, so message catalogues can name them)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
DEFAULT_LANG: Lang = "fr"
#: Each language's name, written in that language (what the language switch shows).
LANG_NAMES: dict[Lang, str] = {"fr": "Français", "en": "English"}

#: A message catalogue: key -> text per language. A message about a count has two entries:
#: ``key`` (the plural) and ``key + ONE`` (the singular); see :func:`is_singular`.
Catalogue = dict[str, dict[Lang, str]]

#: Suffix of the singular entry of a count's message (``#``: no ordinary key holds it).
ONE = "#one"


def is_singular(lang: Lang, n: int) -> bool:
    """Whether ``n`` takes the singular in ``lang`` (CLDR plural rules for whole numbers):
    French says "0 jour", "1 jour" (singular below 2), English "1 day" but "0 days"."""
    return n < 2 if lang == "fr" else n == 1
