"""Columns shared by the append-only transition histories of consents and mandates.

Each accepted transition writes one event row in the same transaction as the state change
(consent/services/). Rows are never updated or deleted: :func:`forbid_changes` makes the ORM
refuse it, so a bug cannot rewrite history. Integer ids give the total order of events, even
when two share an instant.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Field, SQLModel

from consent.lifecycle import ActorRole
from consent.models.base import TenantScoped, enum_field, instant_field, ref_field


class Channel(StrEnum):
    """How the actor expressed the action (CDR Rule 9.3: record how withdrawal was asked)."""

    WEB = "web"  # the household portal or the admin pages
    API = "api"  # an HTTP API call (recipient, admin API)
    CLI = "cli"  # the passerelle command
    PAPER = "paper"  # a signed paper form entered by the operator (R15, today's path)
    PHONE = "phone"  # the contact centre (R7 still allows it, never as the only way)
    UPSTREAM = "upstream"  # the DSO told us (upstream authorisation state)
    SYSTEM = "system"  # Passerelle on its own (expiry, occupancy change)


class TransitionEvent(TenantScoped):
    """Who did what, from which state to which, when, how and why."""

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    actor_role: ActorRole = enum_field(ActorRole)
    actor_party_id: str | None = ref_field("party.id", nullable=True, index=False)
    actor_account_id: str | None = ref_field("account.id", nullable=True, index=False)
    channel: Channel = enum_field(Channel)
    reason: str = Field(default="", max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    version: int = Field(description="the object's version after this event")
    at: datetime = instant_field()


class AppendOnlyError(RuntimeError):
    """Raised when code tries to update or delete a history row."""


def forbid_changes(model: type[SQLModel]) -> None:
    """Make the ORM refuse updates and deletes of ``model`` rows."""

    def refuse(_mapper: Any, _connection: Any, target: Any) -> None:
        raise AppendOnlyError(f"{type(target).__name__} rows are append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)
