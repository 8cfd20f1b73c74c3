"""The serve command settles the heap once the application has started, on uvloop."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer, unused_port

from proxy.app import create_app
from proxy.server_tuning import GC_THRESHOLDS, tune_for_serving
from proxy.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def test_the_started_application_is_frozen_and_young_collections_are_rarer(
        data_dir: Path, restored_gc: None) -> None:
    app = create_app(Settings(data_dir=data_dir))
    tune_for_serving(app)
    assert gc.get_freeze_count() == 0
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        assert gc.get_freeze_count() > 10_000  # the libraries and the started application
        assert gc.get_threshold() == GC_THRESHOLDS


def test_the_serving_loop_is_uvloop_unless_asked_otherwise() -> None:
    import asyncio

    import uvloop

    from proxy.environment import InvalidConfiguration
    from proxy.server_tuning import serving_loop

    assert Settings().event_loop == "uvloop"
    for name, kind in (("uvloop", uvloop.Loop), ("asyncio", asyncio.BaseEventLoop)):
        loop = serving_loop(name)
        try:
            assert isinstance(loop, kind)
            assert isinstance(loop, uvloop.Loop) == (name == "uvloop")
            assert loop.run_until_complete(asyncio.sleep(0, result=name)) == name
        finally:
            loop.close()
    with pytest.raises(InvalidConfiguration, match="PASSERELLE_EVENT_LOOP"):
        serving_loop("trio")


def test_without_uvloop_the_default_serves_on_the_standard_loop(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from proxy.server_tuning import loop_kind, serving_loop

    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows: the import fails
    loop = serving_loop("uvloop")
    try:
        assert loop_kind(loop) == "asyncio"
        assert "uvloop is not installed" in caplog.text
    finally:
        loop.close()


def serve(tmp_path: Path, **env: str) -> tuple[int, subprocess.Popen[str]]:
    port = unused_port()
    return port, subprocess.Popen(
        [sys.executable, "-m", "proxy", "serve", "--port", str(port), "--data-dir",
         str(tmp_path)], env={**os.environ, **env, "PASSERELLE_LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def test_the_serve_command_answers_on_uvloop(tmp_path: Path) -> None:
    port, process = serve(tmp_path)
    try:
        assert process.stdout is not None
        started = process.stdout.readline()  # printed once the port listens
        assert started.startswith(f"Passerelle at http://127.0.0.1:{port} on uvloop ")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
            assert answer.status == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0  # a clean stop on SIGTERM


def test_an_unknown_event_loop_refuses_to_start(tmp_path: Path) -> None:
    _port, process = serve(tmp_path, PASSERELLE_EVENT_LOOP="trio")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "PASSERELLE_EVENT_LOOP='trio' is not one of uvloop, asyncio." in err
