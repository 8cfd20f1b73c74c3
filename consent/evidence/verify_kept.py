"""Checkpoints an auditor kept, held against a new bundle: ``passerelle audit verify bundle.zip
--trusted-keys keys.json --checkpoint kept/1042.note`` (docs/evidence-format.md §10 step 3,
§11). Pure: the offline verifier's import rules apply.

A bundle proves that its log only grew between each checkpoint it carries and its anchor. It
cannot prove that it is the log an auditor saw before: someone who can write to the database
without any key can rewrite entries and the tree, and the server then signs a checkpoint of a
size it had signed before with another root (a fork). Both checkpoints are genuine; only an
auditor holding the earlier one can see the two. So each kept checkpoint is

1. read as a C2SP signed note (c2sp.org/signed-note) whose text is a tlog checkpoint, signed by
   a key of the auditor's trusted history, in any period: the note carries no date, and the
   auditor kept it from a bundle they verified. A file that cannot be used so is a usage error
   (:class:`~consent.evidence.verify_report.UsageError`, exit 2), as for ``--trusted-keys``:
   nothing about the bundle was judged;
2. compared with the bundle's verified checkpoint of the same size (:func:`compare_kept`): the
   same root, or an integrity failure naming the fork. A kept checkpoint that cannot be judged
   fails closed too: of another origin, larger than the bundle's anchor (the bundle is older
   than what the auditor holds, a rollback if it is new) or of a size the bundle does not hold
   (export it again with ``--checkpoint-size``). Through the bundle's RFC 9162 consistency
   proofs, a match means the bundle's log extends the one the auditor kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from consent.evidence.canonical import b64encode
from consent.evidence.keys import KeyHistory
from consent.evidence.notes import Checkpoint, NoteError, open_note, split
from consent.evidence.verify_report import Report, UsageError

#: Largest kept note read: a bundle's own notes are bounded so (§10 step 0).
MAX_KEPT_NOTE = 64 << 10


@dataclass(frozen=True, slots=True)
class KeptCheckpoint:
    """A checkpoint the auditor kept, its note verified under their trusted keys."""

    source: str
    checkpoint: Checkpoint


def load_kept(path: Path, trusted: KeyHistory) -> KeptCheckpoint:
    """The checkpoint in the signed note at ``path``, verified with a key of ``trusted``
    (whatever its validity period); :class:`UsageError` if it cannot be used."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_KEPT_NOTE + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_KEPT_NOTE:
        raise UsageError(f"{path}: larger than {MAX_KEPT_NOTE} bytes, not a checkpoint note")
    try:
        note = data.decode()
        text, _signatures = split(note)
        checkpoint = Checkpoint.parse(text)
    except (UnicodeDecodeError, NoteError) as exc:
        raise UsageError(f"{path}: not a C2SP signed checkpoint like a bundle's "
                         f"checkpoints/<size>.note ({exc})") from None
    try:
        # The key name of a checkpoint's signature is its origin (docs/evidence-format.md §5).
        open_note(note, [key.note_key(checkpoint.origin) for key in trusted.keys])
    except NoteError as exc:
        raise UsageError(f"{path}: not signed by a key of --trusted-keys ({exc}); a checkpoint "
                         "kept from a bundle you verified is signed by one of them: pass the "
                         "key history that holds its key") from None
    return KeptCheckpoint(str(path), checkpoint)


def compare_kept(kept: Sequence[KeptCheckpoint], origin: str, anchor: Checkpoint,
                 held: Mapping[int, Checkpoint], report: Report) -> None:
    """Report each kept checkpoint that the bundle (log ``origin``, ``anchor``, verified
    checkpoints ``held`` by size) contradicts or cannot be judged by; state those it matches."""
    matched = []
    for item in kept:
        where, cp = f"--checkpoint {item.source}", item.checkpoint
        ours = held.get(cp.size)
        if cp.origin != origin:
            report.fail(where, f"a checkpoint of log {cp.origin}, while this bundle is of log "
                               f"{origin}: it cannot be judged by it; a log renamed since "
                               "you kept it is not the one you audited")
        elif cp.size > anchor.size:
            report.fail(where, f"of size {cp.size}, larger than this bundle's anchor "
                               f"({anchor.size}): the bundle is older than what you hold and "
                               "cannot be judged by it; if it was exported after you kept that "
                               "checkpoint, the log was rolled back. Ask for a new bundle with "
                               f"--checkpoint-size {cp.size}")
        elif ours is None:
            report.fail(where, f"this bundle holds no checkpoint of size {cp.size} to compare "
                               "it with, so it cannot be judged: export the bundle again with "
                               f"--checkpoint-size {cp.size}")
        elif ours.root != cp.root:
            report.fail(where, f"two checkpoints of size {cp.size} with different roots: the "
                               f"log was rewritten (a fork); you kept root {b64encode(cp.root)},"
                               f" this bundle's is {b64encode(ours.root)}")
        else:
            matched.append(cp.size)
    if matched:
        sizes = ", ".join(str(size) for size in sorted(set(matched)))
        report.facts.append(f"Kept checkpoints: size {sizes} equal to this bundle's, which "
                            "proves its log extends the one you kept")
