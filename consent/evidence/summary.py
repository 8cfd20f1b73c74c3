"""The human-readable story of a bundle: who consented to what, when, what was accessed under
it, when it ended, and whether anything was served outside it.

Pure (standard library): the exporter writes it as ``summary.txt`` and the offline verifier
prints the same story from what it verified, so both tell it with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from consent.evidence.canonical import format_instant
from consent.evidence.coverage import COMMUNITY_VIEW, AccessTally, ConsentTimeline
from consent.evidence.selection import Selection


def _day(text: str | None) -> str:
    return "-" if text is None else text[:19].replace("T", " ") + " UTC"


class Summary:
    """Accumulates accesses against the consents' records, then renders text."""

    def __init__(self, selection: Selection, records: Sequence[Mapping[str, Any]]) -> None:
        self.selection = selection
        self.consents: dict[str, list[Mapping[str, Any]]] = {}
        self.mandates: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            if record.get("type") == "consent":
                self.consents.setdefault(str(record["consent_id"]), []).append(record)
            else:
                self.mandates.setdefault(str(record.get("mandate_id")), []).append(record)
        self.timelines = {cid: ConsentTimeline(recs) for cid, recs in self.consents.items()}
        self.mandate_timelines = {mid: ConsentTimeline(recs)
                                  for mid, recs in self.mandates.items()}
        self.tallies: dict[str | None, AccessTally] = {}

    def access(self, index: int, consent_id: str | None,
               access: Mapping[str, Any] | None) -> str | None:
        """Count one access entry (``access`` ``None`` once pruned); return a violation."""
        tally = self.tallies.get(consent_id)
        if tally is None:
            tally = self.tallies[consent_id] = AccessTally()
        if access is None:
            tally.pruned += 1
            return None
        timeline = self.timelines.get(consent_id) if consent_id else None
        mandate_id = access.get("mandate_id")
        if consent_id is None and mandate_id:  # a read under a mandate (R10, R11)
            timeline = self.mandate_timelines.get(str(mandate_id))
        return tally.add(index, access, timeline)

    @property
    def outside_consent(self) -> int:
        return sum(t.outside for t in self.tallies.values())

    def render(self, *, origin: str, anchor_size: int, anchor_issued_at: datetime,
               exported_at: datetime, actor: str, entries: int, pruned: int,
               withheld: Sequence[Mapping[str, Any]]) -> str:
        lines = [
            "Passerelle proof bundle",
            f"Selection: {self.selection.describe()}",
            f"Exported {_day(format_instant(exported_at))} by {actor}",
            f"Evidence log {origin}: {entries} entries, proven against the checkpoint of "
            f"{anchor_size} entries signed {_day(format_instant(anchor_issued_at))}",
            "",
        ]
        for consent_id, records in self.consents.items():
            lines.extend(self._consent(consent_id, records))
        for mandate_id, records in self.mandates.items():
            lines.extend(self._mandate(mandate_id, records))
        orphan = self.tallies.get(None)
        if orphan is not None:
            lines.append(f"Accesses naming no consent: {orphan.denied} not served, "
                         f"{orphan.served} served.")
        outside = self.outside_consent
        lines.append("Outside consent: " + (
            "no access was served outside the consents shown above." if outside == 0 else
            f"{outside} access(es) were served outside their consent (see above)."))
        if pruned:
            lines.append(f"Pruned: {pruned} entries keep only their leaf (R17 retention); "
                         "their content was replaced by daily counts.")
        for document in withheld:
            lines.append(f"Document {document['id']} not included: {document['reason']}.")
        lines += ["", "Check this bundle offline: passerelle audit verify <bundle.zip>",
                  "Format: docs/evidence-format.md"]
        return "\n".join(lines) + "\n"

    def _consent(self, consent_id: str, records: list[Mapping[str, Any]]) -> list[str]:
        last = records[-1]
        recipient, scope = last["recipient"], last["scope"]
        lines = [
            f"Consent {consent_id}: household {last['household_id']} allows "
            f"{recipient['name']} ({recipient['id']}, {recipient['data_role']})",
            f"  purpose {last['purpose']}, legal basis {last['legal_basis']}; "
            f"points {', '.join(scope['points'])}; datasets {', '.join(scope['datasets'])}; "
            f"finest {scope.get('max_resolution') or 'any'}; history "
            f"{scope.get('history_days') or '-'} days"
            # Only community consents say it: the story of an older bundle stays the same.
            + (f"; only inside the aggregate of community {last.get('community_id')} (R4)"
               if last.get("view") == COMMUNITY_VIEW else ""),
        ]
        for record in records:
            actor, auth, notice = record["actor"], record.get("authentication"), record.get(
                "notice")
            how = f" authenticated by {auth['method']} as {auth['subject']}" if auth else ""
            shown = (f"; shown text {notice['version']} ({notice['language']}, sha256 "
                     f"{notice['sha256'][:12]}...)" if notice else "")
            reason = f"; reason: {record['reason']}" if record.get("reason") else ""
            lines.append(f"  {_day(record['at'])}  {record['action']} -> {record['state']} by "
                         f"{actor['role']} via {actor['channel']}{how}{shown}{reason}")
        periods = self.timelines[consent_id].periods
        lines.append("  active: " + ("never" if not periods else "; ".join(
            f"{_day(format_instant(p.start))} to {_day(format_instant(p.end))}"
            for p in periods)))
        tally = self.tallies.get(consent_id, AccessTally())
        by_dataset = ", ".join(f"{k} {v}" for k, v in sorted(tally.datasets.items()))
        lines.append(f"  accesses: {tally.served} served, {tally.denied} not served"
                     + (f", {tally.pruned} pruned" if tally.pruned else "")
                     + (f" (first {_day(tally.first)}, last {_day(tally.last)})"
                        if tally.first else "") + (f"; served by dataset: {by_dataset}"
                                                   if by_dataset else ""))
        lines.append("  outside this consent: " + ("none" if tally.outside == 0 else
                                                   f"{tally.outside}"))
        lines += [f"    entry {index}: {why}" for index, why in tally.examples]
        return [*lines, ""]

    def _mandate(self, mandate_id: str, records: list[Mapping[str, Any]]) -> list[str]:
        last = records[-1]
        lines = [f"Mandate {mandate_id}: {last['mandatary']['kind']} {last['mandatary']['id']} "
                 f"acts for household {last['household_id']} ({last['purpose']})"]
        lines += [f"  {_day(r['at'])}  {r['action']} -> {r['state']} by {r['actor']['role']}"
                  for r in records]
        return [*lines, ""]
