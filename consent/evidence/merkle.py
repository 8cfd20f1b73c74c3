"""RFC 6962 Merkle trees: hashing, compact ranges, inclusion, consistency and batch proofs.

Pure standard library: the offline verifier imports this module.

Hashing (RFC 6962 §2.1, unchanged in RFC 9162 §2.1.1): ``leaf = SHA-256(0x00 || data)``,
``node = SHA-256(0x01 || left || right)``, empty tree ``SHA-256("")``. A tree of ``n`` leaves
splits at ``k``, the largest power of two strictly below ``n``; its shape depends only on ``n``.

A *range* ``(lo, hi)`` names the subtree over leaves ``[lo, hi)``. Every subtree of a tree is
either *perfect* (``2**level`` leaves starting at a multiple of ``2**level``, stored once and never
changed) or lies on the right edge; the hash of a right-edge subtree folds the perfect subtrees
that cover it (:func:`perfect_cover`). So provers fetch only perfect nodes: O(log n) per proof.

Proof generation returns the *ranges* whose hashes make the proof; the caller fetches them.
Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) literally.
A *batch inclusion proof* (:func:`batch_ranges`, :func:`root_from_batch`) proves many leaves
at once: the hashes of the maximal subtrees holding none of them, left to right. For one leaf it
is exactly the set of hashes of its RFC 9162 audit path.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Range = tuple[int, int]
Node = tuple[int, int]
"""A perfect subtree as ``(level, index)``: leaves ``[index * 2**level, (index+1) * 2**level)``."""


class ProofError(ValueError):
    """A proof is malformed or does not verify; the message says which."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash of ``data``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly less than ``size`` (``size >= 2``)."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_cover(lo: int, hi: int) -> list[Node]:
    """The perfect subtrees covering ``[lo, hi)`` left to right, as ``(level, index)``."""
    nodes: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo:
            level = min(level, (lo & -lo).bit_length() - 1)
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """Hash of a range from the hashes of its :func:`perfect_cover`."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(lo: int, hi: int, get: Callable[[int, int], bytes]) -> bytes:
    """Hash of subtree ``[lo, hi)`` from a lookup of perfect nodes ``get(level, index)``."""
    return fold([get(level, index) for level, index in perfect_cover(lo, hi)])


class CompactRange:
    """The perfect subtrees covering ``[0, size)``: all an appender needs (O(log n) hashes)."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != len(perfect_cover(0, size)):
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier nodes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return every perfect node it completes as ``(level, index, hash)``."""
        index, current, level = self.size, leaf, 0
        created = [(0, index, leaf)]
        while (index >> level) & 1:
            current = node_hash(self.hashes.pop(), current)
            level += 1
            created.append((level, index >> level, current))
        self.hashes.append(current)
        self.size += 1
        return created

    def root(self) -> bytes:
        """Root hash of the tree of ``size`` leaves."""
        return fold(self.hashes) if self.hashes else EMPTY_ROOT


def root_of(leaves: Sequence[bytes]) -> bytes:
    """Root hash of a tree of leaf hashes (for tests and small trees)."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Ranges of the audit path PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    lo, hi, path = 0, size, []
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    return path[::-1]


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """Ranges of PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1), deepest first."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    lo, hi, m, complete, proof = 0, new_size, old_size, True, []
    while True:
        if m == hi - lo:
            if not complete:
                proof.append((lo, hi))
            break
        k = split_point(hi - lo)
        if m <= k:
            proof.append((lo + k, hi))
            hi = lo + k
        else:
            proof.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    return proof[::-1]


def _check_hashes(*hashes: bytes) -> None:
    for value in hashes:
        if len(value) != HASH_SIZE:
            raise ProofError(f"a hash has {len(value)} bytes instead of {HASH_SIZE}")


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    """RFC 9162 §2.1.3.2; raise :class:`ProofError` unless ``leaf`` is at ``index``."""
    _check_hashes(leaf, root, *proof)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2; raise :class:`ProofError` unless the old tree prefixes the new."""
    _check_hashes(old_root, new_root, *proof)
    if not 0 <= old_size <= new_size:
        raise ProofError(f"tree size went from {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise ProofError("consistency proof must be empty for these sizes")
        if old_size == new_size and old_root != new_root:
            raise ProofError("same tree size, different root hashes")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError("consistency proof does not reproduce the old root hash")
    if sr != new_root:
        raise ProofError("consistency proof does not reproduce the new root hash")


def _check_indices(indices: Sequence[int], size: int) -> None:
    previous = -1
    for index in indices:
        if not previous < index < size:
            raise ProofError(f"leaf indices must be increasing and below {size}: {index}")
        previous = index


def batch_ranges(indices: Sequence[int], size: int) -> list[Range]:
    """Maximal subtrees of a ``size``-leaf tree holding none of ``indices``, left to right."""
    _check_indices(indices, size)
    ranges: list[Range] = []

    def walk(lo: int, hi: int, i: int, j: int) -> None:
        if i == j:
            ranges.append((lo, hi))
        elif hi - lo > 1:
            k = split_point(hi - lo)
            mid = bisect_left(indices, lo + k, i, j)
            walk(lo, lo + k, i, mid)
            walk(lo + k, hi, mid, j)

    if size:
        walk(0, size, 0, len(indices))
    return ranges


def root_from_batch(indices: Sequence[int], leaves: Sequence[bytes], size: int,
                    nodes: Sequence[tuple[int, int, bytes]]) -> bytes:
    """Root of a ``size``-leaf tree from leaf hashes at ``indices`` and the batch ``nodes``.

    ``nodes`` are ``(lo, hi, hash)`` in the order of :func:`batch_ranges`; a missing, extra,
    misplaced or wrongly sized node raises :class:`ProofError`.
    """
    _check_indices(indices, size)
    if len(leaves) != len(indices):
        raise ProofError("one leaf hash per index is needed")
    _check_hashes(*leaves, *(node[2] for node in nodes))
    if size == 0:
        if nodes:
            raise ProofError("an empty tree has no batch nodes")
        return EMPTY_ROOT
    position = 0

    def walk(lo: int, hi: int, i: int, j: int) -> bytes:
        nonlocal position
        if i == j:
            if position >= len(nodes):
                raise ProofError(f"batch proof lacks the node for leaves [{lo}, {hi})")
            n_lo, n_hi, value = nodes[position]
            if (n_lo, n_hi) != (lo, hi):
                raise ProofError(f"batch proof has [{n_lo}, {n_hi}) where [{lo}, {hi}) belongs")
            position += 1
            return value
        if hi - lo == 1:
            return leaves[i]
        k = split_point(hi - lo)
        mid = bisect_left(indices, lo + k, i, j)
        return node_hash(walk(lo, lo + k, i, mid), walk(lo + k, hi, mid, j))

    root = walk(0, size, 0, len(indices))
    if position != len(nodes):
        raise ProofError(f"batch proof has {len(nodes) - position} node(s) too many")
    return root
