"""Faithful fake DSO servers (aiohttp), serving the built-in simulator's numbers.

They live in the package, not under ``tests/``, for the same reason the simulator does: an
operator can demonstrate (and a proxy test can exercise) the real Enedis and GRDF adapters end to
end without DSO credentials, and the adapters' test-suite, the contract suite and the proxy's
integration tests all talk to one implementation of each wire format. They are never a DSO: they
reproduce the documented shapes, limits, error codes and quirks (``docs/adapters.md``) and nothing
else, and their admin knobs exist only on them.
"""
