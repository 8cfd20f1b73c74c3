"""Individual consent versus community consent (R4: collective self-consumption is tripartite,
and data is re-shared only as far as the initial consent allows).

A consent gives its recipient one of two *views* of the household's points
(:class:`~consent.purposes.ConsentView`):

* :attr:`ConsentView.INDIVIDUAL`: the recipient reads the point's own data (every consent
  given before this distinction existed is individual);
* :attr:`ConsentView.COMMUNITY`: the recipient, the organiser of one collective
  self-consumption community (named on the consent), may use the point's data only inside that
  community's aggregate (``consent.community``: summed with at least k households), never on
  its own, and never for another community.

:class:`CommunityView` is the :class:`~consent.checks.ConsentCheck` of that rule: a read under
a community consent passes only when the request is one member read of the aggregate of the
consent's community (:attr:`~consent.access.ReadRequest.community_id`). It denies, naming the
rule ``R4 community consent`` and what is allowed (the community's aggregate), otherwise; it
denies too when it cannot tell (no consent, or a community consent naming no community).
"""

from __future__ import annotations

from consent.access import AccessContext, Denial
from consent.purposes import ConsentView

#: The rule name reported by :class:`CommunityView`.
RULE = "R4 community consent"


class CommunityView:
    """R4: a community consent releases the point only into its community's aggregate."""

    rule = RULE

    def check(self, ctx: AccessContext) -> Denial | None:
        consent = ctx.consent
        if consent is None:
            return Denial(self.rule, "No consent says whether this point may be read on its "
                                     "own.")
        if consent.view is ConsentView.INDIVIDUAL:
            return None
        community = consent.community_id
        if community is None:
            return Denial(self.rule, "This community consent names no community: nothing can "
                                     "be served under it.")
        if ctx.request.community_id == community:
            return None
        return Denial(
            self.rule,
            f"The household consented to the use of this point's data only inside the "
            f"aggregate of the community {community} (at least k households), never on its "
            f"own (R4): ask for the community dataset instead.",
            {"community": community, "view": ConsentView.COMMUNITY.value})
