"""Fixtures of the operations tests: a running Passerelle app with extra test routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from proxy.app import create_app
from proxy.settings import Settings

Running = Callable[..., Any]


@asynccontextmanager
async def running(app: web.Application, **runner_options: Any) -> AsyncIterator[TestClient]:
    """``app`` served on 127.0.0.1 at a free port (``runner_options`` go to its AppRunner,
    e.g. ``access_log_class``), with a client."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(**runner_options)
    async with TestClient(server) as client:
        yield client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """An embedded (SQLite) instance in a temporary directory."""
    return Settings(data_dir=tmp_path / "instance")


@pytest.fixture
def make_app(settings: Settings) -> Callable[..., web.Application]:
    """``make_app(**changes)`` builds the real application on ``settings`` with changes."""
    from dataclasses import replace

    def build(**changes: Any) -> web.Application:
        return create_app(replace(settings, **changes))

    return build
