"""Upstream economy: every DSO call goes through a shared limiter and a cache of settled days.

The DSO limits the operator, not each recipient (Data Connect: 5 requests/s and a per-hour
quota per API), so calls from every recipient share :mod:`~proxy.upstream.limiter` windows built
from the adapters' declared quotas; :mod:`~proxy.upstream.cache` keeps past, complete days
(encrypted) so one datum is fetched once whichever recipient asks; :mod:`~proxy.upstream.fetcher`
ties both to an adapter.
"""
