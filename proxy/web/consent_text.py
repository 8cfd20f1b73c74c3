"""The consent text a household is shown, versioned and hashed (R18; GDPR art. 7(1)).

The consent page (``templates/consent.html``) is made of its template and the catalogue
messages it can show (``consent.*``, the GDPR roles, legal bases, purposes and dataset names).
Together, in one language, they are *the consent text*: :func:`consent_text` gives its exact
bytes (canonical JSON of the version, the language, the template source and those messages),
:func:`consent_notice` its version and SHA-256, which the page prints, the form posts back and
the signed consent record keeps. An auditor given the version can rebuild the bytes from the
released source and check the hash.

Changing any of that wording changes the hash: then raise :data:`CONSENT_TEXT_VERSION` too (a
test pins the hashes of the current version, so the two cannot drift apart silently).
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

from consent.evidence.canonical import canonical
from consent.evidence.records import Notice
from proxy.web.i18n import DATASET_TITLES, MESSAGES
from proxy.web.lang import Lang

CONSENT_TEXT_VERSION = "oauth-consent/6"
TEMPLATE = "consent.html"
_PREFIXES = ("consent.", "role.", "basis.", "purpose.")


@cache
def consent_text(lang: Lang) -> bytes:
    """The exact bytes hashed for the consent text in ``lang``."""
    template = (resources.files("proxy.web") / "templates" / TEMPLATE).read_text("utf-8")
    messages = {key: texts[lang] for key, texts in MESSAGES.items()
                if key.startswith(_PREFIXES)}
    datasets = {key: texts[lang] for key, texts in DATASET_TITLES.items()}
    return canonical({"version": CONSENT_TEXT_VERSION, "language": lang, "template": template,
                      "messages": messages, "dataset_titles": datasets})


def consent_notice(lang: Lang) -> Notice:
    """Version, SHA-256 and language of the consent text in ``lang``."""
    return Notice(CONSENT_TEXT_VERSION, hashlib.sha256(consent_text(lang)).hexdigest(), lang)
