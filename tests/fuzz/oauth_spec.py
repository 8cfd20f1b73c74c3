"""The OAuth endpoints as RFC 6749, 7009 and 7662 define them, for the fuzzer.

Not part of ``/api/openapi.json`` (which documents the data APIs): this is the contract an
OAuth client library relies on. Success bodies are JSON objects; every refusal is an RFC 6749
§5.2 error object whose ``error`` is one of the registered codes.
"""

from __future__ import annotations

from typing import Any

FORM = "application/x-www-form-urlencoded"
ERROR_CODES = ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
               "unsupported_grant_type", "invalid_scope", "unsupported_token_type",
               "invalid_token", "access_denied", "temporarily_unavailable", "server_error"]
_ERROR = {"description": "RFC 6749 §5.2 error", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"],
    "properties": {"error": {"enum": ERROR_CODES}, "error_description": {"type": "string"}}}}}}
_TEXT = {"type": "string", "maxLength": 300}


def _form(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"required": True, "content": {FORM: {"schema": {
        "type": "object", "required": required, "properties": properties}}}}


def _post(operation_id: str, body: dict[str, Any], ok: dict[str, Any]) -> dict[str, Any]:
    return {"post": {
        "operationId": operation_id, "requestBody": body,
        "parameters": [{"name": "Authorization", "in": "header", "required": False,
                        "schema": _TEXT}],
        "responses": {"200": {"description": "success", "content": {
            "application/json": {"schema": ok}}},
            "400": _ERROR, "401": _ERROR, "503": _ERROR}}}


def oauth_spec(issuer: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``/oauth2/token``, ``/oauth2/revoke`` and
    ``/oauth2/introspect``."""
    grant_types = ["authorization_code", "refresh_token", "client_credentials", "password",
                   "urn:ietf:params:oauth:grant-type:device_code"]
    token_ok = {"type": "object", "required": ["access_token", "token_type", "expires_in"],
                "properties": {"access_token": {"type": "string"},
                               "token_type": {"enum": ["Bearer"]},
                               "expires_in": {"type": "integer", "minimum": 1}}}
    return {
        "openapi": "3.1.0", "info": {"title": "Passerelle OAuth endpoints", "version": "1"},
        "servers": [{"url": issuer}],
        "paths": {
            "/oauth2/token": _post("token", _form(
                ["grant_type"], grant_type={"anyOf": [{"enum": grant_types}, _TEXT]},
                code=_TEXT, redirect_uri=_TEXT, code_verifier=_TEXT, refresh_token=_TEXT,
                scope=_TEXT, client_id=_TEXT, client_secret=_TEXT), token_ok),
            "/oauth2/revoke": _post("revoke", _form(
                ["token"], token=_TEXT, token_type_hint=_TEXT, client_id=_TEXT,
                client_secret=_TEXT), {"type": "object"}),
            "/oauth2/introspect": _post("introspect", _form(
                ["token"], token=_TEXT, token_type_hint=_TEXT, client_id=_TEXT,
                client_secret=_TEXT),
                {"type": "object", "required": ["active"],
                 "properties": {"active": {"type": "boolean"}}}),
        },
    }
