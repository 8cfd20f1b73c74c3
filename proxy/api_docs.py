"""``/api/openapi.json`` and ``/api/docs``: the OpenAPI document and a readable page made from it.

The page is plain, self-contained HTML (no script, no external CDN, inline CSS), generated from
the same document the JSON endpoint serves, so the two cannot disagree. It works offline and
under a strict ``Content-Security-Policy``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from aiohttp import web

from proxy.keys import settings_key
from proxy.openapi import build_openapi

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ccc}
.op{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
.m{font-weight:700;text-transform:uppercase;padding:.1rem .4rem;border-radius:4px;
background:#e8f0fe;margin-right:.5rem}
code{background:#f4f4f4;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
td,th{border:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left;vertical-align:top}
pre{background:#f7f7f7;padding:.6rem;overflow:auto;font-size:13px}
"""


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "oneOf" in schema:
        return " or ".join(_schema_text(s) for s in schema["oneOf"])
    kind = schema.get("type", "object")
    return str(kind) + (f" ({schema['format']})" if "format" in schema else "")


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    parts = [f'<div class="op" id="{escape(op.get("operationId", ""))}">',
             f'<p><span class="m">{escape(method)}</span><code>{escape(path)}</code></p>',
             f"<p><strong>{escape(op.get('summary', ''))}</strong></p>"]
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>notes</th></tr>")
        for p in params:
            required = "required. " if p.get("required") else ""
            parts.append(f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}"
                         f"</td><td>{escape(_schema_text(p.get('schema', {})))}</td>"
                         f"<td>{escape(required + p.get('description', ''))}</td></tr>")
        parts.append("</table>")
    parts.append("<table><tr><th>status</th><th>meaning</th></tr>")
    for status, response in op.get("responses", {}).items():
        parts.append(f"<tr><td>{escape(status)}</td>"
                     f"<td>{escape(response.get('description', ''))}</td></tr>")
    parts.append("</table></div>")
    return "".join(parts)


def render_docs(document: dict[str, Any]) -> str:
    """The HTML page for ``document``."""
    info = document["info"]
    body = [f"<h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>",
            f"<p>{escape(info.get('summary', ''))}</p>",
            '<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI '
            "3.1). Integrator guide: <code>docs/integrators.md</code>.</p>"]
    for tag in document.get("tags", []):
        body.append(f"<h2>{escape(tag['name'])}</h2><p>{escape(tag.get('description', ''))}</p>")
        for path, item in document["paths"].items():
            for method, op in item.items():
                if tag["name"] in op.get("tags", []):
                    body.append(_operation(path, method, op))
    body.append("<h2>Schemas</h2>")
    for name, schema in document["components"]["schemas"].items():
        body.append(f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>'
                    f"<pre>{escape(json.dumps(schema, indent=2))}</pre>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(info['title'])}</title><style>{_CSS}</style></head><body>"
            + "".join(body) + "</body></html>")


async def openapi_json(request: web.Request) -> web.Response:
    """``GET /api/openapi.json``."""
    return web.json_response(build_openapi(request.app[settings_key].issuer))


async def docs_page(request: web.Request) -> web.Response:
    """``GET /api/docs``: self-contained HTML, no script."""
    html = render_docs(build_openapi(request.app[settings_key].issuer))
    return web.Response(text=html, content_type="text/html", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
