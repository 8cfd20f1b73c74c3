"""The serve command settles the heap once the application has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from proxy.app import create_app
from proxy.server_tuning import GC_THRESHOLDS, tune_for_serving
from proxy.settings import Settings


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
