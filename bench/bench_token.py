"""Passerelle's token endpoint against authlib's own Flask authorization server.

Both issue client-credentials tokens (RFC 6749 §4.4) to a client authenticating with HTTP
Basic, and both store every token before answering, in SQLite:

* Passerelle: ``passerelle serve`` on a migrated SQLite database with one registered recipient
  (opaque token, its digest stored with its scope and expiry; the access log on);
* the baseline: a minimal Flask app with authlib's ``AuthorizationServer`` and
  ``ClientCredentialsGrant`` (the library's documented set-up), the client in memory, tokens
  inserted into an SQLite table with ``sqlite3``, served by Werkzeug's threaded server (what
  ``flask run`` uses; the request log on as well).

Each runs in its own process on 127.0.0.1; this process sends, in one run: sequential requests
(latency p50/p99) then a closed loop of ``--concurrency`` clients (requests per second), and
prints Passerelle's figures against the baseline's. Run:
``python bench/bench_token.py [--requests 2000] [--concurrency 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_proxy import free_port, wait_for
from bench.proxy_world import one_recipient

CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret-not-for-production"


# ---- the baseline: authlib + Flask (its own process) -----------------------------------------

def serve_authlib(port: int, database: str) -> None:
    """authlib's Flask authorization server, client credentials only."""
    import secrets as random_tokens

    from authlib.integrations.flask_oauth2 import AuthorizationServer
    from authlib.oauth2.rfc6749 import ClientMixin, grants
    from flask import Flask
    from werkzeug.serving import run_simple

    class Client(ClientMixin):
        client_id = CLIENT_ID

        def get_client_id(self) -> str:
            return CLIENT_ID

        def get_default_redirect_uri(self) -> str:
            return "https://app.example/cb"

        def get_allowed_scope(self, scope: str) -> str:
            return scope or "daily_consumption"

        def check_redirect_uri(self, redirect_uri: str) -> bool:
            return False

        def check_client_secret(self, client_secret: str) -> bool:
            return random_tokens.compare_digest(client_secret, CLIENT_SECRET)

        def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
            return method == "client_secret_basic"

        def check_response_type(self, response_type: str) -> bool:
            return False

        def check_grant_type(self, grant_type: str) -> bool:
            return grant_type == "client_credentials"

    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE token (access_token TEXT PRIMARY KEY, client_id TEXT, "
                   "scope TEXT, expires_in INTEGER, issued_at INTEGER)")
    local = __import__("threading").local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(database, check_same_thread=False)
            local.db.execute("PRAGMA journal_mode=WAL")
        conn: sqlite3.Connection = local.db
        return conn

    def save_token(token: dict[str, Any], request: Any) -> None:
        db = connection()
        db.execute("INSERT INTO token VALUES (?, ?, ?, ?, ?)",
                   (token["access_token"], CLIENT_ID, token.get("scope", ""),
                    token["expires_in"], int(time.time())))
        db.commit()

    app = Flask(__name__)
    server = AuthorizationServer(app, query_client=lambda cid: Client() if cid == CLIENT_ID
                                 else None, save_token=save_token)
    server.register_grant(grants.ClientCredentialsGrant)

    @app.post("/oauth2/token")
    def token() -> Any:
        return server.create_token_response()

    run_simple("127.0.0.1", port, app, threaded=True)


# ---- Passerelle (its own process) ------------------------------------------------------------

async def prepare_passerelle(directory: Path) -> tuple[str, str, str]:
    """A migrated SQLite database with one recipient; its URL and credentials."""
    url = f"sqlite:///{directory / 'passerelle.db'}"
    return (url, *await one_recipient(url))


# ---- load ------------------------------------------------------------------------------------

async def token(session: aiohttp.ClientSession, url: str, auth: str, *,
                strict: bool = True) -> float | None:
    """Seconds one token request took; ``None`` for a failed one unless ``strict`` (raise)."""
    started = time.perf_counter()
    async with session.post(url, data={"grant_type": "client_credentials",
                                       "scope": "daily_consumption"},
                            headers={"Authorization": auth}) as response:
        body = await response.read()
        if response.status != 200 or b"access_token" not in body:
            if strict:
                raise RuntimeError(f"{url}: HTTP {response.status}: {body[:200]!r}")
            return None
    return time.perf_counter() - started


async def measure(url: str, auth: str, n: int, concurrency: int) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):  # warm-up
            await token(session, url, auth)
        sequential = [await token(session, url, auth) or 0.0 for _ in range(n // 4)]
        remaining = iter(range(n))
        failed = 0

        async def worker() -> None:
            nonlocal failed
            for _ in remaining:  # a server failing under load is a figure, not a crash
                if await token(session, url, auth, strict=False) is None:
                    failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        rate = (n - failed) / (time.perf_counter() - started)
    quantiles = statistics.quantiles(sequential, n=100, method="inclusive")
    return {"p50": quantiles[49] * 1000, "p99": quantiles[98] * 1000, "rps": rate,
            "failed": failed}


def spawn_servers(directory: Path, url: str, ports: dict[str, int],
                  ) -> list[subprocess.Popen[bytes]]:
    """``passerelle serve`` and the authlib baseline, each in its own process."""
    env = {**os.environ, "PASSERELLE_LOG_LEVEL": "WARNING"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return [
        subprocess.Popen([sys.executable, "-m", "proxy", "serve", "--data-dir", str(directory),
                          "--database-url", url, "--port", str(ports["passerelle"])],
                         cwd=Path(__file__).resolve().parent.parent, env=env, **quiet),
        subprocess.Popen([sys.executable, __file__, "authlib", str(ports["authlib"]),
                          str(directory / "authlib.db")], **quiet)]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        url, client_id, secret = await prepare_passerelle(directory)
        ports = {"passerelle": free_port(), "authlib": free_port()}
        processes = spawn_servers(directory, url, ports)
        try:
            for port in ports.values():
                await wait_for(port)
            ours = await measure(f"http://127.0.0.1:{ports['passerelle']}/oauth2/token",
                                 aiohttp.encode_basic_auth(client_id, secret), args.requests,
                                 args.concurrency)
            theirs = await measure(f"http://127.0.0.1:{ports['authlib']}/oauth2/token",
                                   aiohttp.encode_basic_auth(CLIENT_ID, CLIENT_SECRET),
                                   args.requests, args.concurrency)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    print(f"client-credentials token requests ({args.requests // 4} sequential, then "
          f"{args.requests} with {args.concurrency} clients), both storing tokens in SQLite:")
    for name, figures in (("Passerelle (aiohttp)", ours), ("authlib + Flask", theirs)):
        print(f"  {name:<22} p50 {figures['p50']:6.2f} ms   p99 {figures['p99']:6.2f} ms   "
              f"{figures['rps']:7.0f} req/s answered 200"
              + (f", {figures['failed']:.0f} failed" if figures["failed"] else ""))
    print(f"  ratio Passerelle/authlib+Flask: throughput {ours['rps'] / theirs['rps']:.2f}, "
          f"p50 latency {ours['p50'] / theirs['p50']:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "authlib":
        serve_authlib(int(sys.argv[2]), sys.argv[3])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--requests", type=int, default=2000)
        parser.add_argument("--concurrency", type=int, default=8)
        asyncio.run(main(parser.parse_args()))
