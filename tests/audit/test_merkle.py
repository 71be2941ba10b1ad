"""RFC 6962 hashing, roots, frontier, inclusion and consistency proofs."""

from __future__ import annotations

import pytest

from rapport.audit import merkle

# The certificate-transparency reference vector (RFC 6962 test data, 8 leaves).
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOT = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_the_reference_vector() -> None:
    hashes = [merkle.leaf_hash(bytes.fromhex(d)) for d in CT_LEAVES]
    assert merkle.root(hashes).hex() == CT_ROOT
    assert merkle.root([]).hex().startswith("e3b0c442")  # SHA-256 of nothing


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 32, 33])
def test_frontier_root_equals_the_full_root(n: int) -> None:
    frontier: list[bytes] = []
    for i, leaf in enumerate(leaves(n)):
        frontier = merkle.extend_frontier(frontier, i, leaf)
    assert merkle.frontier_root(frontier) == merkle.root(leaves(n))
    assert len(frontier) == bin(n).count("1")


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 20])
def test_inclusion_proofs_verify_and_reject(n: int) -> None:
    tree = leaves(n)
    top = merkle.root(tree)
    for i in range(n):
        proof = merkle.inclusion_proof(i, tree)
        assert merkle.verify_inclusion(i, n, tree[i], proof, top)
        assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"forged"), proof, top)
        if n > 1:
            assert not merkle.verify_inclusion((i + 1) % n, n, tree[i], proof, top)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 20])
def test_consistency_proofs_verify_and_reject(n: int) -> None:
    tree = leaves(n)
    for m in range(1, n + 1):
        proof = merkle.consistency_proof(m, tree)
        assert merkle.verify_consistency(m, n, merkle.root(tree[:m]), merkle.root(tree), proof)
        rewritten = [merkle.leaf_hash(b"x"), *tree[1:m]]
        if m < n:
            assert not merkle.verify_consistency(
                m, n, merkle.root(rewritten), merkle.root(tree), proof
            )
