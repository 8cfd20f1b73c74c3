"""Small response helpers shared by the household pages."""

from __future__ import annotations

from aiohttp import web

from proxy.web.templates import render


def see_other(location: str) -> web.Response:
    """``303 See Other`` (RFC 9110 §15.4.4): the answer to a POST that moves the browser on."""
    return web.Response(status=303, headers={"Location": location})


async def error_page(request: web.Request, message_key: str, *, status: int,
                     code: str | None = None, detail: str | None = None,
                     title_key: str = "error.title") -> web.Response:
    """An HTML error page in the visitor's language (never a redirect)."""
    return await render(request, "error.html",
                        {"message_key": message_key, "code": code, "detail": detail,
                         "title_key": title_key}, status=status)
