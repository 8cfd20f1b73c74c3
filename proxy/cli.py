"""The ``passerelle`` command.

Every subcommand takes the same ``--data-dir`` / ``--database-url`` options (a parent parser),
so an operator points all of them at one instance the same way. Subcommands are registered by
small ``add_*_commands`` functions, one per area.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from proxy.environment import InvalidConfiguration, expand_secret_files, settings_from_environment
from proxy.settings import Settings

Command = Callable[[argparse.Namespace], int]


def instance_options() -> argparse.ArgumentParser:
    """The options every subcommand shares."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--data-dir", type=Path, default=None,
                        help="instance directory (default: $PASSERELLE_DATA_DIR or ./.passerelle)")
    parent.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL (default: SQLite file in the data dir; "
                             "postgresql://... in production)")
    return parent


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    """Settings from ``PASSERELLE_*`` variables, then the shared options and ``overrides`` given
    on the command line (``None``: not given) on top."""
    return settings_from_environment(
        {"data_dir": args.data_dir, "database_url": args.database_url, **overrides})


def _serve(args: argparse.Namespace) -> int:
    from proxy.app import create_app
    from proxy.issuer import check_issuer
    from proxy.logging_setup import configure_logging
    from proxy.observability import SafeAccessLogger
    from proxy.server_tuning import loop_kind, serving_loop, tune_for_serving

    settings = settings_from(args, host=args.host, port=args.port, demo=args.demo,
                             public_url=args.public_url)
    check_issuer(settings)
    configure_logging(settings.log_format, settings.log_level)
    loop = serving_loop(settings.event_loop)
    app = create_app(settings)
    tune_for_serving(app)
    web.run_app(app, host=settings.host, port=settings.port, loop=loop,
                access_log_class=SafeAccessLogger,
                print=lambda msg: print(f"Passerelle at {settings.issuer} on {loop_kind(loop)} "
                                        f"({msg.strip()})"))
    return 0


def add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[parent], help="run the Passerelle server")
    # Defaults live in Settings, so that PASSERELLE_HOST, _PORT... apply when an option is absent.
    p.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="listen port (default 8080)")
    p.add_argument("--public-url", default=None,
                   help="externally visible base URL (OAuth issuer); default http://HOST:PORT")
    p.add_argument("--demo", action="store_true", default=None,
                   help="seed a deterministic demo into an empty database and use the built-in "
                        "DSO simulator")
    p.set_defaults(func=_serve)


def _migrate(args: argparse.Namespace) -> int:
    from consent.storage import Database

    settings = settings_from(args)

    async def run() -> str | None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.from_url(settings.resolved_database_url)
        try:
            return await db.migrate()
        finally:
            await db.dispose()

    print(f"database at revision {asyncio.run(run())}")
    return 0


def add_migrate_command(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                        parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("migrate", parents=[parent],
                       help="upgrade the database schema to the newest revision")
    p.set_defaults(func=_migrate)


def _demo_show(args: argparse.Namespace) -> int:
    from consent.demo import DEMO_PLAN, describe

    demo = describe(DEMO_PLAN)
    _add_meter_numbers(demo)
    if args.json:
        print(json.dumps(demo, indent=2, ensure_ascii=False))
    else:
        print(_demo_text(demo))
    return 0


def _add_meter_numbers(demo: dict[str, Any]) -> None:
    """What the demo simulator prints on each meter (R15: claims, first OpenID sign-in, reset)."""
    from adapters.simulator.demo import demo_profiles
    from consent.demo import DEMO_PLAN

    printed = {str(p.point): p.printed_number for p in demo_profiles(DEMO_PLAN)}
    for point in demo["points"]:
        point["meter_number"] = printed.get(point["ref"])


def _demo_text(demo: dict[str, Any]) -> str:
    lines = ["Passerelle demo (public passwords: never on a production instance)", "",
             "Households (login / password):"]
    for h in demo["households"]:
        lines.append(f"  {h['username']:<10} {h['password']:<22} {h['name']}: "
                     + ", ".join(h["points"]))
    lines += ["", "Staff (login / password / roles):"]
    for s in demo["staff"]:
        lines.append(f"  {s['username']:<10} {s['password']:<22} {', '.join(s['roles'])} "
                     f"({s['organisation']})")
    lines += ["", "Metering points:"]
    for p in demo["points"]:
        occupants = "; ".join(f"{o['household']} from {_instant(o['starts_at'])}"
                              + (f" to {_instant(o['ends_at'])}" if o["ends_at"] else "")
                              for o in p["occupancies"])
        lines.append(f"  {p['ref']:<28} {p['energy']:<11} {'+'.join(p['directions']):<22} "
                     f"{p['address']['postal_code']} {p['address']['city']}: {occupants}"
                     + (f" (meter number {p['meter_number']})" if p.get("meter_number")
                        else ""))
    lines += ["", "OAuth clients (client_id / client_secret):"]
    for c in demo["clients"]:
        lines.append(f"  {c['client_id']:<20} {c['client_secret']}  {c['name']}")
        lines.append(f"  {'':<20} redirect: {', '.join(c['redirect_uris'])}")
    return "\n".join(lines)


def _instant(iso: str) -> str:
    """``2026-09-30T22:00:00+00:00`` -> ``2026-09-30 22:00Z`` (``2019-03-01`` at midnight)."""
    day, _, time = iso.partition("T")
    return day if time.startswith("00:00:00") else f"{day} {time[:5]}Z"


def add_demo_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      parent: argparse.ArgumentParser) -> None:
    demo = sub.add_parser("demo", help="the deterministic demo seeded by serve --demo")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    show = demo_sub.add_parser("show", parents=[parent],
                               help="print the demo logins, points and client credentials")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=_demo_show)


def _simulator(args: argparse.Namespace) -> int:
    from adapters.inhouse.runner import run_simulator
    from adapters.simulator.demo import demo_profiles
    from consent.demo import DEMO_PLAN

    return run_simulator(host=args.host, port=args.port, client_id=args.client_id,
                         seed=args.seed, port_delay=args.port_delay, dso=args.dso,
                         profiles=demo_profiles(DEMO_PLAN) if args.demo else ())


def add_simulator_command(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                          parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("simulator", parents=[parent],
                       help="serve the built-in DSO simulator over the in-house DSO API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--client-id", default="passerelle",
                   help="OAuth client id accepted by the token endpoint; its secret comes from "
                        "$PASSERELLE_SIMULATOR_SECRET (else one is generated and printed)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault generator")
    p.add_argument("--port-delay", type=float, default=120.0,
                   help="seconds a meter-port open/close request takes to complete")
    p.add_argument("--dso", choices=("inhouse", "enedis", "grdf"), default="inhouse",
                   help="wire format served: the in-house DSO API, or the fake Enedis Data "
                        "Connect or GRDF ADICT (docs/adapters.md)")
    p.add_argument("--demo", action="store_true",
                   help="serve the demo households' meters as `serve --demo` seeds them (same "
                        "occupants and move-in days), for replicas seeded with the demo")
    p.set_defaults(func=_simulator)


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = argparse.ArgumentParser(prog="passerelle", description=__doc__.splitlines()[0])
    parent = instance_options()
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_command(sub, parent)
    from proxy.audit_cli import add_audit_commands

    add_audit_commands(sub, parent, settings_from)
    from proxy.keys_cli import add_keys_commands

    add_keys_commands(sub, parent, settings_from)
    from proxy.retention_cli import add_evidence_commands

    add_evidence_commands(sub, parent, settings_from)
    add_migrate_command(sub, parent)
    from proxy.documents_cli import add_documents_commands

    add_documents_commands(sub, parent, settings_from)
    add_demo_commands(sub, parent)
    from proxy.oauth.cli import add_oauth_commands

    add_oauth_commands(sub, parent, settings_from)
    from proxy.portal.cli import add_account_commands

    add_account_commands(sub, parent, settings_from)
    from proxy.staff.cli import add_staff_commands

    add_staff_commands(sub, parent, settings_from)
    from proxy.households_cli import add_households_commands

    add_households_commands(sub, parent, settings_from)
    add_simulator_command(sub, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``passerelle`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    try:
        expand_secret_files(os.environ)  # PASSERELLE_X_FILE -> PASSERELLE_X (Docker secrets)
        return func(args)
    except InvalidConfiguration as error:
        print(f"passerelle: {error.detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
