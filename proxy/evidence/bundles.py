"""Proof bundles for auditors (``POST /audit/v1/exports``) and for a household's own page
(``/account/evidence``, GDPR art. 15).

An auditor's bundle is written to a temporary file first, then streamed from it (aiohttp sends a
file body in chunks and closes it): an export that fails half-way answers a clean problem+json
instead of a truncated zip, and the response has a ``Content-Length``. A household's bundle is
small and comes as bytes. Every export is logged by the evidence subsystem itself (kind
``audit.export``, with the manifest's hash, which the ``X-Manifest-SHA256`` header repeats).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence

from aiohttp import web

from consent.evidence.selection import Selection
from consent.evidence.service import Evidence
from proxy.keys import evidence_key


async def bundle_response(request: web.Request, selection: Selection, *, actor: str,
                          filename: str, include_documents: bool = True,
                          checkpoint_sizes: Sequence[int] = ()) -> web.Response:
    """Export ``selection`` as ``actor`` and answer it as a zip attachment (carrying the
    stored checkpoints of ``checkpoint_sizes`` too)."""
    evidence = request.app[evidence_key]
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (aiohttp closes it once it is sent)
    try:
        result = await evidence.export(selection, spool, actor=actor,
                                       include_documents=include_documents,
                                       checkpoint_sizes=checkpoint_sizes)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return web.Response(body=spool, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store", "X-Manifest-SHA256": result.manifest_sha256,
        "X-Bundle-Entries": str(result.entries)})


async def export_for_household(evidence: Evidence, household_id: str, *, tenant: str,
                               actor: str) -> bytes:
    """The household's own bundle as bytes (GDPR art. 15); logged like every export.
    ``evidence`` is ``app[evidence_key]``."""
    out = io.BytesIO()
    await evidence.export_for_household(household_id, out, tenant=tenant, actor=actor)
    return out.getvalue()
