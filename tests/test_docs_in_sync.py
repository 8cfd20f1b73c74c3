"""Generated documentation must match the code it documents."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from consent.errors import PasserelleError
from consent.vocabulary import DOC_HEADER, describe

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_dataset_vocabulary_doc_is_generated_from_the_code() -> None:
    assert (DOCS / "datasets.md").read_text(encoding="utf-8") == DOC_HEADER + describe(), (
        "docs/datasets.md is stale: run `python -m consent.vocabulary > docs/datasets.md`"
    )


def _error_tree() -> str:
    """``docs/errors.md``'s tree: every :class:`PasserelleError` subclass of the three
    packages, with its status, code and (where it changes) its module."""
    for package in ("consent", "adapters", "proxy"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, package + "."):
            if not module.name.endswith("__main__") and ".migrations" not in module.name:
                importlib.import_module(module.name)  # (alembic's scripts run on import)
    lines = ["PasserelleError (500 internal-error)".ljust(58) + "consent/errors.py"]

    def walk(parent: type[PasserelleError], prefix: str, where: str) -> None:
        children = sorted(parent.__subclasses__(), key=lambda c: c.__name__)
        for n, child in enumerate(children):
            last = n == len(children) - 1
            text = f"{prefix}{'└── ' if last else '├── '}{child.__name__} " \
                   f"({child.status} {child.code})"
            module = child.__module__.replace(".", "/") + ".py"
            lines.append(text if module == where else f"{text.ljust(58)} {module}")
            walk(child, prefix + ("    " if last else "│   "), module)

    walk(PasserelleError, "", "consent/errors.py")
    return "\n".join(lines) + "\n"


def test_the_error_tree_doc_lists_every_error_class() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    documented = text.split("## The tree", 1)[1].split("```\n", 2)[1]
    expected = _error_tree()
    assert documented == expected, f"docs/errors.md's tree is stale; it is:\n{expected}"
