"""RFC 6962 hashing and proofs against published vectors, plus properties over many sizes.

Vectors are copied from transparency-dev/merkle (Apache-2.0), the reference Go implementation
used by Trillian and Tessera:

- ``rfc6962/rfc6962_test.go`` at commit 78493b07ef9b552e3379abf9e23d4da26fbe797c (hashes);
- ``proof/verify_test.go`` at commit 02194e9afb6c1d95b5381350007963aa70fff472 (leaves, roots,
  inclusion and consistency proofs of trees of up to 8 leaves).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.evidence import merkle
from consent.evidence.merkle import ProofError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# proof/verify_test.go: the leaves' data and the roots of the trees of 1..8 of them.
LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]
ROOTS = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
# (leaf number counted from 1, tree size, audit path)
INCLUSION = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
LEAF_HASHES = [merkle.leaf_hash(d) for d in LEAVES]


class Tree:
    """Proof generation over an in-memory list of leaf hashes, through the perfect-node lookup."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves

    def get(self, level: int, index: int) -> bytes:
        lo = index << level
        return merkle.root_of(self.leaves[lo: lo + (1 << level)])

    def hashes(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        return [merkle.range_hash(lo, hi, self.get) for lo, hi in ranges]


def test_rfc6962_hasher_vectors() -> None:
    # rfc6962/rfc6962_test.go
    assert merkle.EMPTY_ROOT.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert merkle.leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert merkle.leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    assert merkle.node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_reference(size: int) -> None:
    assert merkle.root_of(LEAF_HASHES[:size]) == ROOTS[size - 1]
    tree = Tree(LEAF_HASHES[:size])
    assert merkle.range_hash(0, size, tree.get) == ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_inclusion_vectors(leaf: int, size: int, path: list[str]) -> None:
    proof = [h(p) for p in path]
    tree = Tree(LEAF_HASHES[:size])
    assert tree.hashes(merkle.inclusion_ranges(leaf - 1, size)) == proof
    merkle.verify_inclusion(leaf - 1, size, LEAF_HASHES[leaf - 1], proof, ROOTS[size - 1])
    # One leaf's batch proof holds exactly the hashes of its audit path.
    ranges = merkle.batch_ranges([leaf - 1], size)
    assert sorted(tree.hashes(ranges)) == sorted(proof)


@pytest.mark.parametrize(("size1", "size2", "path"), CONSISTENCY)
def test_consistency_vectors(size1: int, size2: int, path: list[str]) -> None:
    proof = [h(p) for p in path]
    tree = Tree(LEAF_HASHES[:size2])
    assert tree.hashes(merkle.consistency_ranges(size1, size2)) == proof
    merkle.verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], proof)


def corruptions(proof: list[bytes], root: bytes) -> list[tuple[str, list[bytes]]]:
    """The proof manglings of transparency-dev's corruptInclusionProof/corruptConsistencyProof."""
    cases = [("trailing garbage", [*proof, b"\0" * 32]), ("trailing root", [*proof, root]),
             ("preceding root", [root, *proof])]
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[0] ^= 8
        cases.append((f"flip proof[{i}]", [*proof[:i], bytes(flipped), *proof[i + 1:]]))
    if proof:
        cases.append(("removed component", proof[:-1]))
    return cases


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION[1:])
def test_mangled_inclusion_proofs_fail(leaf: int, size: int, path: list[str]) -> None:
    proof, root, leaf_hash = [h(p) for p in path], ROOTS[size - 1], LEAF_HASHES[leaf - 1]
    for desc, bad in corruptions(proof, root):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(leaf - 1, size, leaf_hash, bad, root)
        assert desc
    for index, tree_size in ((leaf - 2, size), (leaf, size), ((leaf - 1) ^ 2, size),
                             (leaf - 1, size * 2), (leaf - 1, size // 2)):
        if 0 <= index < tree_size and (index, tree_size) != (leaf - 1, size):
            with pytest.raises(ProofError):
                merkle.verify_inclusion(index, tree_size, leaf_hash, proof, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaf - 1, size, merkle.leaf_hash(b"WrongLeaf"), proof, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaf - 1, size, leaf_hash, proof, merkle.EMPTY_ROOT)


@pytest.mark.parametrize(("size1", "size2", "path"), CONSISTENCY[1:])
def test_mangled_consistency_proofs_fail(size1: int, size2: int, path: list[str]) -> None:
    proof, root1, root2 = [h(p) for p in path], ROOTS[size1 - 1], ROOTS[size2 - 1]
    for _desc, bad in [*corruptions(proof, root2), ("empty", [])]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(size1, size2, root1, root2, bad)
    with pytest.raises(ProofError):
        merkle.verify_consistency(size1, size2, root2, root1, proof)
    for s1, s2 in ((size1 - 1, size2), (size1 + 1, size2), (size1, size2 * 2)):
        if 0 < s1 < s2 and (s1, s2) != (size1, size2):
            with pytest.raises(ProofError):
                merkle.verify_consistency(s1, s2, root1, root2, proof)


def test_trivial_consistency_cases() -> None:
    merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    merkle.verify_consistency(0, 3, merkle.EMPTY_ROOT, ROOTS[2], [])
    merkle.verify_consistency(4, 4, ROOTS[3], ROOTS[3], [])
    with pytest.raises(ProofError, match="same tree size"):
        merkle.verify_consistency(4, 4, ROOTS[3], ROOTS[2], [])
    with pytest.raises(ProofError, match="must be empty"):
        merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [merkle.EMPTY_ROOT])
    with pytest.raises(ProofError):
        merkle.verify_consistency(2, 1, ROOTS[1], ROOTS[0], [])


def leaves_of(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.data())
def test_every_generated_proof_verifies(size: int, data: st.DataObject) -> None:
    leaves = leaves_of(size)
    tree, root = Tree(leaves), merkle.root_of(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = tree.hashes(merkle.inclusion_ranges(index, size))
    merkle.verify_inclusion(index, size, leaves[index], proof, root)
    old = data.draw(st.integers(0, size))
    old_root = merkle.root_of(leaves[:old])
    merkle.verify_consistency(old, size, old_root, root,
                              tree.hashes(merkle.consistency_ranges(old, size)))
    chosen = sorted(data.draw(st.sets(st.integers(0, size - 1), max_size=size)))
    nodes = [(lo, hi, merkle.range_hash(lo, hi, tree.get))
             for lo, hi in merkle.batch_ranges(chosen, size)]
    assert merkle.root_from_batch(chosen, [leaves[i] for i in chosen], size, nodes) == root


def test_batch_proof_detects_a_missing_or_moved_leaf() -> None:
    leaves = leaves_of(13)
    tree = Tree(leaves)
    chosen = [2, 3, 7, 12]
    nodes = [(lo, hi, merkle.range_hash(lo, hi, tree.get))
             for lo, hi in merkle.batch_ranges(chosen, 13)]
    with pytest.raises(ProofError, match="belongs"):
        merkle.root_from_batch([2, 3, 12], [leaves[i] for i in (2, 3, 12)], 13, nodes)
    root = merkle.root_from_batch([2, 3, 7, 12], [leaves[i] for i in (2, 3, 12, 7)], 13, nodes)
    assert root != merkle.root_of(leaves)
    with pytest.raises(ProofError, match="increasing"):
        merkle.root_from_batch([3, 2], [leaves[3], leaves[2]], 13, nodes)


def test_compact_range_emits_every_perfect_node_once() -> None:
    compact, seen = merkle.CompactRange(), {}
    leaves = leaves_of(37)
    for leaf in leaves:
        for level, index, value in compact.append(leaf):
            assert (level, index) not in seen
            seen[(level, index)] = value
        assert compact.root() == merkle.root_of(leaves[: compact.size])
    tree = Tree(leaves)
    assert all(tree.get(level, index) == v for (level, index), v in seen.items())
    restored = merkle.CompactRange(37, [seen[n] for n in merkle.perfect_cover(0, 37)])
    restored.append(leaves[0])
    compact.append(leaves[0])
    assert restored.root() == compact.root()


def test_a_single_leaf_tree_is_its_leaf() -> None:
    data = b"data"
    leaf = merkle.leaf_hash(data)
    merkle.verify_inclusion(0, 1, leaf, [], leaf)
    assert hashlib.sha256(b"\x00data").digest() == leaf
    with pytest.raises(ProofError):
        merkle.verify_inclusion(0, 1, leaf, [], b"")
