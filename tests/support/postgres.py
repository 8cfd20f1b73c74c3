"""A throwaway PostgreSQL cluster for the test session, or the one named by the environment.

``PASSERELLE_TEST_POSTGRES_URL`` (a role allowed to ``CREATE DATABASE``) wins when set.
Otherwise :class:`Cluster` runs ``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` (as
user ``postgres`` through ``runuser`` when we are root, since initdb refuses root) into a
temporary directory, listening on 127.0.0.1 at a free port with ``fsync=off``, and deletes it
at the end. :func:`locate_binaries` returns ``None`` when PostgreSQL is not installed: the
caller skips, or fails when ``CI=true`` (a CI run must exercise PostgreSQL).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ENV_URL = "PASSERELLE_TEST_POSTGRES_URL"


def locate_binaries() -> Path | None:
    """The ``bin`` directory of the newest installed PostgreSQL with initdb, or ``None``."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name)
                        if Path(p).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    """One PostgreSQL cluster in a temporary directory; superuser ``postgres``, trust auth."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="passerelle-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        """Admin URL (database ``postgres``) for asyncpg through SQLAlchemy."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        """initdb + start; raises with PostgreSQL's own output on failure."""
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        # The port is free when chosen, not when the server binds it: another test worker
        # (pytest-xdist) or server may take it between the two. Choose again, a few times.
        for attempt in range(3):
            try:
                self._start_server()
                return
            except RuntimeError:
                log = (self.root / "server.log").read_text(errors="replace")
                if "could not bind" not in log or attempt == 2:
                    raise
                self.port = _free_port()

    def _start_server(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", options,
                  "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            if (self.datadir / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m",
                          "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def admin_url_from_env() -> str | None:
    """The externally provided admin URL, normalised for asyncpg, or ``None``."""
    url = os.environ.get(ENV_URL)
    if not url:
        return None
    from consent.storage.database import normalise_url

    return normalise_url(url)
