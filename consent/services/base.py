"""What every domain service shares: who acts, how a transition is written, the hooks.

A transition is written by :func:`apply_transition` inside the caller's transaction: the state
machine decides the next state (or raises), the row gets its new state and a bumped ``version``
(the UPDATE carries ``WHERE version = <read version>``, so a concurrent writer makes it match
no row and we raise :class:`~consent.errors.ConcurrentUpdate`), the event row is added, then
every hook runs **in the same transaction**. A hook that raises aborts the whole transition:
nothing is written. That is how a later layer (issue 3: token revocation) makes "withdrawn"
and "its tokens are dead" one atomic fact.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import ConcurrentUpdate, Conflict, DomainError
from consent.evidence.records import Authentication, Notice
from consent.lifecycle import ActorRole, StateMachine
from consent.models import DEFAULT_TENANT, Channel
from consent.models.history import TransitionEvent
from consent.storage import Database

#: Roles that name no party: the caller (an authenticated operator page, a DSO poll, a sweep)
#: vouches for them.
_ANONYMOUS_ROLES = {ActorRole.SYSTEM, ActorRole.UPSTREAM}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks, in which role, through which channel, in which tenant.

    The HTTP layer builds it from an authenticated session or token; the domain trusts the
    role only as far as the rules of each service allow (a ``subject`` must be the grantor, a
    ``mandatary`` must hold an active mandate...).
    """

    role: ActorRole
    party_id: str | None = None
    account_id: str | None = None
    channel: Channel = Channel.WEB
    tenant_id: str = DEFAULT_TENANT
    #: How the person was authenticated (R15), and the consent text they were shown and acted
    #: on: the HTTP layer knows both. They are kept in the event's ``details``, where the
    #: evidence listener reads them for the signed record (R18).
    authentication: Authentication | None = None
    notice: Notice | None = None

    def __post_init__(self) -> None:
        if self.party_id is None and self.role not in _ANONYMOUS_ROLES:
            raise DomainError(f"An actor in the role {self.role.value} must name its party.",
                              field="actor")

    def evidence(self) -> dict[str, Any]:
        """What the event's ``details`` keep of how this actor was authenticated and what it
        was shown (nothing for actors that were neither)."""
        out: dict[str, Any] = {}
        if self.authentication is not None:
            out["authentication"] = self.authentication.to_json()
        if self.notice is not None:
            out["notice"] = self.notice.to_json()
        return out

    @classmethod
    def system(cls, tenant_id: str = DEFAULT_TENANT) -> Actor:
        """Passerelle itself (expiry sweeps, occupancy changes)."""
        return cls(ActorRole.SYSTEM, channel=Channel.SYSTEM, tenant_id=tenant_id)

    @classmethod
    def upstream(cls, tenant_id: str = DEFAULT_TENANT) -> Actor:
        """The DSO, as reported by an adapter."""
        return cls(ActorRole.UPSTREAM, channel=Channel.UPSTREAM, tenant_id=tenant_id)


class Versioned(Protocol):
    """A row with a lifecycle: consents and mandates."""

    id: str
    tenant_id: str
    version: int
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None

    @property
    def state(self) -> Any: ...

    @state.setter
    def state(self, value: Any) -> None: ...


R = TypeVar("R", bound=Versioned)
E = TypeVar("E", bound=TransitionEvent)
S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)

Hook = Callable[[AsyncSession, R, E], Awaitable[None]]
"""Called inside the transaction after each transition: ``hook(session, row, event)``."""


@dataclass(frozen=True, slots=True)
class Transition(Generic[R, E]):
    """The result of an accepted transition: the row after it, and its event."""

    row: R
    event: E


@dataclass(slots=True)
class Hooks(Generic[R, E]):
    """The listeners of one kind of row; append to :attr:`listeners` at wiring time."""

    listeners: list[Hook[R, E]] = field(default_factory=list)

    async def run(self, session: AsyncSession, row: R, event: E) -> None:
        """Call every listener in order; the first exception aborts the transaction."""
        for listener in self.listeners:
            await listener(session, row, event)


def check_version(row: Versioned, expected_version: int | None) -> None:
    """Raise :class:`ConcurrentUpdate` if the caller saw another version than the stored one."""
    if expected_version is not None and expected_version != row.version:
        raise ConcurrentUpdate(
            f"This {type(row).__name__.lower()} changed since you saw it (you saw version "
            f"{expected_version}, it is now at version {row.version}); reload and retry.",
            current_version=row.version,
        )


async def apply_transition(
    session: AsyncSession,
    row: R,
    machine: StateMachine[S, A],
    action: A,
    actor: Actor,
    now: datetime,
    make_event: Callable[..., E],
    *,
    reason: str = "",
    details: Mapping[str, Any] | None = None,
    changes: Mapping[str, Any] | None = None,
    effective_at: datetime | None = None,
) -> E:
    """Move ``row`` by ``action`` and add its event; see the module docstring.

    ``changes`` are extra column values set in the same UPDATE (a renewal's ``valid_until``).
    ``effective_at`` is when an ending took effect if that is not now (a move-out recorded
    after the fact, R9): ``ended_at`` gets it (never before the row existed) and the event's
    details say so.
    """
    from_state = row.state
    to_state = machine.target(from_state, action, actor.role)
    for name, value in (changes or {}).items():
        setattr(row, name, value)
    row.state = to_state
    row.updated_at = now
    details = dict(details or {})
    if machine.is_terminal(to_state):
        row.ended_at = now
        if effective_at is not None and effective_at < now:
            row.ended_at = max(effective_at, row.created_at)
            details["effective_at"] = row.ended_at.isoformat()
    row.version = row.version + 1
    session.add(row)
    try:
        await session.flush()
    except StaleDataError:
        raise ConcurrentUpdate(
            f"This {type(row).__name__.lower()} was changed by someone else at the same time; "
            "reload and retry.",
        ) from None
    event = make_event(
        tenant_id=row.tenant_id, action=action.value, from_state=from_state.value,
        to_state=to_state.value, actor_role=actor.role, actor_party_id=actor.party_id,
        actor_account_id=actor.account_id, channel=actor.channel, reason=reason,
        details={**details, **actor.evidence()}, version=row.version, at=now,
    )
    session.add(event)
    await session.flush()
    return event


async def insert_created(session: AsyncSession, row: R, links: Iterable[Any],
                         make_event: Callable[..., E], action: StrEnum, actor: Actor,
                         now: datetime, *, reason: str = "") -> E:
    """Insert a new ``row``, then the rows linking it to its points and its first event
    (``from_state`` ``None``); return the event. The caller runs its hooks."""
    session.add(row)
    await session.flush()
    session.add_all(links)
    event = make_event(
        tenant_id=row.tenant_id, action=action.value, from_state=None,
        to_state=str(row.state), actor_role=actor.role, actor_party_id=actor.party_id,
        actor_account_id=actor.account_id, channel=actor.channel, reason=reason,
        details=actor.evidence(), version=row.version, at=now,
    )
    session.add(event)
    await session.flush()
    return event


Expire = Callable[..., Awaitable[Any]]


async def expire_due(db: Database, model: type[Any], machine: StateMachine[S, A],
                     expire_action: A, expire: Expire, *, tenant_id: str, now: datetime,
                     reason: str) -> list[str]:
    """Sweep: run ``expire(actor, id, reason=...)`` on every row of ``model`` in ``tenant_id``
    whose state allows ``expire_action`` and whose ``valid_until`` is at or before ``now``.
    Each expiry is its own transaction; a row changed concurrently is left for the next sweep.
    Returns the ids expired."""
    sources = machine.rules[expire_action].sources
    async with db.session() as session:
        statement = select(model.id).where(
            model.tenant_id == tenant_id, col(model.state).in_(sources),
            col(model.valid_until).is_not(None), col(model.valid_until) <= now)
        due = list((await session.exec(statement)).all())
    expired = []
    for row_id in due:
        try:
            await expire(Actor.system(tenant_id), row_id, reason=reason)
        except ConcurrentUpdate:
            continue
        expired.append(row_id)
    return expired


async def flush_unique(session: AsyncSession, conflict: Conflict) -> None:
    """Flush rows the caller checked were new; raise ``conflict`` (409) if a concurrent
    request wrote the same key between the check and this flush (the unique constraint or
    primary key refuses it). The exception rolls back the caller's transaction: nothing is
    written."""
    try:
        await session.flush()
    except IntegrityError:
        # Only the key can collide: the other constraints are foreign keys to rows the caller
        # just read and values it checked.
        raise conflict from None
