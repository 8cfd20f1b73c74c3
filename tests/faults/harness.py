"""What the fault tests drive and observe on a running local topology.

:class:`Faulty` wraps a :class:`~tests.support.topology.Topology` with the levers (kill a
replica, stop the simulator, restart PostgreSQL, inject simulator faults) and the readings (a
replica's resident memory, rows in the database). :class:`Household` signs in through the TLS
edge and approves consents with the real OAuth pages; :func:`read_data` is a recipient reading
meter data. Every answer is kept as an :class:`Answer` so a test can check each one afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from consent.storage import Database
from tests.oauth.conftest import PASSWORD, REDIRECT_URI, Browser, forms_of
from tests.oauth.helpers import pkce
from tests.support.postgres import locate_binaries
from tests.support.topology import Topology, run_script


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange as the client saw it (``status`` 0: no HTTP answer at all)."""

    kind: str
    status: int
    request_id: str = ""
    body: str = ""
    code: str = ""  # the authorization code an approved consent was acknowledged with


def clean(answer: Answer) -> bool:
    """A success, or a deliberate error: never a 500, never a stack trace in the body."""
    return answer.status != 500 and "Traceback" not in answer.body


@dataclass
class Faulty:
    """A topology and its levers; ``environment`` is what it was started with."""

    topology: Topology
    environment: dict[str, str]
    database_url: str
    answers: list[Answer] = field(default_factory=list)

    # ---- levers ------------------------------------------------------------------------
    def pid(self, name: str) -> int:
        """The process id of ``replica-1``, ``replica-2`` or ``simulator``."""
        return int((self.topology.state_dir / "run" / f"{name}.pid").read_text().split()[0])

    def kill(self, name: str) -> None:
        """``kill -9`` a component: no chance to flush, close or say goodbye."""
        os.kill(self.pid(name), signal.SIGKILL)

    def up(self) -> None:
        """Restart whatever is not running (the script is idempotent)."""
        started = run_script("up", self.topology.state_dir, **self.environment)
        assert started.returncode == 0, started.stderr

    def restart_postgres(self) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server comes back."""
        bindir = locate_binaries()
        assert bindir is not None
        pg = self.topology.state_dir / "pg"
        command = [str(bindir / "pg_ctl"), "-D", str(pg / "data"), "-l", str(pg / "server.log"),
                   "-m", "fast", "-w", "-t", "60", "restart"]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # No pipes: the restarted server would inherit them and hold them open.
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=90)

    async def faults(self, method: str, body: dict[str, Any] | None = None) -> None:
        """Change the simulator's fault plan (``POST``: add one, ``DELETE``: clear)."""
        headers = {"Authorization": f"Bearer {self.topology.secret('simulator_admin_token')}"}
        async with aiohttp.ClientSession() as session, session.request(
                method, f"{self.topology.simulator_url}/admin/faults", json=body,
                headers=headers) as response:
            assert response.status in (200, 201), await response.text()

    # ---- readings ----------------------------------------------------------------------
    def rss_mib(self, name: str) -> float:
        """Resident memory of a component, in MiB."""
        status = Path(f"/proc/{self.pid(name)}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"no VmRSS for {name}")

    async def rows(self, query: Any) -> list[Any]:
        """Rows of a SQLAlchemy query on the topology's database."""
        db = Database.from_url(self.database_url)
        try:
            async with db.engine.connect() as conn:
                return list((await conn.execute(query)).all())
        finally:
            await db.dispose()

    async def wait_until_served(self, token: str, limit: float = 60.0) -> None:
        """Poll the edge until a data request is served again."""
        deadline = time.monotonic() + limit
        async with self.session() as session:
            while True:
                answer = await read_data(session, self, token, 0)
                if answer.status == 200:
                    return
                assert time.monotonic() < deadline, f"not served again: {answer}"
                await asyncio.sleep(0.5)

    def session(self) -> aiohttp.ClientSession:
        """A client session that trusts the edge's certificate."""
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.topology.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=30))


# ---- clients -------------------------------------------------------------------------------

async def exchange(kind: str, call: Callable[[], Awaitable[aiohttp.ClientResponse]],
                   ) -> tuple[Answer, aiohttp.ClientResponse | None]:
    """Run one request; an answer even when the connection broke."""
    try:
        response = await call()
    except (aiohttp.ClientError, TimeoutError) as error:
        return Answer(kind, 0, body=type(error).__name__), None
    body = await response.text()
    return Answer(kind, response.status, response.headers.get("X-Request-Id", ""), body), response


async def read_data(session: aiohttp.ClientSession, faulty: Faulty, token: str,
                    i: int, *, fresh: bool = False) -> Answer:
    """A recipient reads 7 days of daily values of one of its 20 points; ``fresh`` asks for a
    day ``10 + i`` days ago, which the cache cannot hold yet (one DSO call)."""
    from bench.proxy_world import POINTS

    if fresh:
        day = date.today() - timedelta(days=10 + i)
        start, end = day, day + timedelta(days=1)
    else:
        end = date.today() - timedelta(days=1 + i % 5)
        start = end - timedelta(days=7)
    url = (f"{faulty.topology.edge_url}/api/v1/points/{POINTS[i % 20]}/datasets/"
           f"daily_consumption?start={start.isoformat()}&end={end.isoformat()}")
    answer, response = await exchange("data", lambda: session.get(
        url, headers={"Authorization": f"Bearer {token}"}))
    if response is not None:
        response.release()
    return answer


class Household(Browser):
    """Alice's browser, through the TLS edge."""

    def __init__(self, faulty: Faulty, client_id: str) -> None:
        # Browser's own session would not trust the edge's certificate: set up another.
        self.base = faulty.topology.edge_url
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(ssl=faulty.topology.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=30))
        self.client_id = client_id

    async def sign_in(self) -> None:
        response = await self.login(password=PASSWORD)
        assert response.status == 303, response.status

    async def approve(self) -> Answer:
        """One consent, from the authorization request to the redirect with its code."""
        _verifier, challenge = pkce()
        query = urlencode({"response_type": "code", "client_id": self.client_id,
                           "redirect_uri": REDIRECT_URI, "scope": "daily_consumption",
                           "state": "s", "code_challenge": challenge,
                           "code_challenge_method": "S256"})
        url = f"/oauth2/authorize?{query}"
        try:
            page, html = await self.get(url)
        except (aiohttp.ClientError, TimeoutError) as error:
            return Answer("consent-page", 0, body=type(error).__name__)
        if page.status != 200:
            return Answer("consent-page", page.status, page.headers.get("X-Request-Id", ""),
                          html)
        form = next(f for f in forms_of(html) if ("decision", "approve") in f["buttons"])
        try:
            response, body = await self.post(form["action"].replace("&amp;", "&"),
                                             [*form["fields"], ("decision", "approve")])
        except (aiohttp.ClientError, TimeoutError) as error:
            return Answer("consent", 0, body=type(error).__name__)
        code = ""
        if response.status == 303:
            code = parse_qs(urlsplit(response.headers["Location"]).query).get("code", [""])[0]
        return Answer("consent", response.status, response.headers.get("X-Request-Id", ""),
                      body, code)
