"""The data path shared by the native and the Data Connect-compatible APIs.

One request: verified token -> :mod:`~proxy.data.facts` (consent snapshot, occupancy, upstream
authorisation) -> :func:`consent.checks.default_policy` -> :mod:`proxy.upstream` (cache, shared
limiter, adapter) -> :mod:`consent.aggregation` (the consent's view) -> an access event, durable
before the body leaves (:mod:`~proxy.data.evidence`).
"""
