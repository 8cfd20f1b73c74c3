"""C2SP signed notes and checkpoints.

The known-answer vector is the example of ``golang.org/x/mod/sumdb/note`` (note.go package
documentation, BSD-3-Clause), reproduced in C2SP-compatible implementations: Ed25519 signing is
deterministic (RFC 8032), so our note must match the published one byte for byte.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consent.evidence import notes
from consent.evidence.notes import Checkpoint, NoteError, NoteKey

GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = ("If you think cryptography is the answer to your problem,\n"
           "then you don't know what your problem is.\n")
GO_NOTE = (GO_TEXT + "\n\u2014 PeterNeumann "
           "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")


def go_private_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(GO_SIGNER.split("+", 4)[4])
    assert raw[0] == notes.ED25519
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_signing_reproduces_the_go_reference_note() -> None:
    private = go_private_key()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = NoteKey("PeterNeumann", public)
    assert key.verifier_key == GO_VERIFIER
    note = notes.assemble(GO_TEXT, [notes.signature_line(key, private.sign(GO_TEXT.encode()))])
    assert note == GO_NOTE


def test_opening_the_reference_note() -> None:
    key = NoteKey.parse(GO_VERIFIER)
    text, signers = notes.open_note(GO_NOTE, [key])
    assert text == GO_TEXT
    assert signers == [key]
    with pytest.raises(NoteError, match="does not verify"):
        notes.open_note(GO_NOTE.replace("cryptography", "cryptographY"), [key])


def test_unknown_keys_are_ignored_but_one_known_signature_is_required() -> None:
    other = Ed25519PrivateKey.generate()
    other_key = NoteKey("PeterNeumann", other.public_key().public_bytes(Encoding.Raw,
                                                                         PublicFormat.Raw))
    with pytest.raises(NoteError, match="not signed by any known key"):
        notes.open_note(GO_NOTE, [other_key])
    cosigned = GO_NOTE + notes.signature_line(other_key, other.sign(GO_TEXT.encode()))
    assert notes.open_note(cosigned, [NoteKey.parse(GO_VERIFIER)])[0] == GO_TEXT


@pytest.mark.parametrize("bad", [
    GO_VERIFIER.replace("c74f20a3", "c74f20a4"),
    "PeterNeumann+c74f20a3",
    GO_VERIFIER[:-2],
    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
])
def test_mangled_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        NoteKey.parse(bad)


@pytest.mark.parametrize("bad", [
    GO_TEXT,  # no signature block
    GO_NOTE.replace("\u2014", "-"),
    GO_NOTE.replace("x08go", "x08g\u00e9"),
    GO_NOTE.rstrip("\n"),
    "a\x07b\n\n" + GO_NOTE.split("\n\n")[1],
])
def test_malformed_notes_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        notes.open_note(bad, [NoteKey.parse(GO_VERIFIER)])


def test_checkpoint_text_round_trips() -> None:
    cp = Checkpoint("passerelle.example/log", 20852163, bytes(range(32)))
    assert cp.text() == ("passerelle.example/log\n20852163\n"
                         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
    assert Checkpoint.parse(cp.text()) == cp


@pytest.mark.parametrize("bad", [
    "origin\n012\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "origin\n12\nAAEC\n",
    "\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    "origin\n12\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nextension\n",
])
def test_malformed_checkpoints_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(bad)
