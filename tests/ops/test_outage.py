"""A database outage (restart, fail-over) answers 503 with Retry-After, never a 500 trace."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from sqlalchemy import exc

from consent.storage.database import is_outage
from tests.ops.conftest import running


def driver_error(cause: BaseException) -> Exception:
    """What SQLAlchemy raises for an asyncpg error: a DBAPIError around the adapter's error,
    itself caused by asyncpg's."""
    adapted = Exception(str(cause))
    adapted.__cause__ = cause
    return exc.DBAPIError("SELECT 1", {}, adapted)


def raising(error: Exception) -> Callable[[web.Request], web.Response]:
    async def handler(request: web.Request) -> web.Response:
        raise error
    return handler  # type: ignore[return-value]


@pytest.mark.parametrize(("error", "outage"), [
    (exc.OperationalError("SELECT 1", {}, ConnectionRefusedError()), True),
    (exc.InterfaceError("SELECT 1", {}, Exception("connection is closed")), True),
    (exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True), True),
    (exc.TimeoutError("QueuePool limit reached"), True),
    (ConnectionRefusedError(111, "refused"), True),
    (driver_error(asyncpg.CannotConnectNowError("the database system is starting up")), True),
    (driver_error(asyncpg.TooManyConnectionsError("sorry, too many clients")), True),
    (driver_error(asyncpg.UniqueViolationError("duplicate key")), False),
    (exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
    (ValueError("a bug"), False),
])
def test_outages_are_told_from_refused_queries(error: Exception, outage: bool) -> None:
    assert is_outage(error) is outage


async def test_an_outage_is_a_503_problem_and_a_bug_a_500(
        make_app: Callable[..., web.Application]) -> None:
    app = make_app()
    app.router.add_get("/test/outage", raising(
        exc.OperationalError("SELECT 1", {}, ConnectionRefusedError())))
    app.router.add_get("/test/bug", raising(ValueError("secret detail")))
    async with running(app) as client:
        outage = await client.get("/test/outage")
        outage_body = await outage.json()
        bug = await client.get("/test/bug")
        bug_body = await bug.text()

    assert outage.status == 503
    assert outage.headers["Retry-After"] == "2"
    assert outage.headers["Content-Type"].startswith("application/problem+json")
    assert outage_body["type"].endswith("/database-unavailable")
    assert "SELECT" not in str(outage_body)
    assert bug.status == 500
    assert "secret detail" not in bug_body
    assert "Traceback" not in bug_body
