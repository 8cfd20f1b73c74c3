"""What an offline verification of a proof bundle says (:mod:`consent.evidence.verify`): the
problems found, each naming where and what, the facts it established and the bundle's story;
and what the auditor expects the bundle to be about. Pure dataclasses: the verifier's import
rules apply (standard library only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Problems listed one by one; beyond this, only counted (a broken bundle can have millions).
MAX_PROBLEMS = 200


@dataclass
class Report:
    """The outcome: problems (each names where and what), facts, and the bundle's story."""

    source: str
    problems: list[tuple[str, str]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    story: str = ""
    omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, where: str, what: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((where, what))
        else:
            self.omitted += 1

    def render(self) -> str:
        lines = [f"Bundle: {self.source}", *self.facts]
        if self.story:
            lines += ["", self.story.rstrip("\n"), ""]
        if self.ok:
            lines.append("RESULT: VALID - every signature, hash and proof checks, and no access "
                         "was served outside its consent.")
        else:
            total = len(self.problems) + self.omitted
            lines.append(f"RESULT: INVALID - {total} problem(s):")
            lines += [f"  - {where}: {what}" for where, what in self.problems]
            if self.omitted:
                lines.append(f"  ... and {self.omitted} more")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the auditor asked for; a bundle of anything else is refused."""

    consent_id: str | None = None
    household_id: str | None = None
    recipient_id: str | None = None
    tenant: str | None = None
