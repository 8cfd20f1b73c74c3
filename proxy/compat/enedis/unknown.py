"""Paths and methods the Data Connect v5-compatible API does not serve, answered as Data Connect.

A Data Connect client reads ``{"error", "error_description"}`` on every failure (reference
§1.6), so below ``/compat/enedis`` even a path or a method we do not serve is refused in that
shape rather than in problem+json (``docs/errors.md``): a path no resource has is HTTP's 404, a
path we serve asked with another method HTTP's 405 with its ``Allow`` header, both with
``invalid_request`` (a request to correct, never retried; the public material names no code of
Enedis's own for them). Not a data path, so no access event: the data paths refuse another
method themselves, evidenced (:func:`~proxy.data.evidence.add_evidenced_get`).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource

from consent.errors import MethodNotAllowed, PasserelleError
from proxy.compat.enedis.errors import CompatInvalidRequest, render
from proxy.middlewares import refuse_nul, refuses_nul_itself

PREFIX = "/compat/enedis"
#: Registered last: aiohttp tries a resource with a longer fixed prefix first, so this one only
#: sees what no other route below the prefix takes (for its method).
PATTERN = PREFIX + "{rest:.*}"


async def _methods_elsewhere(request: web.Request, own: AbstractResource | None) -> set[str]:
    """The methods other routes serve ``request``'s path with (none: no route has it)."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not own:
            allowed |= (await resource.resolve(request))[1]
    return allowed


@refuses_nul_itself
async def not_served(request: web.Request) -> web.StreamResponse:
    """404 or 405 in Data Connect's shape (module docstring)."""
    rest = request.match_info["rest"]
    if rest and not rest.startswith("/"):
        raise web.HTTPNotFound()  # /compat/enedisx...: not below the prefix
    try:
        refuse_nul(request)
        allowed = await _methods_elsewhere(request, request.match_info.route.resource)
        if allowed:
            raise MethodNotAllowed(f"{request.method[:16]} is not allowed here; use "
                                   f"{' or '.join(sorted(allowed))}.",
                                   allow=", ".join(sorted(allowed)))
        raise CompatInvalidRequest("No Data Connect v5 resource has this path "
                                   "(docs/integrators.md, section 5).", status=404)
    except PasserelleError as error:
        answer = render(error, request)
    return web.Response(status=answer.status, body=answer.body,
                        content_type=answer.content_type, headers=answer.headers)


def add_unknown_route(app: web.Application) -> None:
    """Route whatever else comes below ``/compat/enedis`` to :func:`not_served`; call it after
    every other compatible route is added."""
    app.router.add_route("*", PATTERN, not_served, name="dc-unknown")
