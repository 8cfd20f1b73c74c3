"""Enedis Data Connect v5, mounted at ``/compat/enedis`` (reference: dso-apis-and-peers.md §1).

Same paths, parameters, value formats (strings), ``[start, end[`` semantics, error bodies and
codes as Data Connect v5; behind them, the same consent checks and evidence as the native API.
"""
