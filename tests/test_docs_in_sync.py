"""Generated documentation must match the code it documents."""

from __future__ import annotations

from pathlib import Path

from consent.vocabulary import DOC_HEADER, describe

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_dataset_vocabulary_doc_is_generated_from_the_code() -> None:
    assert (DOCS / "datasets.md").read_text(encoding="utf-8") == DOC_HEADER + describe(), (
        "docs/datasets.md is stale: run `python -m consent.vocabulary > docs/datasets.md`"
    )
