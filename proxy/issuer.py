"""Where an instance may serve from: its issuer, checked before anything listens.

The issuer (``Settings.issuer``: ``PASSERELLE_PUBLIC_URL``, else ``http://HOST:PORT``) is the
OAuth issuer identifier (RFC 8414) and the base of every link and redirect Passerelle emits.
Its form (an origin) is checked with every setting (:func:`proxy.environment.check_public_url`);
this module adds what only matters to a server:

* :func:`check_issuer` (``passerelle serve``): https, unless the host is loopback (RFC 8252's
  exception, which authlib applies too: elsewhere it refuses every token request over http,
  and browsers would send households' passwords in clear). An unspecified listen address
  (``0.0.0.0``, ``::``) without a public URL is no issuer at all: the message says to set
  ``PASSERELLE_PUBLIC_URL``.
* :func:`check_demo` (:func:`proxy.app.create_app`): the demo seeds public passwords
  (``admin``/``admin-demo-2026``...), so it runs only under a loopback issuer. In a container,
  publish the port on the host's loopback and say so:
  ``docker run -p 127.0.0.1:8080:8080 -e PASSERELLE_PUBLIC_URL=http://127.0.0.1:8080 IMAGE
  serve --demo``.

Both raise :class:`~proxy.environment.InvalidConfiguration` (``passerelle`` exits with 2).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from consent.services.web_addresses import is_loopback_host
from proxy.environment import InvalidConfiguration
from proxy.settings import Settings

#: Listen addresses meaning "every interface": nobody can reach Passerelle at them.
UNSPECIFIED_HOSTS = frozenset({"0.0.0.0", "::", "[::]", ""})  # noqa: S104


def issuer_is_loopback(settings: Settings) -> bool:
    """True when the issuer's host is ``localhost`` or a loopback address."""
    return is_loopback_host(urlsplit(settings.issuer).hostname)


def check_issuer(settings: Settings) -> None:
    """Refuse an issuer a server cannot run under (module docstring)."""
    if settings.public_url is None and settings.host in UNSPECIFIED_HOSTS:
        raise InvalidConfiguration(
            f"Listening on {settings.host or 'every address'} needs the address clients use: "
            "set PASSERELLE_PUBLIC_URL (or --public-url) to the public https origin, or to "
            f"http://127.0.0.1:{settings.port} behind a port published on the loopback only.")
    if urlsplit(settings.issuer).scheme != "https" and not issuer_is_loopback(settings):
        where = "the public URL" if settings.public_url else "the listen address"
        raise InvalidConfiguration(
            f"The issuer {settings.issuer} is plain http on a host that is not loopback "
            f"({where}): OAuth needs https there. Set PASSERELLE_PUBLIC_URL (or --public-url) "
            "to the https origin clients use (TLS ends at the reverse proxy in front).")


def check_demo(settings: Settings) -> None:
    """Refuse the demo unless the issuer is loopback (its passwords are public)."""
    if settings.demo and not issuer_is_loopback(settings):
        raise InvalidConfiguration(
            f"The demo seeds public passwords, so it only runs on a loopback issuer, not "
            f"{settings.issuer}: set PASSERELLE_PUBLIC_URL=http://127.0.0.1:{settings.port} "
            "(in a container: docker run -p 127.0.0.1:8080:8080 -e "
            "PASSERELLE_PUBLIC_URL=http://127.0.0.1:8080 IMAGE serve --demo), or drop --demo.")
