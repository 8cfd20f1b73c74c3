"""Secret files made on first start: one complete file whoever wins the race to create it
(replicas or a benchmark's servers starting at once on one data directory)."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from consent.evidence.secrets import ENV_VAR, Keyring
from consent.secret_files import read_or_create

_CONTEXT = multiprocessing.get_context("fork")


def _slow_secret(path: str, barrier: Barrier, results: Queue[bytes]) -> None:
    barrier.wait()

    def make() -> bytes:
        time.sleep(0.2)  # every racer is inside make() at once: the window stays open
        return os.urandom(32)

    results.put(read_or_create(Path(path), make))


def _keyring(path: str, barrier: Barrier, results: Queue[str]) -> None:
    barrier.wait()
    try:
        results.put(Keyring.from_environment(Path(path)).current)
    except Exception as exc:  # reported to the test, which fails on it
        results.put(f"failed: {exc}")


def _race(target: Callable[..., None], path: Path, racers: int = 6) -> list[Any]:
    """Start ``racers`` processes running ``target`` on ``path`` at one barrier; what each
    put on the queue."""
    barrier, results = _CONTEXT.Barrier(racers), _CONTEXT.Queue()
    processes = [_CONTEXT.Process(target=target, args=(str(path), barrier, results))
                 for _ in range(racers)]
    for process in processes:
        process.start()
    found = [results.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return found


def test_racing_creators_all_read_the_winners_content(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.bin"
    found = _race(_slow_secret, path)
    assert len(set(found)) == 1
    assert found[0] == path.read_bytes()
    assert len(path.read_bytes()) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret.bin"]  # no temporary left


def test_an_existing_file_is_read_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secret.bin"
    path.write_bytes(b"kept")
    assert read_or_create(path, lambda: b"fresh") == b"kept"
    assert path.read_bytes() == b"kept"


def test_racing_servers_share_one_evidence_keyring(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    found = _race(_keyring, tmp_path / "instance" / "evidence-keys")
    assert not [f for f in found if str(f).startswith("failed")], found
    assert len(set(found)) == 1


def test_a_file_system_without_hard_links_still_gets_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(source: str, target: Path) -> None:
        raise PermissionError(1, "Operation not permitted")  # as on some network shares

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "secret.bin"
    assert read_or_create(path, lambda: b"fresh") == b"fresh"
    assert read_or_create(path, lambda: b"other") == b"fresh"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.bin"]
