"""Spot checks that an encrypted aggregate is the sum of committed inputs.

A committee member must not release a decryption share for an aggregate that is not the
sum of the round's committed updates, above all for one participant's update presented
as a sum. Recomputing the sum means receiving every input: 10 updates of 1M values are
78 MB per member per round. Instead:

1. Each participant commits to a Merkle root over its encrypted vector (``vector_root``),
   signed into its round commitment before the aggregate exists.
2. The aggregator fixes the aggregate by its vector root; the member only then draws its
   leaves (``draw_challenge``): one at random in every polynomial (each mask and each
   chunk's body), and ``s`` more anywhere, so the aggregator cannot know them when it
   fixes the aggregate.
3. The aggregator sends the aggregate (the member needs it for its share) and opens
   those leaves of every input with their Merkle paths (``VectorTree.open``); the member
   checks that the aggregate has the fixed root, each path against the signed root, and
   that the aggregate's leaf is the sum of the inputs' leaves modulo ``q`` (``is_sum``).
   Ciphertext addition is exact, coefficient by coefficient.

A leaf is 64 coefficients (480 bytes), 64 leaves per polynomial of 4096 coefficients, so
an opening costs one leaf plus ``ceil(log2 L)`` hashes for ``L`` leaves: 928 bytes per
input at 1M values (253 polynomials: 245 bodies and 8 masks). What each member catches:

- Any polynomial of the aggregate replaced, by one participant's (a body: its 4096
  values) or anything else: always, by the leaf drawn in that polynomial. A replaced
  polynomial differs in every leaf unless the other inputs sum to zero modulo ``q`` on
  all 64 coefficients of a leaf (probability ``q^-64``). So is one update passed off as
  the sum.
- ``m`` falsified leaves of the ``L``, within polynomials: missed by the ``s`` extra
  draws with probability ``C(L - m, s) / C(L, s) <= (1 - m / L)^s``
  (``miss_probability``), not counting the per-polynomial draws.

The aggregator sees every member's leaves before it names the ``t`` members that
decrypt, so it can pick members whose leaves missed: a partial falsification passes if
at least ``t`` of the ``n`` members would accept, not only if ``t`` given ones do. That
is why every member covers every polynomial.

The Merkle tree is RFC 6962's hashing (``0x00`` before a leaf, ``0x01`` before two child
hashes) with an odd last node carried up a level unchanged. The engine builds it (on
every core, with the range check of every coefficient); the Python Merkle libraries hash
and prove per call in pure Python with no batch build and carry their own proof formats,
and a path check is a dozen lines (``opens_to``).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb

import numpy as np

from .engine import call, parameters
from .errors import MalformedMessageError
from .wire import DIGEST, HEADER_BYTES, KIND_CIPHERTEXT, is_kind

# The engine's encrypted-vector message (native/threshold_ckks/vector.go, packing.go):
# the header (``wire``, digest of the public key), the number of values (u64), the number
# of 4096-value chunks (u32), then its polynomials, 4096 coefficients each packed at 60
# bits little-endian: per group of ``lanes`` chunks (``engine.parameters()``), the group's
# mask and one body per chunk.
_BINDING = slice(DIGEST.start, HEADER_BYTES + 8)  # key digest and value count
_HEADER_BYTES = HEADER_BYTES + 8 + 4
COEFF_BITS = 60
POLY_COEFFS = 4096
POLY_BYTES = POLY_COEFFS * COEFF_BITS // 8
LEAF_COEFFS = 64
LEAF_BYTES = LEAF_COEFFS * COEFF_BITS // 8
DEFAULT_SAMPLES = 64
POLY_LEAVES = POLY_BYTES // LEAF_BYTES
POLY_LEVEL = POLY_LEAVES.bit_length() - 1  # a polynomial's 64 leaves hash to one node

ROOT_DOMAIN = b"fl-app/threshold-vector-root/v1"
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


@dataclass(frozen=True)
class Opening:
    """One leaf of a committed vector and its Merkle path.

    Attributes
    ----------
    index : int
        Leaf position.
    leaf : bytes
        The leaf's packed coefficients.
    path : tuple[bytes, ...]
        Sibling hashes from the leaf up (levels where the node was carried up have none).
    """

    index: int
    leaf: bytes
    path: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """``index (u32) || leaf || path``, for a message record."""
        return _opening_bytes(self.index, self.leaf, self.path)

    @classmethod
    def from_bytes(cls, data: bytes) -> Opening:
        """Parse what ``to_bytes`` wrote."""
        index, leaf, path = _parse_opening(data, LEAF_BYTES, "a leaf")
        return cls(index=index, leaf=leaf, path=path)


@dataclass(frozen=True)
class PolyOpening:
    """One whole polynomial of a committed vector and the Merkle path above its leaves.

    A polynomial is 64 aligned leaves, so their hashes make one node of the tree, from
    which the path goes up as a leaf's does.
    """

    index: int
    poly: bytes
    path: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """``index (u32) || polynomial || path``, for a message record."""
        return _opening_bytes(self.index, self.poly, self.path)

    @classmethod
    def from_bytes(cls, data: bytes) -> PolyOpening:
        """Parse what ``to_bytes`` wrote."""
        index, poly, path = _parse_opening(data, POLY_BYTES, "a polynomial")
        return cls(index=index, poly=poly, path=path)


def _opening_bytes(index: int, opened: bytes, path: tuple[bytes, ...]) -> bytes:
    return struct.pack("<I", index) + opened + b"".join(path)


def _parse_opening(data: bytes, size: int, what: str) -> tuple[int, bytes, tuple[bytes, ...]]:
    """Index, opened bytes and path of an opening of ``size`` bytes."""
    if len(data) < 4 + size or (len(data) - 4 - size) % 32:
        raise MalformedMessageError(f"opening: not {what} and a path of 32-byte hashes")
    (index,) = struct.unpack_from("<I", data)
    rest = data[4 + size :]
    return index, data[4 : 4 + size], tuple(rest[i : i + 32] for i in range(0, len(rest), 32))


def poly_count(num_values: int) -> int:
    """Polynomials of an encrypted vector of ``num_values`` values: bodies and masks."""
    chunks = max(-(-num_values // POLY_COEFFS), 1)
    return chunks + -(-chunks // int(parameters()["lanes"]))


def split_vector(vector: bytes) -> tuple[bytes, memoryview]:
    """The binding (key digest, value count) and the packed coefficients of a vector.

    Raises ``MalformedMessageError`` if it is not an encrypted vector of the engine or
    its size does not match its value count.
    """
    if len(vector) < _HEADER_BYTES or not is_kind(vector, KIND_CIPHERTEXT):
        raise MalformedMessageError("not an encrypted vector of the threshold engine")
    (num_values,) = struct.unpack_from("<Q", vector, HEADER_BYTES)
    if len(vector) != _HEADER_BYTES + poly_count(num_values) * POLY_BYTES:
        raise MalformedMessageError(f"encrypted vector: wrong size for {num_values} values")
    return vector[_BINDING], memoryview(vector)[_HEADER_BYTES:]


def mask_positions(num_values: int) -> tuple[int, ...]:
    """Positions of the masks among a vector's polynomials: the first of each group."""
    lanes = int(parameters()["lanes"])
    return tuple(range(0, poly_count(num_values), lanes + 1))


def leaf_count(num_values: int) -> int:
    """Leaves of the tree over an encrypted vector of ``num_values`` values."""
    return poly_count(num_values) * POLY_BYTES // LEAF_BYTES


def _root(binding: bytes, tree_root: bytes) -> str:
    return hashlib.sha256(ROOT_DOMAIN + binding + tree_root).hexdigest()


class VectorTree:
    """The Merkle tree over one encrypted vector's coefficients.

    Participants build it for their commitment's root; the aggregator builds one per
    input to answer challenges. The engine parses the vector (every coefficient below
    ``q``) and hashes the levels on every core (``native/threshold_ckks/merkle.go``);
    ``opens_to`` verifies its openings here.

    Raises
    ------
    MalformedMessageError
        If ``vector`` is not an encrypted vector of the engine.
    """

    def __init__(self, vector: bytes) -> None:
        self.vector = vector
        self.binding, self._body = split_vector(vector)
        self.levels = call("vector_tree", [vector])
        self.num_leaves = len(self._body) // LEAF_BYTES
        self.root = _root(self.binding, self.levels[-1])

    def open(self, indices: Sequence[int]) -> tuple[Opening, ...]:
        """Openings of the given leaves. Raises ``MalformedMessageError`` if out of range."""
        return tuple(self._open(index) for index in indices)

    def open_poly(self, index: int) -> PolyOpening:
        """Opening of polynomial ``index`` whole. Raises ``MalformedMessageError`` if absent."""
        if not 0 <= index < self.num_leaves // POLY_LEAVES:
            raise MalformedMessageError(f"polynomial {index} is not in this vector")
        start = index * POLY_BYTES
        poly = bytes(self._body[start : start + POLY_BYTES])
        return PolyOpening(index=index, poly=poly, path=self._path(index, POLY_LEVEL))

    def leaves_at(self, indices: Sequence[int]) -> bytes:
        """The given leaves' packed coefficients, concatenated."""
        return b"".join(self._body[i * LEAF_BYTES : (i + 1) * LEAF_BYTES] for i in indices)

    def _open(self, index: int) -> Opening:
        if not 0 <= index < self.num_leaves:
            raise MalformedMessageError(f"leaf {index} is not in 0..{self.num_leaves - 1}")
        leaf = bytes(self._body[index * LEAF_BYTES : (index + 1) * LEAF_BYTES])
        return Opening(index=index, leaf=leaf, path=self._path(index, 0))

    def _path(self, at: int, level: int) -> tuple[bytes, ...]:
        """Sibling hashes from node ``at`` of ``level`` up to the root."""
        path = []
        for nodes in self.levels[level:-1]:
            sibling = at ^ 1
            if sibling * 32 < len(nodes):
                path.append(nodes[sibling * 32 : (sibling + 1) * 32])
            at //= 2
        return tuple(path)


def vector_root(vector: bytes) -> str:
    """Hex root a participant commits to for its encrypted vector."""
    return VectorTree(vector).root


def opens_to(root: str, binding: bytes, num_leaves: int, opening: Opening) -> bool:
    """True if ``opening`` is leaf ``opening.index`` of a vector committed as ``root``."""
    if not 0 <= opening.index < num_leaves or len(opening.leaf) != LEAF_BYTES:
        return False
    node = hashlib.sha256(_LEAF_PREFIX + opening.leaf).digest()
    return _climbs_to(root, binding, node, opening.index, num_leaves, opening.path)


def poly_opens_to(root: str, binding: bytes, num_leaves: int, opening: PolyOpening) -> bool:
    """True if ``opening`` is polynomial ``opening.index`` of a vector committed as ``root``."""
    polys = num_leaves // POLY_LEAVES
    if not 0 <= opening.index < polys or len(opening.poly) != POLY_BYTES:
        return False
    level = [
        hashlib.sha256(_LEAF_PREFIX + opening.poly[i : i + LEAF_BYTES]).digest()
        for i in range(0, POLY_BYTES, LEAF_BYTES)
    ]
    while len(level) > 1:
        level = [
            hashlib.sha256(_NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level), 2)
        ]
    return _climbs_to(root, binding, level[0], opening.index, polys, opening.path)


def _climbs_to(
    root: str, binding: bytes, node: bytes, at: int, width: int, siblings: Sequence[bytes]
) -> bool:
    """True if hashing ``node`` (position ``at`` of a level ``width`` wide) up ``siblings``
    gives ``root``."""
    path = iter(siblings)
    while width > 1:
        if at ^ 1 < width:
            sibling = next(path, None)
            if sibling is None:
                return False
            pair = (sibling, node) if at & 1 else (node, sibling)
            node = hashlib.sha256(_NODE_PREFIX + pair[0] + pair[1]).digest()
        at, width = at // 2, (width + 1) // 2
    return next(path, None) is None and secrets.compare_digest(_root(binding, node), root)


def draw_challenge(num_leaves: int, samples: int = DEFAULT_SAMPLES) -> tuple[int, ...]:
    """One leaf in every polynomial and ``samples`` more, from the system's randomness."""
    rng = secrets.SystemRandom()
    per_poly = POLY_BYTES // LEAF_BYTES
    chosen = {start + rng.randrange(per_poly) for start in range(0, num_leaves, per_poly)}
    chosen.update(rng.sample(range(num_leaves), min(samples, num_leaves)))
    return tuple(sorted(chosen))


def coefficients(leaves: bytes) -> np.ndarray:
    """The coefficients of one or more leaves (60-bit little-endian packing), as uint64."""
    pairs = np.frombuffer(leaves, dtype=np.uint8).reshape(-1, 15)
    padded = np.zeros((len(pairs), 16), dtype=np.uint8)
    padded[:, :15] = pairs
    words = padded.view("<u8")
    low, high = words[:, 0], words[:, 1]
    mask = np.uint64((1 << COEFF_BITS) - 1)
    first = low & mask
    second = ((low >> np.uint64(60)) | (high << np.uint64(4))) & mask
    return np.stack([first, second], axis=1).ravel()


def is_sum(aggregate_leaves: bytes, input_leaves: Sequence[bytes]) -> bool:
    """True if the aggregate's leaves are the sum of the inputs' leaves modulo ``q``.

    Each argument is the same leaves, concatenated. A coefficient at or above ``q`` is
    no ciphertext's: it fails the check.
    """
    q = np.uint64(int(parameters()["q"]))
    expected = coefficients(aggregate_leaves)
    total = np.zeros_like(expected)
    for leaves in input_leaves:
        values = coefficients(leaves)
        if values.shape != total.shape or (values >= q).any():
            return False
        total = (total + values) % q
    return bool(np.array_equal(total, expected))


def miss_probability(num_leaves: int, falsified: int, samples: int) -> float:
    """Chance that ``samples`` distinct random leaves all avoid ``falsified`` of them."""
    drawn = min(samples, num_leaves)
    return comb(num_leaves - falsified, drawn) / comb(num_leaves, drawn)
