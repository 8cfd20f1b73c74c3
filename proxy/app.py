"""The application factory: ``create_app(settings)`` builds a ready aiohttp application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from aiohttp import web
from sqlalchemy.exc import ArgumentError, DBAPIError

from adapters.base import MeterDataAdapter
from consent.clock import Clock, SystemClock
from consent.demo import DEMO_PLAN, seed_demo
from consent.identifiers import Source
from consent.storage import Database
from consent.storage.wal_checkpoints import BACKSTOP_PAGES, checkpointer_for
from proxy.compat.enedis.oauth import CALLBACK_PATH
from proxy.data.setup import data_ctx, use_adapters
from proxy.environment import InvalidConfiguration
from proxy.evidence.setup import evidence_ctx
from proxy.forwarding import forwarded_middleware_for, parse_networks
from proxy.issuer import check_demo
from proxy.keys import clock_key, database_key, invalidation_bus_key, metrics_key, settings_key
from proxy.middlewares import error_middleware, nul_guard_middleware, request_id_middleware
from proxy.oauth.setup import setup_oauth
from proxy.observability import metrics_middleware, setup_metrics
from proxy.portal.setup import setup_portal
from proxy.protocol_log import ParseErrorLog
from proxy.routes import setup_routes
from proxy.settings import Settings
from proxy.staff.setup import setup_staff
from proxy.web.headers import security_headers_middleware

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, clock: Clock | None = None,
               adapters: Mapping[Source, MeterDataAdapter] | None = None) -> web.Application:
    """Build the application; resources open in ``cleanup_ctx`` and close in reverse order.

    ``adapters`` maps each source to its DSO adapter (default: the built-in simulator).
    :class:`~proxy.environment.InvalidConfiguration` for the demo on an issuer that is not
    loopback (:func:`proxy.issuer.check_demo`), or a key or setting found unusable at start.
    """
    check_demo(settings)
    app = web.Application(
        middlewares=[forwarded_middleware_for(parse_networks(settings.trusted_proxies)),
                     security_headers_middleware, request_id_middleware, error_middleware,
                     metrics_middleware, nul_guard_middleware],
        client_max_size=1024 * 1024,
        # A client's unparsable request: one INFO line, not an ERROR traceback.
        handler_args={"logger": ParseErrorLog()},
    )
    app[settings_key] = settings
    setup_metrics(app)
    app[clock_key] = clock or SystemClock()
    app.cleanup_ctx.append(_database_ctx)
    setup_oauth(app)
    # --- evidence (issue 6): records of consent changes, the access trail, checkpoints ------
    app.cleanup_ctx.append(evidence_ctx)
    # --- data proxy (issue 4): adapters, access events, cache, limiters, data service -----
    use_adapters(app, adapters)
    app.cleanup_ctx.append(data_ctx)
    # --- market rules and the staff API (issue 8): mandates, communities, evidence ----------
    setup_staff(app)
    # --- household portal (issue 7): needs the data path's and the rules' services --------
    setup_portal(app)
    setup_routes(app)
    _clean_up_after_a_failed_start(app)
    return app


def _clean_up_after_a_failed_start(app: web.Application) -> None:
    """Close the contexts already entered when a later one fails at start (a refused key, a
    database that cannot be used): ``web.run_app`` does not, and leaves them to the event
    loop's shutdown, which logs a traceback for each. The refusal then reads as one line."""
    contexts = app.cleanup_ctx
    start = contexts._on_startup  # aiohttp's own step, registered by Application()

    async def start_or_clean_up(app: web.Application) -> None:
        try:
            await start(app)
        except BaseException:
            with contextlib.suppress(Exception):
                await contexts._on_cleanup(app)
            contexts._exits.clear()  # closed: a later cleanup must not close them again
            raise

    app.on_startup[app.on_startup.index(start)] = start_or_clean_up


def describe_failure(error: BaseException) -> str:
    """The driver's own words for ``error`` (SQLAlchemy's wrapper adds the statement and a
    link), on one line, at most 200 characters."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    words = " ".join(str(cause).split()) or type(cause).__name__
    return words[:200]


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the database, bring its schema to the newest revision, seed the demo if asked,
    and start the invalidation bus the hot-path caches listen to; on SQLite, checkpoint its
    write-ahead log in the background rather than inside the commits requests wait for.
    A database that cannot be reached or used when migrating at start is
    :class:`~proxy.environment.InvalidConfiguration` (``passerelle serve`` exits with 2)."""
    settings = app[settings_key]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        db = Database.from_url(settings.resolved_database_url,
                               sqlite_synchronous=settings.sqlite_synchronous,
                               sqlite_autocheckpoint=BACKSTOP_PAGES)
    except (ArgumentError, ImportError):  # not a URL, or no driver for it (mysql://...)
        raise InvalidConfiguration("PASSERELLE_DATABASE_URL is not a sqlite:/// or "
                                   "postgresql:// URL.") from None
    app[database_key] = db
    bus = db.invalidation_bus(delay_observer=app[metrics_key].revocation_propagation.observe)
    checkpointer = checkpointer_for(db)
    try:
        if settings.migrate_on_start:
            try:
                revision = await db.migrate()
            except (OSError, TypeError, ValueError, DBAPIError) as error:
                # Unreachable, refused, or a URL argument the driver does not take: one line
                # naming the database without its password, not a traceback.
                raise InvalidConfiguration(
                    f"Cannot use the database {db.engine.url.render_as_string()}: "
                    f"{describe_failure(error)}") from None
            log.info("database %s at revision %s", db.dialect, revision)
        if settings.demo:
            report = await seed_demo(db, DEMO_PLAN, app[clock_key],
                                     dataconnect_callback=settings.issuer + CALLBACK_PATH)
            log.info("demo %s", "seeded" if report.seeded else "already present (not seeded)")
        if checkpointer is not None:
            checkpointer.start()
        await bus.start()
        app[invalidation_bus_key] = bus
        yield
    finally:
        if checkpointer is not None:
            await checkpointer.close()
        await bus.close()
        await db.dispose()
