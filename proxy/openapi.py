"""The OpenAPI 3.1 document of the data APIs (and the audit API), served at
``/api/openapi.json``.

Written as data, with enums taken from :mod:`consent.vocabulary`, so the document cannot name a
dataset or resolution the code does not know. ``tests/proxy/test_openapi.py`` validates it with
``openapi-spec-validator`` and checks that every documented path is routed.
"""

from __future__ import annotations

from typing import Any

from consent.models.base import ID_LENGTH
from consent.vocabulary import Dataset, Resolution
from proxy.compat.enedis.wire import RECORD_PATHS, SERIES_PATHS
from proxy.evidence.openapi import audit_paths, audit_schemas
from proxy.paging import DEFAULT_PAGE, MAX_PAGE

API_VERSION = "1.0.0"
NATIVE = "/api/v1"
COMPAT = "/compat/enedis"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str,
          media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": schema}}}


_PROBLEM = _json(_ref("Problem"), "Problem details (RFC 9457).", "application/problem+json")
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "integer", "minimum": 1}}}
_CHALLENGE = {"WWW-Authenticate": {
    "description": 'RFC 6750 §3: `Bearer realm="passerelle", error="invalid_token"...`.',
    "schema": {"type": "string"}}}
_ALLOW = {"Allow": {"description": "The methods the path answers.",
                    "schema": {"type": "string"}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "Malformed request (dates, resolution, point identifier, a parameter given "
             "twice, a page cursor).",
        401: "Missing, invalid, expired or revoked access token (RFC 6750); the problem's "
             "`type` ends in the RFC 6750 code.",
        403: "Denied by the consent: `rule` names the rule, `allowed` what would be allowed.",
        404: "No data measured for this point and window.",
        405: "Method not allowed (`Allow` lists the methods).",
        429: "Rate limit of this recipient exceeded, or its share of the data source's "
             "quota used.",
        502: "The data source answered something unusable.",
        503: "The data source is unavailable or at its request quota.",
        504: "The data source did not answer in time.",
    }
    out: dict[str, Any] = {}
    for status in statuses:
        response = dict(_PROBLEM, description=texts[status])
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        elif status == 401:
            response["headers"] = _CHALLENGE
        elif status == 405:
            response["headers"] = _ALLOW
        out[str(status)] = response
    return out


def _schemas() -> dict[str, Any]:
    text, nullable = {"type": "string"}, {"type": ["string", "null"]}
    instant = {"type": "string", "format": "date-time"}
    next_page = {"type": ["string", "null"], "description": "The `after` of the next page; "
                 "null on a page shorter than `limit` (the last)."}
    community = {"type": ["string", "null"], "description": "The community a community "
                 "consent feeds (R4); null for an individual consent."}
    return {
        "Value": {"type": "object", "required": ["start", "end", "value", "quality"],
                  "properties": {
                      "start": instant, "end": instant,
                      "value": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
                                "description": "Decimal number as text: nothing is lost."},
                      "quality": {"enum": ["raw", "validated", "estimated"]}}},
        "Series": {"type": "object",
                   "required": ["point", "dataset", "unit", "resolution", "timezone", "values"],
                   "properties": {
                       "point": {"type": "string", "examples": ["enedis:22516914714270"]},
                       "dataset": {"enum": [d.value for d in Dataset if d.spec.is_series]},
                       "unit": text, "timezone": {"type": "string", "examples": ["Europe/Paris"]},
                       "resolution": {"enum": [r.value for r in Resolution]},
                       "consent": text,
                       "window": {"type": "object", "properties": {"start": instant,
                                                                   "end": instant},
                                  "description": "The local days asked for and judged, "
                                  "midnight to midnight, end excluded. A reading of a "
                                  "calendar resolution belongs to the day it starts on: a gas "
                                  "day runs 06:00 to 06:00, so a gas daily series' last value "
                                  "ends after window.end."},
                       "values": {"type": "array", "items": _ref("Value")}}},
        "Record": {"type": "object", "required": ["point", "dataset", "fields"],
                   "properties": {
                       "point": text, "consent": text,
                       "dataset": {"enum": [d.value for d in Dataset if not d.spec.is_series]},
                       "fields": {"type": "object", "additionalProperties": nullable,
                                  "description": "Only the fields the consent releases."}}},
        "CommunitySeries": {
            "type": "object",
            "required": ["community", "dataset", "unit", "resolution", "timezone", "members",
                         "values"],
            "properties": {
                "community": text, "unit": text, "timezone": text,
                "dataset": {"enum": [d.value for d in Dataset if d.spec.is_series]},
                "resolution": {"enum": [r.value for r in Resolution]},
                "members": {"type": "integer", "description":
                            "Distinct households whose series are in the sum (at least k)."},
                "values": {"type": "array", "items": _ref("Value")}}},
        "PointAccess": {"type": "object", "required": ["point", "consent", "datasets"],
                        "properties": {
                            "point": text, "consent": text,
                            "datasets": {"type": "array", "items": text,
                                         "description": "The consent's datasets the token's "
                                         "scope covers that this point can give (a gas point "
                                         "has no maximum power, a consumer's point no "
                                         "production)."},
                            "max_resolution": text, "access_until": instant,
                            "data_from": {"type": ["string", "null"], "format": "date-time",
                                          "description": "The oldest instant a read may "
                                          "return now (the consent's data window cut to the "
                                          "household's occupancy, the upstream authorisation, "
                                          "three years and, for a supplier, its contract); "
                                          "null: nothing now."},
                            "view": _ref("ConsentView"), "community": community}},
        "PointList": {"type": "object", "required": ["points", "next"],
                      "properties": {"points": {"type": "array", "items": _ref("PointAccess")},
                                     "next": next_page}},
        "Consent": {"type": "object", "required": ["id", "state", "datasets", "points"],
                    "properties": {
                        "id": text, "state": text, "purpose": text, "legal_basis": text,
                        "datasets": {"type": "array", "items": text},
                        "points": {"type": "array", "items": text},
                        "max_resolution": text, "valid_from": instant, "valid_until": instant,
                        # null: no fixed start, the history allowance counts back from now
                        "data_from": {"type": ["string", "null"], "format": "date-time"},
                        "history_days": {"type": "integer"},
                        "view": _ref("ConsentView"), "community": community}},
        "ConsentView": {"enum": ["individual", "community"], "description":
                        "R4: individual, the point may be read on its own; community, only "
                        "inside the aggregate of `community` (GET /api/v1/communities/"
                        "{community}/datasets/...); a read alone is 403 `R4 community "
                        "consent`."},
        "ConsentList": {"type": "object", "required": ["consents", "next"],
                        "properties": {"consents": {"type": "array", "items": _ref("Consent")},
                                       "next": next_page}},
        "Problem": {"type": "object", "required": ["type", "title", "status"],
                    "properties": {
                        "type": text, "title": text, "status": {"type": "integer"},
                        "detail": text, "instance": text,
                        "rule": {"type": "string", "examples": ["R8 occupancy"]},
                        "allowed": {"type": "object", "description":
                                    "What would be allowed: window, points, datasets, "
                                    "finest_resolution or access."},
                        "reason": {"type": "string", "description": "Why, where a rule says "
                                   "no for more than one reason: before-move-in, window."},
                        "field": {"type": "string", "description":
                                  "The parameter (or member) at fault."},
                        "max_days": {"type": "integer", "description":
                                     "The longest window accepted."},
                        "resolution": text,
                        "available": {"description": "What the data source serves: a "
                                      "window {start, end}, or the data's step."},
                        "reachable": {"type": "array", "items": text, "description":
                                      "Every resolution the data can be served at."},
                        "upstream_code": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,32}$"},
                        "retry_after": {"type": "integer"}},
                    "additionalProperties": True},
        "DataConnectError": {"type": "object", "required": ["error", "error_description"],
                             "properties": {"error": text, "error_description": text,
                                            "rule": text, "allowed": {"type": "object"}}},
    }


def _native_paths() -> dict[str, Any]:
    day = {"type": "string", "format": "date"}
    paging = [
        {"name": "after", "in": "query", "description": "The `next` of the previous page.",
         "schema": {"type": "string", "minLength": 1, "maxLength": ID_LENGTH}},
        {"name": "limit", "in": "query", "description": "At most this many consents.",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                    "default": DEFAULT_PAGE}}]
    return {
        f"{NATIVE}/points/{{point_id}}/datasets/{{dataset}}": {"get": {
            "operationId": "readDataset", "tags": ["native"],
            "summary": "Read one dataset of one point, within the consent",
            "description": "Series come for `[start, end)` in local calendar days of the point, "
                           "at `resolution` (default: the finest the consent releases). A "
                           "consent capped at P1D gets daily values aggregated from finer data, "
                           "never the finer data. Records (contract, identity, contact, address)"
                           " ignore the dates, refuse a `resolution` (400) and carry only "
                           "the fields the consent releases.",
            "parameters": [
                {"name": "point_id", "in": "path", "required": True, "schema": {
                    "type": "string", "examples": ["enedis:22516914714270"]},
                 "description": "`source:identifier`, or the bare identifier when the token "
                                "names the point."},
                {"name": "dataset", "in": "path", "required": True,
                 "schema": {"enum": [d.value for d in Dataset]}},
                {"name": "start", "in": "query", "schema": day,
                 "description": "First day (required for series)."},
                {"name": "end", "in": "query", "schema": day,
                 "description": "First day not included (required for series)."},
                {"name": "resolution", "in": "query",
                 "schema": {"enum": [r.value for r in Resolution]}}],
            "responses": {"200": _json({"oneOf": [_ref("Series"), _ref("Record")]},
                                       "The consent's view of the data."),
                          **_errors(400, 401, 403, 404, 405, 429, 502, 503, 504)}}},
        f"{NATIVE}/communities/{{community_id}}/datasets/{{dataset}}": {"get": {
            "operationId": "readCommunityDataset", "tags": ["native"],
            "summary": "The sum of a collective self-consumption community's members (R4)",
            "description": "For the organiser's app only. Each current member's point is read "
                           "as a single read would be, under that member's own consent to the "
                           "organiser (each read leaves its own access event); the included "
                           "series are summed interval by interval. Served only when they come "
                           "from at least k distinct households, and an interval only when at "
                           "least k households have a value for it: otherwise 403, rule "
                           "`R4 community k`. Energy and mean power only (others: 400). A "
                           "member's community consent (view `community`) to this community "
                           "counts here and only here; its point read alone is 403, rule "
                           "`R4 community consent` (R4).",
            "parameters": [
                {"name": "community_id", "in": "path", "required": True,
                 "schema": {"type": "string"}},
                {"name": "dataset", "in": "path", "required": True,
                 "schema": {"enum": [d.value for d in Dataset if d.spec.is_series]}},
                {"name": "start", "in": "query", "required": True, "schema": day},
                {"name": "end", "in": "query", "required": True, "schema": day,
                 "description": "First day not included."},
                {"name": "resolution", "in": "query",
                 "schema": {"enum": [r.value for r in Resolution], "default": "P1D"}}],
            "responses": {"200": _json(_ref("CommunitySeries"), "The community's sum."),
                          **_errors(400, 401, 403, 404, 405, 429, 502, 503, 504)}}},
        f"{NATIVE}/points": {"get": {
            "operationId": "listPoints", "tags": ["native"],
            "summary": "The points this token may read, with what and until when",
            "description": "The points of one page of the token's consents (`after`, `limit`: "
                           "consents, in the order of their ids).",
            "parameters": paging,
            "responses": {"200": _json(_ref("PointList"), "Readable points."),
                          **_errors(400, 401, 405, 429)}}},
        f"{NATIVE}/consents/current": {"get": {
            "operationId": "currentConsents", "tags": ["native"],
            "summary": "The consent behind this token (all in force, for an app-wide token)",
            "description": "One page of them (`after`, `limit`), in the order of their ids.",
            "parameters": paging,
            "responses": {"200": _json(_ref("ConsentList"), "Consents."),
                          **_errors(400, 401, 405, 429)}}},
    }


def _compat_paths() -> dict[str, Any]:
    dc_error = _json(_ref("DataConnectError"), "Data Connect v5 error body.")
    paths: dict[str, Any] = {}
    for path, dataset in {**SERIES_PATHS, **RECORD_PATHS}.items():
        params: list[dict[str, Any]] = [
            {"name": "usage_point_id", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": "^[0-9]{14}$"}}]
        if dataset.spec.is_series:
            params += [{"name": n, "in": "query", "required": True,
                        "schema": {"type": "string", "format": "date"}} for n in ("start", "end")]
        paths[COMPAT + path] = {"get": {
            "operationId": "dc_" + path.strip("/").replace("/", "_"),
            "tags": ["Data Connect v5"], "summary": f"Data Connect v5: {dataset.value}",
            "parameters": params,
            "responses": {"200": {"description": "Data Connect v5 body (values as strings)."},
                          **{str(s): dc_error for s in (400, 401, 403, 404, 429, 502, 503, 504)}}}}
    paths[COMPAT + "/oauth2/v3/token"] = {"post": {
        "operationId": "dc_token", "tags": ["Data Connect v5"],
        "summary": "Client credentials token (Data Connect Token v3)", "security": [],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": ["grant_type"], "properties": {
                "grant_type": {"enum": ["client_credentials"]}, "client_id": {"type": "string"},
                "client_secret": {"type": "string"}}}}}},
        "responses": {"200": {"description": "access_token, token_type, expires_in (string)"},
                      "400": dc_error,
                      "401": dict(dc_error, description="invalid_client, when the client "
                                  "authenticated with the Authorization header"),
                      "405": dict(dc_error, description="Not a POST."),
                      "415": dict(dc_error, description="The body is not a form.")}}}
    paths[COMPAT + "/oauth2/v3/revoke"] = {"post": {
        "operationId": "dc_revoke", "tags": ["Data Connect v5"], "security": [],
        "summary": "Revoke a token (RFC 7009); 200 whether it was known or not",
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": {"type": "object", "required": ["token"], "properties": {
                "token": {"type": "string"}, "token_type_hint": {"type": "string"},
                "client_id": {"type": "string"}, "client_secret": {"type": "string"}}}}}},
        "responses": {"200": {"description": "Revoked (or unknown)."},
                      "400": dc_error, "401": dc_error}}}
    paths[COMPAT + "/dataconnect/v1/oauth2/authorize"] = {"get": {
        "operationId": "dc_authorize", "tags": ["Data Connect v5"], "security": [],
        "summary": "The household's consent page; redirects with code, state, usage_point_id",
        "parameters": [{"name": n, "in": "query", "required": n != "state",
                        "schema": {"type": "string"}}
                       for n in ("client_id", "response_type", "state", "duration")],
        "responses": {"302": {"description": "Redirect to the app (or to the login page)."},
                      "400": {"description": "Invalid request."}}}}
    return paths


def build_openapi(issuer: str) -> dict[str, Any]:
    """The whole document, with absolute OAuth URLs under ``issuer``."""
    scopes = {d.value: d.spec.title for d in Dataset}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Passerelle data API", "version": API_VERSION,
                 "summary": "Consented smart-meter data, one normalised shape for every source.",
                 "license": {"name": "AGPL-3.0-or-later",
                             "identifier": "AGPL-3.0-or-later"}},
        "servers": [{"url": issuer}],
        "security": [{"oauth2": []}],
        "tags": [{"name": "native", "description": "Passerelle's own API."},
                 {"name": "Data Connect v5", "description": "Enedis Data Connect v5, same "
                  "paths, parameters and formats; change only the base URL."},
                 {"name": "audit", "description": "For auditors: checkpoints, keys, log "
                  "entries, proofs and proof bundles (docs/evidence-format.md)."}],
        "paths": {**_native_paths(), **_compat_paths(), **audit_paths()},
        "components": {
            "schemas": {**_schemas(), **audit_schemas()},
            "securitySchemes": {
                "auditor": {"type": "http", "scheme": "bearer", "description":
                            "An auditor's token (`passerelle auditor-token create`)."},
                "oauth2": {"type": "oauth2", "flows": {
                    "authorizationCode": {"authorizationUrl": issuer + "/oauth2/authorize",
                                          "tokenUrl": issuer + "/oauth2/token",
                                          "refreshUrl": issuer + "/oauth2/token",
                                          "scopes": scopes},
                    "clientCredentials": {"tokenUrl": issuer + "/oauth2/token",
                                          "scopes": scopes}}}},
        },
    }
