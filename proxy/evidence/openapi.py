"""The audit API's part of the OpenAPI document (:mod:`proxy.openapi` merges it in).

Every operation takes the ``auditor`` bearer scheme (a ``pas_aud_`` token, see
:mod:`proxy.evidence.audit_api`), never the apps' OAuth tokens.
"""

from __future__ import annotations

from typing import Any

AUDIT = "/audit/v1"
_SECURITY: list[dict[str, list[str]]] = [{"auditor": []}]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}


_REFUSED = {"401": {**_problem("No auditor token, an unknown, expired or revoked one, or a "
                             "string that is no Passerelle credential: type ending in "
                             "invalid_token."),
                    "headers": {"WWW-Authenticate": {
                        "description": "The RFC 6750 Bearer challenge.",
                        "schema": {"type": "string"}}}},
            "403": _problem("A credential of another kind (an admin, staff or app token).")}


def _query(name: str, description: str, *, required: bool = False,
           schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _index(name: str, description: str) -> dict[str, Any]:
    return _query(name, description, required=True, schema={"type": "integer", "minimum": 0})


def audit_schemas() -> dict[str, Any]:
    """Schemas of the audit API's bodies."""
    text, b64 = {"type": "string"}, {"type": "string", "contentEncoding": "base64"}
    return {
        "Checkpoint": {"type": "object", "required": ["origin", "size", "root", "note"],
                       "properties": {"origin": text, "size": {"type": "integer"}, "root": b64,
                                      "issued_at": {"type": "string", "format": "date-time"},
                                      "kid": text, "note": {
                                          "type": "string", "description":
                                          "The C2SP signed note (c2sp.org/tlog-checkpoint)."}}},
        "Proof": {"type": "object", "required": ["proof"],
                  "properties": {"proof": {"type": "array", "items": b64}}},
        "ExportRequest": {"type": "object", "description": "At least one criterion; they "
                          "combine with AND.", "properties": {
                              "consent_id": text, "household_id": text, "recipient_id": text,
                              "tenant": text, "from": {"type": "string", "format": "date-time"},
                              "to": {"type": "string", "format": "date-time"},
                              "include_documents": {"type": "boolean", "default": True},
                              "checkpoint_sizes": {
                                  "type": "array", "maxItems": 64, "description":
                                  "Tree sizes whose stored signed checkpoints the bundle must "
                                  "also carry (the anchors the auditor kept); 409 if one is "
                                  "not held.",
                                  "items": {"type": "integer", "minimum": 0}}}},
    }


def audit_paths() -> dict[str, Any]:
    """The ``/audit/v1`` operations."""
    tag = ["audit"]
    entries = {"type": "object", "properties": {
        "tree_size": {"type": "integer"}, "next": {"type": ["integer", "null"]},
        "entries": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "leaf": {"type": "string"},
            "payload": {"type": ["object", "null"]},
            "pruned": {"type": ["object", "null"]}}}}}}
    return {
        f"{AUDIT}/checkpoints/latest": {"get": {
            "operationId": "latestCheckpoint", "tags": tag, "security": _SECURITY,
            "summary": "The latest signed checkpoint of the evidence log",
            "responses": {"200": _json({"$ref": "#/components/schemas/Checkpoint"},
                                       "The checkpoint."), **_REFUSED}}},
        f"{AUDIT}/checkpoints": {"post": {
            "operationId": "issueCheckpoint", "tags": tag, "security": _SECURITY,
            "summary": "Sign a checkpoint of the log as it is now",
            "responses": {"201": _json({"$ref": "#/components/schemas/Checkpoint"},
                                       "The checkpoint."), **_REFUSED}}},
        f"{AUDIT}/keys": {"get": {
            "operationId": "signingKeys", "tags": tag, "security": _SECURITY,
            "summary": "Every public signing key with its validity (keys.json of a bundle)",
            "responses": {"200": {"description": "Public keys only."}, **_REFUSED}}},
        f"{AUDIT}/entries": {"get": {
            "operationId": "logEntries", "tags": tag, "security": _SECURITY,
            "summary": "Log entries in the auditor's scope, in index order (reading is logged)",
            "parameters": [
                _query("consent_id", "Only this consent's entries."),
                _query("household_id", "Only this household's entries."),
                _query("recipient_id", "Only this recipient's entries."),
                _query("kind", "access, consent.record, mandate.record, admin..."),
                _query("tenant", "For an all-tenants auditor: only this tenant."),
                _query("after", "Entries after this index.", schema={"type": "integer"}),
                _query("limit", "At most this many (1-1000, default 100).",
                       schema={"type": "integer", "minimum": 1, "maximum": 1000})],
            "responses": {"200": _json(entries, "A page; `next` is the `after` of the next."),
                          "400": _problem("A malformed parameter."), **_REFUSED}}},
        f"{AUDIT}/proofs/inclusion": {"get": {
            "operationId": "inclusionProof", "tags": tag, "security": _SECURITY,
            "summary": "RFC 9162 audit path of entry `index` in the tree of `size` entries",
            "parameters": [_index("index", "The entry."), _index("size", "The tree size.")],
            "responses": {"200": _json({"$ref": "#/components/schemas/Proof"}, "The path."),
                          "400": _problem("index or size out of range."),
                          "404": _problem("No such entry in the auditor's scope."),
                          **_REFUSED}}},
        f"{AUDIT}/proofs/consistency": {"get": {
            "operationId": "consistencyProof", "tags": tag, "security": _SECURITY,
            "summary": "RFC 9162 consistency proof between two tree sizes",
            "parameters": [_index("first", "The older size."),
                           _index("second", "The newer size.")],
            "responses": {"200": _json({"$ref": "#/components/schemas/Proof"}, "The proof."),
                          "400": _problem("Sizes out of range."), **_REFUSED}}},
        f"{AUDIT}/exports": {"post": {
            "operationId": "exportBundle", "tags": tag, "security": _SECURITY,
            "summary": "A proof bundle (docs/evidence-format.md); the export is logged",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ExportRequest"}}}},
            "responses": {"200": {"description": "The bundle.", "content": {
                "application/zip": {"schema": {"type": "string",
                                               "contentMediaType": "application/zip"}}}},
                          "400": _problem("An empty or malformed selection, or more than "
                                          "64 checkpoint sizes."),
                          "404": _problem("Nothing matches in the auditor's scope."),
                          "409": _problem("No signed checkpoint of an asked size is held, or "
                                          "it is beyond the log's head."),
                          **_REFUSED}}},
    }
