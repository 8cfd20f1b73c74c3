"""The publishable templates: both languages say the same things, and cite what they must."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "docs" / "templates"
NAMES = ["privacy-notice", "data-processing-agreement", "recipient-charter"]
PLACEHOLDER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")


def placeholders(path: Path) -> set[str]:
    return set(PLACEHOLDER.findall(path.read_text()))


@pytest.mark.parametrize("name", NAMES)
def test_both_languages_use_the_same_placeholders_and_sections(name: str) -> None:
    english, french = TEMPLATES / f"{name}.en.md", TEMPLATES / f"{name}.fr.md"

    assert placeholders(english) == placeholders(french)
    assert (english.read_text().count("\n## ") == french.read_text().count("\n## "))


def test_every_placeholder_is_explained_in_the_readme() -> None:
    used = set().union(*(placeholders(p) for p in TEMPLATES.glob("*.??.md")))
    explained = placeholders(TEMPLATES / "README.md")

    assert sorted(used - explained) == []


DECREE_ITEMS = range(1, 11)  # art. 3.1.60, 1° to 10°


@pytest.mark.parametrize(("language", "items"), [
    ("en", [f"28(3)({x})" for x in "abcdefgh"] + [f"decree {n}°" for n in DECREE_ITEMS]),
    ("fr", [f"28.3.{x}" for x in "abcdefgh"] + [f"arrêté, {n}°" for n in DECREE_ITEMS]),
])
def test_the_processing_agreement_covers_article_28_and_decree_3_1_60(
        language: str, items: list[str]) -> None:
    text = (TEMPLATES / f"data-processing-agreement.{language}.md").read_text()

    assert [item for item in items if item not in text] == []
