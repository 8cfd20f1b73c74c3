"""Signals that are never shown to any recipient (R13).

A DSO's contract record may reveal that the client is in a payment-difficulty procedure: a
budget (prepayment) meter, a "défaut de paiement" or "impayé" status, a power limiter, a
protected-customer or social tariff, supply by the DSO as supplier of last resort. R13: such
signals are never shown to another party; not to a supplier, not to anyone. :func:`redact`
blanks (sets to ``None``) every record field whose value carries one, whatever the consent
releases, so that the field's presence stays the same and nothing is inferred from a gap in
the shape.

The markers are matched on the value folded to lower-case ASCII, as whole words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from consent.readings import Record

#: Words and phrases that reveal a payment difficulty or a social protection status.
PAYMENT_DIFFICULTY_MARKERS = (
    "budget", "budgetmeter", "prepayment", "prepaiement", "prepaid", "defaut de paiement",
    "defaut_paiement", "payment difficulty", "payment_difficulty", "impaye", "impayes",
    "unpaid", "arrears", "limiteur", "limiter", "reduction de puissance", "coupure",
    "disconnection", "client protege", "protected customer", "tarif social", "social tariff",
    "fournisseur x", "dernier ressort", "last resort", "drop",
)

_PATTERN = re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(m) for m in sorted(
    PAYMENT_DIFFICULTY_MARKERS, key=len, reverse=True)) + r")(?![a-z0-9])")


def _fold(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", " ", ascii_text.casefold())


def reveals_payment_difficulty(value: str | None) -> bool:
    """True if ``value`` carries a payment-difficulty or social-protection signal."""
    return value is not None and _PATTERN.search(_fold(value)) is not None


def redact(record: Record) -> Record:
    """``record`` with every signal-carrying field blanked (R13)."""
    fields = {name: None if reveals_payment_difficulty(value) else value
              for name, value in record.fields.items()}
    return replace(record, fields=fields)
