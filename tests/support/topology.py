"""The production topology on this machine, for tests: PostgreSQL, two replicas, nginx (TLS).

:func:`local_topology` runs ``deploy/local-topology.sh up`` into a fresh state directory and
``down`` afterwards; the ``topology`` fixture (session scope) shares one for a whole run. Any
multi-replica test can use it::

    from tests.support.topology import topology  # noqa: F401  (in a conftest.py)

    async def test_withdrawal_reaches_the_other_replica(topology: Topology) -> None:
        first, second = topology.replicas   # direct URLs; topology.edge_url goes through nginx

:func:`nginx_edge` renders the *same* nginx templates in front of any two upstreams (fake ones
that echo what they receive), to test the edge's header policy itself.

The tools come from Debian packages (postgresql, nginx-light, openssl): without them the tests
skip, except with ``CI=true`` where they fail (CI must exercise the topology).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import locate_binaries

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCRIPT = DEPLOY / "local-topology.sh"


def nginx_binary() -> str | None:
    """nginx from PATH or Debian's /usr/sbin."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    return found


def require_tools(*, postgres: bool = True) -> None:
    """Skip (fail with CI=true) unless nginx, openssl and, if asked, PostgreSQL are installed."""
    missing = [name for name, present in (
        ("nginx (Debian: nginx-light)", nginx_binary() is not None),
        ("openssl", shutil.which("openssl") is not None),
        ("PostgreSQL server (Debian: postgresql)", not postgres or locate_binaries() is not None),
    ) if not present]
    if missing:
        message = "the local topology needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; with CI=true these tests must run", pytrace=False)
        pytest.skip(message)


@dataclass(frozen=True)
class Topology:
    """A running topology, as ``$STATE/topology.json`` describes it."""

    state_dir: Path
    edge_url: str
    edge_http_url: str
    ca_file: Path
    replicas: tuple[str, ...]
    replica_logs: tuple[Path, ...]
    nginx_access_log: Path
    simulator_url: str
    database_url: str
    secrets_dir: Path

    @classmethod
    def load(cls, path: Path) -> Topology:
        raw = json.loads(path.read_text())
        return cls(state_dir=Path(raw["state_dir"]), edge_url=raw["edge_url"],
                   edge_http_url=raw["edge_http_url"], ca_file=Path(raw["ca_file"]),
                   replicas=tuple(raw["replicas"]),
                   replica_logs=tuple(Path(p) for p in raw["replica_logs"]),
                   nginx_access_log=Path(raw["nginx_access_log"]),
                   simulator_url=raw["simulator_url"], database_url=raw["database_url"],
                   secrets_dir=Path(raw["secrets_dir"]))

    def secret(self, name: str) -> str:
        """The content of one secret file (``db_password``, ``metrics_token``...)."""
        return (self.secrets_dir / name).read_text().strip()

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the topology's self-signed certificate only."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def script_environment(state_dir: Path, **extra: str) -> dict[str, str]:
    """This environment without PASSERELLE_* settings, pointed at ``state_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    env.update(PASSERELLE_TOPOLOGY_DIR=str(state_dir), PASSERELLE_PYTHON=sys.executable,
               **extra)
    return env


def run_script(command: str, state_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """``deploy/local-topology.sh COMMAND`` (output captured, never raising)."""
    return subprocess.run(["bash", str(SCRIPT), command], env=script_environment(
        state_dir, **extra), capture_output=True, text=True, timeout=300, check=False)


@contextmanager
def local_topology(*, demo: bool = False, **environment: str) -> Iterator[Topology]:
    """Bring a topology up in a fresh directory under /tmp (user postgres must reach it), and
    down at the end, checking that nothing is left behind. ``environment`` adds variables
    (``PASSERELLE_UPSTREAM_TIMEOUT="2"``...) that the script does not set itself."""
    require_tools()
    state_dir = Path(tempfile.mkdtemp(prefix="passerelle-topology-", dir="/tmp"))
    extra = {"PASSERELLE_TOPOLOGY_DEMO": "1"} if demo else {}
    extra.update(environment)
    up = run_script("up", state_dir, **extra)
    try:
        if up.returncode != 0:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}"
                             for p in sorted((state_dir / "logs").glob("*.log")))
            raise RuntimeError(f"local-topology.sh up failed:\n{up.stderr}\n{logs}")
        yield Topology.load(state_dir / "topology.json")
    finally:
        down = run_script("down", state_dir)
        if down.returncode != 0 or state_dir.exists():
            raise RuntimeError(f"local-topology.sh down left {state_dir}:\n{down.stderr}")


@pytest.fixture(scope="session")
def topology() -> Iterator[Topology]:
    """One running topology shared by the tests of a session."""
    with local_topology() as running:
        yield running


# ---- the edge alone, in front of any upstreams ---------------------------------------------

@dataclass(frozen=True)
class Edge:
    """nginx built from deploy/nginx/ in front of two upstreams."""

    https_url: str
    http_url: str
    ca_file: Path
    access_log: Path

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def render(template: Path, target: Path, values: dict[str, str]) -> None:
    """Render ``template`` with deploy/render_template.py (the script's own renderer)."""
    subprocess.run([sys.executable, str(DEPLOY / "render_template.py"), str(template),
                    str(target)], env={**os.environ, **values}, check=True, timeout=30)


def nginx_check(config: Path, error_log: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on ``config``."""
    return subprocess.run([str(nginx_binary()), "-t", "-c", str(config), "-e", str(error_log)],
                          capture_output=True, text=True, timeout=30, check=False)


@contextmanager
def nginx_edge(upstreams: tuple[str, str], workdir: Path) -> Iterator[Edge]:
    """Run nginx (foreground, our child) with the production templates in ``workdir``."""
    require_tools(postgres=False)
    secrets = workdir / "secrets"
    subprocess.run(["bash", str(DEPLOY / "make-secrets.sh"), str(secrets), "localhost"],
                   check=True, capture_output=True, timeout=60)
    prefix = workdir / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    (prefix / "tmp").chmod(0o1777)
    https_port, http_port = _free_ports(2)
    user = f"user nobody {_group_of('nobody')};" if os.geteuid() == 0 else ""
    render(DEPLOY / "nginx" / "local-main.conf.template", prefix / "nginx.conf",
           {"NGINX_PREFIX": str(prefix), "NGINX_USER_DIRECTIVE": user})
    render(DEPLOY / "nginx" / "templates" / "passerelle.conf.template",
           prefix / "conf.d" / "passerelle.conf", {
               "NGINX_SERVER_NAME": "localhost 127.0.0.1",
               "NGINX_PUBLIC_ORIGIN": f"https://localhost:{https_port}",
               "NGINX_HTTPS_PORT": f"127.0.0.1:{https_port}",
               "NGINX_HTTP_PORT": f"127.0.0.1:{http_port}",
               "NGINX_UPSTREAM_1": upstreams[0], "NGINX_UPSTREAM_2": upstreams[1],
               "NGINX_TLS_CERT": str(secrets / "tls.crt"),
               "NGINX_TLS_KEY": str(secrets / "tls.key"),
               "NGINX_SNIPPETS": str(DEPLOY / "nginx" / "snippets"),
               "NGINX_ACCESS_LOG": str(prefix / "access.log")})
    checked = nginx_check(prefix / "nginx.conf", prefix / "error.log")
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{checked.stderr}")
    process = subprocess.Popen(
        [str(nginx_binary()), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log"),
         "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(https_port, process)
        yield Edge(https_url=f"https://localhost:{https_port}",
                   http_url=f"http://127.0.0.1:{http_port}",
                   ca_file=secrets / "tls.crt", access_log=prefix / "access.log")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _group_of(user: str) -> str:
    import grp
    import pwd

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _wait_for_port(port: int, process: subprocess.Popen[bytes], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port} within {limit} s")
