"""The consent and mandate state machines, exhaustively and by random walks."""

from __future__ import annotations

import itertools
from enum import StrEnum

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from consent.errors import IllegalTransition, NotPermitted
from consent.lifecycle import (
    CONSENT_MACHINE,
    MANDATE_MACHINE,
    ActorRole,
    ConsentAction,
    ConsentState,
    MandateAction,
    MandateState,
    StateMachine,
)

R = ActorRole
C = ConsentState
M = MandateState

# The specification, written out independently of consent/lifecycle.py:
# (from state, action) -> (to state, roles allowed).
CONSENT_SPEC: dict[tuple[ConsentState, ConsentAction], tuple[ConsentState, set[ActorRole]]] = {
    (C.REQUESTED, ConsentAction.GRANT): (C.ACTIVE, {R.SUBJECT, R.MANDATARY}),
    (C.REQUESTED, ConsentAction.SUBMIT): (C.PENDING_REVIEW, {R.SUBJECT, R.MANDATARY, R.OPERATOR}),
    (C.PENDING_REVIEW, ConsentAction.APPROVE): (C.ACTIVE, {R.REVIEWER}),
    **{(s, ConsentAction.REFUSE): (C.REFUSED, {R.SUBJECT, R.MANDATARY, R.REVIEWER})
       for s in (C.REQUESTED, C.PENDING_REVIEW)},
    (C.ACTIVE, ConsentAction.RENEW): (C.ACTIVE, {R.SUBJECT, R.MANDATARY}),
    (C.ACTIVE, ConsentAction.SUSPEND): (C.SUSPENDED, {R.OPERATOR, R.UPSTREAM, R.SYSTEM}),
    (C.SUSPENDED, ConsentAction.RESUME): (C.ACTIVE, {R.OPERATOR, R.UPSTREAM, R.SYSTEM}),
    (C.ACTIVE, ConsentAction.WITHDRAW): (C.WITHDRAWN, {R.SUBJECT, R.MANDATARY}),
    (C.SUSPENDED, ConsentAction.WITHDRAW): (C.WITHDRAWN, {R.SUBJECT, R.MANDATARY}),
    (C.PENDING_REVIEW, ConsentAction.WITHDRAW): (C.WITHDRAWN, {R.SUBJECT, R.MANDATARY}),
    **{(s, ConsentAction.REVOKE): (C.REVOKED, {R.OPERATOR, R.RECIPIENT, R.UPSTREAM, R.SYSTEM})
       for s in (C.REQUESTED, C.PENDING_REVIEW, C.ACTIVE, C.SUSPENDED)},
    **{(s, ConsentAction.EXPIRE): (C.EXPIRED, {R.SYSTEM})
       for s in (C.REQUESTED, C.PENDING_REVIEW, C.ACTIVE, C.SUSPENDED)},
}

_LIVE_M = (M.REQUESTED, M.PENDING_REVIEW, M.ACTIVE, M.SUSPENDED)
MANDATE_SPEC: dict[tuple[MandateState, MandateAction], tuple[MandateState, set[ActorRole]]] = {
    (M.REQUESTED, MandateAction.GRANT): (M.ACTIVE, {R.SUBJECT}),
    (M.REQUESTED, MandateAction.SUBMIT): (M.PENDING_REVIEW, {R.SUBJECT, R.MANDATARY, R.OPERATOR}),
    (M.PENDING_REVIEW, MandateAction.APPROVE): (M.ACTIVE, {R.REVIEWER}),
    (M.REQUESTED, MandateAction.REFUSE): (M.REFUSED, {R.SUBJECT, R.REVIEWER}),
    (M.PENDING_REVIEW, MandateAction.REFUSE): (M.REFUSED, {R.SUBJECT, R.REVIEWER}),
    (M.ACTIVE, MandateAction.SUSPEND): (M.SUSPENDED, {R.OPERATOR}),
    (M.SUSPENDED, MandateAction.RESUME): (M.ACTIVE, {R.OPERATOR}),
    **{(s, MandateAction.WITHDRAW): (M.WITHDRAWN, {R.SUBJECT, R.MANDATARY}) for s in _LIVE_M},
    **{(s, MandateAction.REVOKE): (M.REVOKED, {R.OPERATOR, R.REVIEWER, R.SYSTEM})
       for s in _LIVE_M},
    **{(s, MandateAction.EXPIRE): (M.EXPIRED, {R.SYSTEM}) for s in _LIVE_M},
}

MACHINES = [
    pytest.param(CONSENT_MACHINE, CONSENT_SPEC, ConsentState, ConsentAction, id="consent"),
    pytest.param(MANDATE_MACHINE, MANDATE_SPEC, MandateState, MandateAction, id="mandate"),
]


@pytest.mark.parametrize(("machine", "spec", "states", "actions"), MACHINES)
def test_every_state_action_role_matches_the_specification(
    machine: StateMachine[StrEnum, StrEnum], spec: dict[tuple[StrEnum, StrEnum], tuple[
        StrEnum, set[ActorRole]]], states: type[StrEnum], actions: type[StrEnum],
) -> None:
    transitive = [a for a in actions if a.value != "request"]
    checked = 0
    for state, action, role in itertools.product(states, transitive, ActorRole):
        expected = spec.get((state, action))
        if expected is None:
            with pytest.raises(IllegalTransition) as caught:
                machine.target(state, action, role)
            assert caught.value.from_state == state.value
            assert caught.value.to_state == machine.rules[action].target.value
            assert state.value in caught.value.detail
        elif role in expected[1]:
            assert machine.target(state, action, role) == expected[0]
        else:
            with pytest.raises(NotPermitted):
                machine.target(state, action, role)
        checked += 1
    assert checked == len(states) * len(transitive) * len(ActorRole)


@pytest.mark.parametrize(("machine", "creators"), [
    (CONSENT_MACHINE, {R.SUBJECT, R.MANDATARY, R.RECIPIENT}),
    (MANDATE_MACHINE, {R.SUBJECT, R.MANDATARY, R.OPERATOR}),
])
def test_who_may_create(machine: StateMachine[StrEnum, StrEnum], creators: set[ActorRole]) -> None:
    request = next(a for a in machine.rules if a.value == "request")
    for role in ActorRole:
        if role in creators:
            assert machine.creation(request, role).value == "requested"
        else:
            with pytest.raises(NotPermitted):
                machine.creation(request, role)


def test_terminal_states_are_the_ending_ones() -> None:
    assert CONSENT_MACHINE.terminal == {C.WITHDRAWN, C.REVOKED, C.EXPIRED, C.REFUSED}
    assert MANDATE_MACHINE.terminal == {M.WITHDRAWN, M.REVOKED, M.EXPIRED, M.REFUSED}


def test_allowed_actions_lists_buttons_for_a_role() -> None:
    assert set(CONSENT_MACHINE.allowed_actions(C.ACTIVE, R.SUBJECT)) == {
        ConsentAction.RENEW, ConsentAction.WITHDRAW}
    assert CONSENT_MACHINE.allowed_actions(C.WITHDRAWN, R.SYSTEM) == []


def test_a_machine_with_an_exit_from_a_terminal_state_is_rejected() -> None:
    from consent.lifecycle import Rule

    with pytest.raises(ValueError, match="terminal"):
        StateMachine("broken", {ConsentAction.GRANT: Rule(
            frozenset({C.EXPIRED}), C.ACTIVE, frozenset({R.SUBJECT}))},
            terminal=frozenset({C.EXPIRED}))


class _Walk(RuleBasedStateMachine):
    """Random sequences of (action, role) on one object; the machine must keep its promises."""

    machine: StateMachine[StrEnum, StrEnum]
    actions: list[StrEnum]

    def __init__(self) -> None:
        super().__init__()
        request = next(a for a in self.machine.rules if a.value == "request")
        self.state = self.machine.creation(request, R.SUBJECT)
        self.ended = False
        self.history: list[tuple[StrEnum, StrEnum, StrEnum]] = []

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        action = data.draw(st.sampled_from(self.actions))
        role = data.draw(st.sampled_from(list(ActorRole)))
        before = self.state
        try:
            after = self.machine.target(before, action, role)
        except (IllegalTransition, NotPermitted):
            return
        assert not self.ended, f"{action} left terminal state {before}"
        assert role in self.machine.rules[action].roles
        self.history.append((before, action, after))
        self.state = after
        self.ended = self.machine.is_terminal(after)

    @invariant()
    def terminal_means_no_way_out(self) -> None:
        if self.machine.is_terminal(self.state):
            assert all(self.machine.allowed_actions(self.state, r) == [] for r in ActorRole)

    @invariant()
    def history_is_a_chain(self) -> None:
        for (_, _, after), (before, _, _) in itertools.pairwise(self.history):
            assert after == before


class ConsentWalk(_Walk):
    machine = CONSENT_MACHINE  # type: ignore[assignment]
    actions = [a for a in ConsentAction if a is not ConsentAction.REQUEST]  # noqa: RUF012

    @invariant()
    def active_only_through_grant_approval_resume_or_renew(self) -> None:
        for before, action, after in self.history:
            if after == C.ACTIVE:
                assert action in {ConsentAction.GRANT, ConsentAction.APPROVE,
                                  ConsentAction.RESUME, ConsentAction.RENEW}
            if action is ConsentAction.APPROVE:
                assert before == C.PENDING_REVIEW


class MandateWalk(_Walk):
    machine = MANDATE_MACHINE  # type: ignore[assignment]
    actions = [a for a in MandateAction if a is not MandateAction.REQUEST]  # noqa: RUF012

    @invariant()
    def active_only_after_review_or_the_households_own_grant(self) -> None:
        for before, action, after in self.history:
            if after == M.ACTIVE and before != M.SUSPENDED:
                assert (before, action) in {(M.PENDING_REVIEW, MandateAction.APPROVE),
                                            (M.REQUESTED, MandateAction.GRANT)}


_WALKS = settings(max_examples=60, stateful_step_count=25, deadline=None)
ConsentWalk.TestCase.settings = _WALKS
MandateWalk.TestCase.settings = _WALKS
TestConsentWalk = ConsentWalk.TestCase
TestMandateWalk = MandateWalk.TestCase
