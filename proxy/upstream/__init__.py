"""Upstream economy: every DSO request takes a turn from one shared limiter, and settled days are
cached.

The DSO limits the operator, not each recipient (Data Connect: 5 requests/s and a per-hour
quota per API), so every adapter's requests take turns from the instance's one
:class:`~adapters.limiter.FairLimiter`, built from the adapters' declared quota plans and
shared by replicas through PostgreSQL; :mod:`~proxy.upstream.cache` keeps past, complete days
(encrypted) so one datum is fetched once whichever recipient asks; :mod:`~proxy.upstream.fetcher`
ties the cache to an adapter and names the recipient each call is made for.
"""
