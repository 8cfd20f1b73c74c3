"""Supplier codes: how a DSO names the supplier of a point, and how a supplier is registered
(R13, docs/market-rules.md "Suppliers").

A supply contract reaches Passerelle as "point P is supplied by <code> since T" (an adapter, or
the operator from the DSO's notice). The code is matched, exactly, against the code each
supplier was registered with (``Recipient.supplier_code``, unique per tenant), never against a
display name: two apps may be named alike, a code names one market party.

Accepted forms (:func:`validate_supplier_code`):

=====================  ========================================================================
form                   check
=====================  ========================================================================
GLN (EAN-13)           13 digits and a GS1 mod-10 check digit: the market-party number of the
                       Belgian market (Atrias), also used elsewhere; a mistyped one is refused
other code             the code as the DSO reports it (an EIC such as ``17X100A100A0001A``, a
                       DSO's own code such as ``VOLT-1``): 1 to 64 letters, digits, ``-``,
                       ``.``, ``_`` or ``/``, starting with a letter or digit; no space
=====================  ========================================================================

The code is compared as written (case included): register it exactly as the DSO reports it.
"""

from __future__ import annotations

import re

from consent.errors import InvalidIdentifier
from consent.identifiers import gs1_check_digit

#: The longest code kept (the column's width).
MAX_LENGTH = 64

_GLN = re.compile(r"[0-9]{13}")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")


def validate_supplier_code(value: object) -> str:
    """``value`` as a supplier code (surrounding spaces dropped), or
    :class:`~consent.errors.InvalidIdentifier` naming what is wrong (see the module table)."""
    if not isinstance(value, str):
        raise InvalidIdentifier("A supplier code is text.", field="supplier_code")
    code = value.strip()
    if _GLN.fullmatch(code):
        expected = gs1_check_digit(code[:-1])
        if int(code[-1]) != expected:
            raise InvalidIdentifier(
                f"{code!r} is not a valid GLN: its check digit should be {expected}.",
                field="supplier_code")
        return code
    if not _CODE.fullmatch(code):
        raise InvalidIdentifier(
            f"{code[:80]!r} is not a supplier code: a GLN (13 digits) or the DSO's code, 1 to "
            f"{MAX_LENGTH} letters, digits, '-', '.', '_' or '/', without spaces.",
            field="supplier_code")
    return code
