"""The languages of the household pages (one place, so message catalogues can name them)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
DEFAULT_LANG: Lang = "fr"
#: Each language's name, written in that language (what the language switch shows).
LANG_NAMES: dict[Lang, str] = {"fr": "Français", "en": "English"}

#: A message catalogue: key -> text per language.
Catalogue = dict[str, dict[Lang, str]]
