"""The consent and mandate state machines, as pure data plus one checking function.

Each machine is a table ``action -> Rule(from states, to state, actor roles)``. Asking for an
action from a state the rule does not list raises :class:`~consent.errors.IllegalTransition`
naming the from and to states; asking with a role the rule does not list raises
:class:`~consent.errors.NotPermitted`. The state is checked before the role, so a terminal object
answers "illegal transition" to everyone. Nothing here touches storage: the services apply the
returned state and write the event (consent/services/).

States follow W3C DPV consent statuses (consent-models.md §6.2) with the "who ended it"
distinction of Berlin Group / DPV (§5.2, §8.6): *withdrawn* is the subject's (or its mandatary's)
doing, *revoked* anyone else's (operator, recipient, upstream DSO, Passerelle itself).

Renewal is decided here as ``active -> active`` under the action ``renew``: the same consent row
(same id, same arrangement id, same tokens) gets a later ``valid_until`` and a ``renew`` event
(DPV *RenewedConsentGiven*). Why in place: tokens stay bound to one consent id, and the event
history of one row tells the whole story. A change of *scope* is not a renewal: it is to be a
new consent carrying the same ``arrangement_id`` and a ``supersedes_id`` pointing to the old
one, which is revoked with reason ``superseded`` (CDR arrangement semantics, §8.4), so tokens of
the old scope die. The columns exist; no service writes an amendment yet.

Consent (``-`` = creation)::

    -  --request--> requested --grant--> active --renew--> active
    requested --submit--> pending_review --approve--> active     (R14 written path, reviewer)
    requested|pending_review --refuse--> refused  (subject, mandatary, reviewer)
    active --suspend--> suspended --resume--> active
    requested|pending_review|active|suspended --revoke--> revoked (operator, recipient, upstream,
                                                                   system)
    pending_review|active|suspended --withdraw--> withdrawn       (subject, mandatary)
    requested|pending_review|active|suspended --expire--> expired (system)

Mandate::

    -  --request--> requested --grant--> active           (subject online, R7; R14 caps it)
    requested --submit--> pending_review --approve--> active (reviewer)
    requested|pending_review --refuse--> refused        (subject, reviewer)
    active --suspend--> suspended --resume--> active    (operator)
    requested|pending_review|active|suspended --withdraw--> withdrawn (subject, mandatary)
    requested|pending_review|active|suspended --revoke--> revoked     (operator, reviewer, system)
    requested|pending_review|active|suspended --expire--> expired     (system)

``grant`` by the household itself is the online path (R7: its authenticated act is its
signature); the services refuse it above two points (R14), where only ``submit`` with a proof
document and a reviewer's ``approve`` lead to ``active``. ``submit`` is also the operator's: a
signed paper form entered at the counter (R15, channel ``paper``).

Terminal states (refused, withdrawn, revoked, expired) have no way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from consent.errors import IllegalTransition, NotPermitted


class ActorRole(StrEnum):
    """In which capacity someone acts on a consent or mandate (R3, R19).

    Auditors are absent on purpose: they read, never write.
    """

    SUBJECT = "subject"  # the household, data subject of the points
    MANDATARY = "mandatary"  # acting under an active mandate of the subject (R2, R10, R11)
    RECIPIENT = "recipient"  # the third-party app the consent is for
    OPERATOR = "operator"  # the intermediary's staff (a GDPR processor)
    REVIEWER = "reviewer"  # operator staff who check proof documents (segregation, R19)
    UPSTREAM = "upstream"  # the DSO, through the upstream authorisation's state
    SYSTEM = "system"  # Passerelle itself: expiry sweeps, occupancy changes (R9)


class ConsentState(StrEnum):
    """Where a consent is in its life; only ``active`` lets data through."""

    REQUESTED = "requested"
    PENDING_REVIEW = "pending_review"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REFUSED = "refused"


class ConsentAction(StrEnum):
    """What can happen to a consent."""

    REQUEST = "request"
    GRANT = "grant"
    SUBMIT = "submit"
    APPROVE = "approve"
    REFUSE = "refuse"
    RENEW = "renew"
    SUSPEND = "suspend"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    REVOKE = "revoke"
    EXPIRE = "expire"


class MandateState(StrEnum):
    """Where a mandate is in its life; only ``active`` lets the mandatary act."""

    REQUESTED = "requested"
    PENDING_REVIEW = "pending_review"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    EXPIRED = "expired"
    REFUSED = "refused"


class MandateAction(StrEnum):
    """What can happen to a mandate."""

    REQUEST = "request"
    GRANT = "grant"
    SUBMIT = "submit"
    APPROVE = "approve"
    REFUSE = "refuse"
    SUSPEND = "suspend"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    REVOKE = "revoke"
    EXPIRE = "expire"


S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Rule(Generic[S]):
    """One action: from which states (empty = creation), to which state, by which roles."""

    sources: frozenset[S]
    target: S
    roles: frozenset[ActorRole]


class StateMachine(Generic[S, A]):
    """A transition table with its checks. ``name`` is used in error messages."""

    def __init__(self, name: str, rules: Mapping[A, Rule[S]], terminal: frozenset[S]) -> None:
        self.name = name
        self.rules = dict(rules)
        self.terminal = terminal
        for action, rule in self.rules.items():
            if rule.sources & terminal:
                raise ValueError(f"{name}: {action} leaves a terminal state")

    def creation(self, action: A, role: ActorRole) -> S:
        """The initial state of an object created by ``action``; check ``role`` may create."""
        rule = self.rules[action]
        if rule.sources:
            raise ValueError(f"{action} does not create a {self.name}")
        self._check_role(rule, action, role)
        return rule.target

    def target(self, current: S, action: A, role: ActorRole) -> S:
        """The state after ``action`` from ``current`` by ``role``, or a domain error."""
        rule = self.rules[action]
        if current not in rule.sources:
            raise IllegalTransition(
                f"A {self.name} that is {current.value} cannot be asked to {action.value} "
                f"({current.value} -> {rule.target.value} is not allowed).",
                from_state=current.value, to_state=rule.target.value, action=action.value,
            )
        self._check_role(rule, action, role)
        return rule.target

    def allowed_actions(self, current: S, role: ActorRole) -> list[A]:
        """The actions ``role`` may take from ``current`` (for pages that offer buttons)."""
        return [a for a, r in self.rules.items() if current in r.sources and role in r.roles]

    def is_terminal(self, state: S) -> bool:
        """True if no action leaves ``state``."""
        return state in self.terminal

    def _check_role(self, rule: Rule[S], action: A, role: ActorRole) -> None:
        if role not in rule.roles:
            allowed = ", ".join(sorted(r.value for r in rule.roles))
            raise NotPermitted(
                f"Acting as {role.value}, you may not {action.value} a {self.name} "
                f"(allowed: {allowed}).",
                action=action.value, role=role.value,
            )


def _rule(sources: set[S], target: S, *roles: ActorRole) -> Rule[S]:
    return Rule(frozenset(sources), target, frozenset(roles))


_R = ActorRole
_C = ConsentState
_M = MandateState

_LIVE_CONSENT = {_C.REQUESTED, _C.PENDING_REVIEW, _C.ACTIVE, _C.SUSPENDED}

CONSENT_MACHINE: StateMachine[ConsentState, ConsentAction] = StateMachine(
    "consent",
    {
        ConsentAction.REQUEST: _rule(set(), _C.REQUESTED, _R.SUBJECT, _R.MANDATARY, _R.RECIPIENT),
        ConsentAction.GRANT: _rule({_C.REQUESTED}, _C.ACTIVE, _R.SUBJECT, _R.MANDATARY),
        ConsentAction.SUBMIT: _rule({_C.REQUESTED}, _C.PENDING_REVIEW, _R.SUBJECT, _R.MANDATARY,
                                    _R.OPERATOR),
        ConsentAction.APPROVE: _rule({_C.PENDING_REVIEW}, _C.ACTIVE, _R.REVIEWER),
        ConsentAction.REFUSE: _rule({_C.REQUESTED, _C.PENDING_REVIEW}, _C.REFUSED, _R.SUBJECT,
                                    _R.MANDATARY, _R.REVIEWER),
        ConsentAction.RENEW: _rule({_C.ACTIVE}, _C.ACTIVE, _R.SUBJECT, _R.MANDATARY),
        ConsentAction.SUSPEND: _rule({_C.ACTIVE}, _C.SUSPENDED, _R.OPERATOR, _R.UPSTREAM,
                                     _R.SYSTEM),
        ConsentAction.RESUME: _rule({_C.SUSPENDED}, _C.ACTIVE, _R.OPERATOR, _R.UPSTREAM,
                                    _R.SYSTEM),
        ConsentAction.WITHDRAW: _rule({_C.PENDING_REVIEW, _C.ACTIVE, _C.SUSPENDED}, _C.WITHDRAWN,
                                      _R.SUBJECT, _R.MANDATARY),
        ConsentAction.REVOKE: _rule(_LIVE_CONSENT, _C.REVOKED, _R.OPERATOR, _R.RECIPIENT,
                                    _R.UPSTREAM, _R.SYSTEM),
        ConsentAction.EXPIRE: _rule(_LIVE_CONSENT, _C.EXPIRED, _R.SYSTEM),
    },
    terminal=frozenset({_C.WITHDRAWN, _C.REVOKED, _C.EXPIRED, _C.REFUSED}),
)

_LIVE_MANDATE = {_M.REQUESTED, _M.PENDING_REVIEW, _M.ACTIVE, _M.SUSPENDED}

MANDATE_MACHINE: StateMachine[MandateState, MandateAction] = StateMachine(
    "mandate",
    {
        MandateAction.REQUEST: _rule(set(), _M.REQUESTED, _R.SUBJECT, _R.MANDATARY, _R.OPERATOR),
        MandateAction.GRANT: _rule({_M.REQUESTED}, _M.ACTIVE, _R.SUBJECT),
        MandateAction.SUBMIT: _rule({_M.REQUESTED}, _M.PENDING_REVIEW, _R.SUBJECT, _R.MANDATARY,
                                    _R.OPERATOR),
        MandateAction.APPROVE: _rule({_M.PENDING_REVIEW}, _M.ACTIVE, _R.REVIEWER),
        MandateAction.REFUSE: _rule({_M.REQUESTED, _M.PENDING_REVIEW}, _M.REFUSED, _R.SUBJECT,
                                    _R.REVIEWER),
        MandateAction.SUSPEND: _rule({_M.ACTIVE}, _M.SUSPENDED, _R.OPERATOR),
        MandateAction.RESUME: _rule({_M.SUSPENDED}, _M.ACTIVE, _R.OPERATOR),
        MandateAction.WITHDRAW: _rule(_LIVE_MANDATE, _M.WITHDRAWN, _R.SUBJECT, _R.MANDATARY),
        MandateAction.REVOKE: _rule(_LIVE_MANDATE, _M.REVOKED, _R.OPERATOR, _R.REVIEWER,
                                    _R.SYSTEM),
        MandateAction.EXPIRE: _rule(_LIVE_MANDATE, _M.EXPIRED, _R.SYSTEM),
    },
    terminal=frozenset({_M.WITHDRAWN, _M.REVOKED, _M.EXPIRED, _M.REFUSED}),
)
