"""Render a configuration template: replace each ``${NGINX_*}`` with that environment variable.

    python3 deploy/render_template.py TEMPLATE OUTPUT

Like the nginx image's envsubst step with ``NGINX_ENVSUBST_FILTER=^NGINX_`` (nginx's own
``$variables`` are left alone), but a placeholder without a value is an error instead of an
empty string. Standard library only: deploy/local-topology.sh and the tests run it.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{(NGINX_[A-Z0-9_]+)\}")


def render(text: str, values: dict[str, str]) -> str:
    """``text`` with every ``${NGINX_X}`` replaced; raises ``KeyError`` naming a missing one."""
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeyError("no value for " + ", ".join(missing))
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = Path(argv[1]), Path(argv[2])
    try:
        rendered = render(source.read_text(encoding="utf-8"), dict(os.environ))
    except KeyError as exc:
        print(f"{source}: {exc.args[0]}", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
