"""Message catalogues of the household portal, one module per area; :mod:`proxy.web.i18n`
merges them into its ``MESSAGES`` (every key in every language, checked by the tests)."""

from proxy.web.catalogue import account, consents, data, mandates, site
from proxy.web.lang import Catalogue

PORTAL_MESSAGES: Catalogue = {
    **site.MESSAGES, **consents.MESSAGES, **data.MESSAGES, **mandates.MESSAGES,
    **account.MESSAGES,
}
