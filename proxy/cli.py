"""The ``passerelle`` command.

Every subcommand takes the same ``--data-dir`` / ``--database-url`` options (a parent parser),
so an operator points all of them at one instance the same way. Subcommands are registered by
small ``add_*_commands`` functions, one per area.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from proxy.settings import Settings, default_data_dir

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
    """Settings from the shared options plus ``overrides``."""
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    return Settings(data_dir=data_dir, database_url=args.database_url, **overrides)  # type: ignore[arg-type]


def _serve(args: argparse.Namespace) -> int:
    from proxy.app import create_app

    settings = settings_from(args, host=args.host, port=args.port, demo=args.demo,
                             public_url=args.public_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(create_app(settings), host=settings.host, port=settings.port,
                print=lambda msg: print(f"Passerelle at {settings.issuer} ({msg.strip()})"))
    return 0


def add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("serve", parents=[parent], help="run the Passerelle server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--public-url", default=None,
                   help="externally visible base URL (OAuth issuer); default http://HOST:PORT")
    p.add_argument("--demo", action="store_true",
                   help="seed a deterministic demo into an empty database and use the built-in "
                        "DSO simulator")
    p.set_defaults(func=_serve)


def _simulator(args: argparse.Namespace) -> int:
    from adapters.inhouse.runner import run_simulator

    return run_simulator(host=args.host, port=args.port, client_id=args.client_id,
                         seed=args.seed, port_delay=args.port_delay)


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
    p.set_defaults(func=_simulator)


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = argparse.ArgumentParser(prog="passerelle", description=__doc__.splitlines()[0])
    parent = instance_options()
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_command(sub, parent)
    add_simulator_command(sub, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``passerelle`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
