"""Secret files an instance makes for itself on first start (the evidence keyring, the day
cache's key, the pages' secret key), created once and atomically.

Several processes may start at once on one data directory: the replicas of a deployment, or a
benchmark's servers. Checking that a file is missing and then creating it leaves a window in
which another process either fails to create it (``O_EXCL``) or reads it empty, before its
content is written: a server that then refuses to start ("the keyring holds no key"), or worse,
one that derives its keys from nothing. Here the content is written and synced under a
temporary name in the same directory, then hard-linked to the final name, which fails if the
name exists: every process reads the one complete file whoever won.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of the secret file ``path``; if there is none, ``make()`` is written to it
    first (mode 0600, parent directories created). Of processes racing to create it, one
    wins and all read its content; none sees a partial file."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process won: read its file
            pass
        except OSError:  # a file system without hard links: create it exclusively instead
            _create_exclusively(path, temporary)
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def _create_exclusively(path: Path, temporary: str) -> None:
    """Where hard links are not supported: ``O_EXCL`` creation, then the content. A process
    racing this one may then read the file before its content is written (the window the
    link closes elsewhere); the content is short and written at once."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(Path(temporary).read_bytes())
        handle.flush()
        os.fsync(handle.fileno())
