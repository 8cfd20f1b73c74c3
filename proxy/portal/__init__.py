"""The household portal: the page where a household sees and decides who reads its meters
(R8, R9, R15, R20, R21), built on the web machinery of :mod:`proxy.web`.

=======================  ====================================================================
module                   what
=======================  ====================================================================
``routes``               the portal's URL map and wiring (``add_portal_routes``)
``pages``                signed-in household, page rendering, HTML errors, confirmations
``flash``                one-shot confirmations in a signed cookie
``fields``               server-side form validation, errors per field
``format``               dates and numbers per language
``overview``             ``/account``: points, consents, last reads; giving access
``consents``             grant, refuse, narrow, renew, withdraw, withdraw all
``history``              access history with its timeline (R16)
``owndata``              consumption and production read through Passerelle (R20)
``charts``               server-rendered SVG bar charts with text alternatives
``mandates``             giving and ending mandates, proof upload (R2, R10)
``port``                 the meter's user port: state, open/close, 24-hour tracking (R20)
``claims``               claiming a point: meter number or the DSO's consent page (R15)
``identity``             password reset with a code, password change, sign out everywhere (R7)
``security``             the security page: linked OpenID identities and their removal (R15)
``evidence``             the household's own proof bundle (GDPR right of access)
=======================  ====================================================================
"""
