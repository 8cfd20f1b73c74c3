"""A first consented reading from a Passerelle demo, both APIs, every error handled.

Start the demo first (``passerelle serve --demo``), read the client secret with
``passerelle demo show``, then::

    python docs/examples/quickstart.py --client-secret <secret of demo-wattwatcher>

The script prints a consent URL: open it, sign in as a demo household (``camille`` /
``camille-demo-2026``) and approve. It then reads seven days of daily consumption through the
native API and through the Data Connect v5-compatible API. Only aiohttp and the standard
library are needed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import secrets
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web


class ApiError(Exception):
    """A refused request, with what the server said (problem+json or Data Connect body)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


async def call(session: aiohttp.ClientSession, method: str, url: str,
               **kwargs: Any) -> dict[str, Any]:
    """One request; waits and retries once on 429/503 (``Retry-After``), raises ApiError."""
    for attempt in (1, 2):
        async with session.request(method, url, **kwargs) as response:
            body = await response.json(content_type=None)
            if response.status in (429, 503) and attempt == 1:
                wait = int(response.headers.get("Retry-After", "1"))
                print(f"  busy ({response.status}); retrying in {wait} s")
                await asyncio.sleep(min(wait, 30))
                continue
            if response.status >= 400:
                raise ApiError(response.status, body or {})
            return body  # type: ignore[no-any-return]
    raise AssertionError("unreachable")


def explain(error: ApiError) -> None:
    """What each kind of refusal means and what to do."""
    body = error.body
    if error.status == 401:
        print("  401: token missing, expired or revoked (or its consent ended): get a new one.")
    elif error.status == 403 and "rule" in body:
        print(f"  403: denied by rule {body['rule']!r}: {body.get('detail', '')}")
        print(f"       allowed: {json.dumps(body.get('allowed'))}")
    elif error.status == 400:
        print(f"  400: fix the request: {body.get('detail') or body.get('error_description')}")
    else:
        print(f"  {error.status}: {body}")


async def authorize(base: str, client_id: str, redirect_uri: str) -> tuple[str, str]:
    """Run the authorization-code flow with PKCE; return (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(16)
    details = [{"type": "meter_data", "datasets": ["daily_consumption"],
                "purpose": "energy_monitoring", "history": "P365D", "duration": "P90D"}]
    url = base + "/oauth2/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "daily_consumption", "state": state,
        "code_challenge": challenge.decode().rstrip("="), "code_challenge_method": "S256",
        "authorization_details": json.dumps(details)})
    received: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def callback(request: web.Request) -> web.Response:
        if not received.done():
            received.set_result(dict(request.query))
        return web.Response(text="Passerelle quickstart: you can close this tab.")

    app = web.Application()
    app.router.add_get("/callback", callback)
    runner = web.AppRunner(app)
    await runner.setup()
    host_port = redirect_uri.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    await web.TCPSite(runner, host, int(port)).start()
    print("Open this URL, sign in as a demo household (camille / camille-demo-2026), approve:")
    print(f"  {url}", flush=True)
    try:
        params = await asyncio.wait_for(received, timeout=600)
    finally:
        await runner.cleanup()
    if params.get("state") != state or "code" not in params:
        raise SystemExit(f"authorization refused or tampered with: {params}")
    return params["code"], verifier


async def main(args: argparse.Namespace) -> None:
    base = args.base.rstrip("/")
    code, verifier = await authorize(base, args.client_id, args.redirect_uri)
    auth = aiohttp.BasicAuth(args.client_id, args.client_secret)
    async with aiohttp.ClientSession() as session:
        token = await call(session, "POST", base + "/oauth2/token", auth=auth, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": args.redirect_uri,
            "code_verifier": verifier})
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        points = (await call(session, "GET", base + "/api/v1/points", headers=bearer))["points"]
        print("The token may read:", json.dumps(points, indent=2))
        point = points[0]["point"]
        end = date.today()
        start = end - timedelta(days=7)
        print(f"\nNative API: daily consumption of {point}, {start} to {end} (end excluded)")
        series = await call(session, "GET", f"{base}/api/v1/points/{point}/datasets/"
                            "daily_consumption", headers=bearer,
                            params={"start": start.isoformat(), "end": end.isoformat()})
        for value in series["values"]:
            print(f"  {value['start'][:10]}  {value['value']:>8} {series['unit']}  "
                  f"({value['quality']})")
        print("\nA request outside the consent (two years back) is refused with a reason:")
        try:
            await call(session, "GET", f"{base}/api/v1/points/{point}/datasets/"
                       "daily_consumption", headers=bearer, params={
                           "start": (end - timedelta(days=730)).isoformat(),
                           "end": (end - timedelta(days=729)).isoformat()})
        except ApiError as error:
            explain(error)
        print("\nData Connect v5-compatible API (client credentials, same consent):")
        dc = base + "/compat/enedis"
        dc_token = await call(session, "POST", dc + "/oauth2/v3/token", data={
            "grant_type": "client_credentials", "client_id": args.client_id,
            "client_secret": args.client_secret})
        try:
            reading = await call(session, "GET", dc + "/metering_data_dc/v5/daily_consumption",
                                 headers={"Authorization": f"Bearer {dc_token['access_token']}"},
                                 params={"usage_point_id": point.split(":")[-1],
                                         "start": start.isoformat(), "end": end.isoformat()})
            for item in reading["meter_reading"]["interval_reading"]:
                print(f"  {item['date']}  {item['value']:>8} Wh")
        except ApiError as error:  # a GRDF or Belgian point has no Data Connect surface
            explain(error)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8080")
    parser.add_argument("--client-id", default="demo-wattwatcher")
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", default="http://127.0.0.1:8765/callback")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
