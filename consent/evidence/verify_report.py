"""What an offline verification of a proof bundle says (:mod:`consent.evidence.verify`): the
problems found, each naming where and what, the facts it established and the bundle's story;
its verdict and exit code; and what the auditor expects the bundle to be about. Pure
dataclasses: the verifier's import rules apply (standard library only).

A problem is either an *integrity* failure (the bundle is forged, tampered with, malformed or
not the one asked for: nothing it says can be relied on) or a *compliance finding* (the bundle
is intact and shows an access served outside its consent). Whether the keys that signed it are
vouched for is separate: a bundle signed by keys nobody vouched for proves nothing, whoever
made it, so it has a verdict of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Problems listed one by one; beyond this, only counted (a broken bundle can have millions).
MAX_PROBLEMS = 200

#: Exit codes of ``passerelle audit verify`` (docs/evidence-format.md §10).
EXIT_VALID = 0
EXIT_INVALID = 1  # integrity: forged, tampered with, malformed or not the bundle asked for
EXIT_USAGE = 2  # bad arguments, an unreadable bundle path, --trusted-keys or --checkpoint file
EXIT_OUTSIDE_CONSENT = 3  # intact, and an access was served outside its consent
EXIT_UNTRUSTED_KEYS = 4  # intact, but signed by keys taken from the bundle itself

#: Where the keys that signed the bundle come from.
BUNDLE_KEYS = "bundle"  # keys.json alone: unverified
TRUSTED = "trusted"  # every key among the auditor's --trusted-keys
ACCEPTED = "accepted"  # keys.json taken as is on purpose (--accept-bundle-keys, tests only)


class UsageError(Exception):
    """A file named on the command line (the bundle, --trusted-keys, --checkpoint) cannot be
    used: nothing was judged (exit code :data:`EXIT_USAGE`)."""


@dataclass
class Report:
    """The outcome: problems (each names where and what), facts, and the bundle's story."""

    source: str
    problems: list[tuple[str, str]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    story: str = ""
    omitted: int = 0
    findings: int = 0  # how many of the problems (listed or omitted) are compliance findings
    keys: str = BUNDLE_KEYS

    @property
    def ok(self) -> bool:
        """No problem of either kind (whatever the keys)."""
        return not self.problems

    @property
    def intact(self) -> bool:
        """No integrity problem: every problem, if any, is a compliance finding."""
        return len(self.problems) + self.omitted == self.findings

    def fail(self, where: str, what: str) -> None:
        """An integrity problem."""
        self._add(where, what)

    def finding(self, where: str, what: str) -> None:
        """A compliance finding of an otherwise intact bundle."""
        self.findings += 1
        self._add(where, what)

    def _add(self, where: str, what: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((where, what))
        else:
            self.omitted += 1

    @property
    def exit_code(self) -> int:
        """Integrity first, then the keys (nothing is shown by keys nobody vouched for), then
        compliance."""
        if not self.intact:
            return EXIT_INVALID
        if self.keys == BUNDLE_KEYS:
            return EXIT_UNTRUSTED_KEYS
        return EXIT_OUTSIDE_CONSENT if self.findings else EXIT_VALID

    def render(self) -> str:
        lines = [f"Bundle: {self.source}", *self.facts]
        if self.story:
            lines += ["", self.story.rstrip("\n"), ""]
        code, total = self.exit_code, len(self.problems) + self.omitted
        if code == EXIT_INVALID:
            lines.append(f"RESULT: INVALID - {total} problem(s):")
        elif code == EXIT_UNTRUSTED_KEYS:
            lines.append("RESULT: UNVERIFIED KEYS - the bundle is consistent, but only with the "
                         "keys it carries itself: anyone can make such a bundle. Verify again "
                         "with --trusted-keys and the operator's published keys.json"
                         + (f"; it also shows {total} access(es) served outside consent:"
                            if total else "."))
        elif code == EXIT_OUTSIDE_CONSENT:
            lines.append(f"RESULT: OUTSIDE CONSENT - the bundle is intact and shows {total} "
                         "access(es) served outside consent:")
        else:
            lines.append("RESULT: VALID - every signature, hash and proof checks, and no access "
                         "was served outside its consent"
                         + (" (keys NOT verified: --accept-bundle-keys)." if self.keys == ACCEPTED
                            else "."))
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
