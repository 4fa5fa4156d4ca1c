"""Distinct-count sketch for the "distinct customers" of an aggregate bucket.

Every bucket keeps one sketch, rewritten to RocksDB and to the Kafka changelog on each update,
so it has to stay small, serialize cheaply and merge (hour -> day -> range queries) without
the raw customer references.

- Sparse mode: a sorted ``array('Q')`` of 64-bit hashes, up to ``SPARSE_LIMIT`` (128). Most
  buckets (an hour of one store) stay here, so their count is exact (barring 64-bit hash
  collisions), and sorted machine words serialize with a single copy.
- Dense mode: past the limit, a HyperLogLog with ``p = 11``: 2048 one-byte registers, a
  standard error of about 1.04 / sqrt(2048) ~ 2.3%, in a fixed 2 KiB however many customers.
  The estimate is the standard HLL one with the linear-counting correction for small ranges;
  64-bit hashes never saturate, so no large-range correction. Since a dense sketch has seen
  more than ``SPARSE_LIMIT`` hashes, its estimate is never reported below that.
- Merge: sparse + sparse stays sparse while the union fits; anything with dense is dense
  (register-wise max). Sparse hashes are the very hashes HLL would have seen, so converting
  loses nothing: the result depends only on the set of hashes, never on the order of adds or
  merges, and so do the bytes.

Bytes (the tag byte doubles as the format version):

- empty: ``b""``;
- sparse: ``0x01`` + the hashes, ascending, as little-endian uint64 (at most 1025 bytes);
- dense: ``0x02`` + the 2048 registers (2049 bytes).

``from_bytes`` rejects anything ``to_bytes`` cannot produce with ``ValueError``: a corrupt
record would otherwise break the sorted-set invariant or the register range silently.
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left
from hashlib import blake2b
from itertools import islice
from operator import lt

SPARSE_LIMIT = 128
PRECISION = 11
REGISTERS = 1 << PRECISION
HASH_BITS = 64
MAX_HASH = (1 << HASH_BITS) - 1

_SPARSE_TAG = 0x01
_DENSE_TAG = 0x02
_SPARSE_PREFIX = bytes((_SPARSE_TAG,))
_DENSE_PREFIX = bytes((_DENSE_TAG,))

# The top PRECISION bits pick the register, the rest give the rank (position of the first
# 1 bit, 1-based), so a register never exceeds _RANK_BITS + 1 = 54.
_RANK_BITS = HASH_BITS - PRECISION
_RANK_MASK = (1 << _RANK_BITS) - 1
_MAX_RANK = _RANK_BITS + 1
_RANKS = bytes(range(_MAX_RANK + 1))

_ALPHA = 0.7213 / (1 + 1.079 / REGISTERS)
_LINEAR_COUNTING_LIMIT = 2.5 * REGISTERS

# Registers fit in 7 bits, so two register files can be compared as big integers with eight
# bit lanes (see _max_registers): one bytes->int->bytes round trip instead of 2048 max() calls.
_LANE_HIGH_BITS = int.from_bytes(b"\x80" * REGISTERS, "little")

# The wire format is little-endian whatever the host; array('Q') is native.
_SWAP = sys.byteorder != "little"
if array("Q").itemsize != 8:  # pragma: no cover - every supported platform has 8
    raise ImportError("tables.sketch needs array('Q') to hold 64-bit words")


def customer_hash(value: str) -> int:
    """The 64-bit hash a sketch keeps for ``value``: stable across processes and versions."""
    return int.from_bytes(blake2b(value.encode(), digest_size=8).digest(), "little")


class DistinctSketch:
    """Distinct count: exact up to ``SPARSE_LIMIT`` values, HyperLogLog (~2.3%) beyond."""

    __slots__ = ("_hashes", "_registers")

    def __init__(self) -> None:
        # Exactly one of the two is in use: _registers is None in sparse mode, and _hashes
        # is emptied when the sketch turns dense.
        self._hashes: array[int] = array("Q")
        self._registers: bytearray | None = None

    @property
    def exact(self) -> bool:
        """Whether ``estimate()`` is the exact distinct count (sparse mode)."""
        return self._registers is None

    def add(self, value: str) -> None:
        # customer_hash inlined: one call less per sale line.
        self._add(int.from_bytes(blake2b(value.encode(), digest_size=8).digest(), "little"))

    def add_hash(self, h: int) -> None:
        """Add an already hashed value (``customer_hash``); must fit in 64 unsigned bits."""
        if not 0 <= h <= MAX_HASH:
            raise ValueError(f"hash out of the 64-bit range: {h}")
        self._add(h)

    def _add(self, h: int) -> None:
        registers = self._registers
        if registers is None:
            hashes = self._hashes
            # Bisecting the array boxes a few ints per add; a list would avoid that but cost
            # a conversion on every to_bytes/from_bytes, which run as often as adds.
            at = bisect_left(hashes, h)
            if at < len(hashes) and hashes[at] == h:
                return
            if len(hashes) < SPARSE_LIMIT:
                hashes.insert(at, h)
                return
            registers = self._densify()
        rank = _MAX_RANK - (h & _RANK_MASK).bit_length()
        index = h >> _RANK_BITS
        if rank > registers[index]:
            registers[index] = rank

    def _densify(self) -> bytearray:
        registers = bytearray(REGISTERS)
        _fill(registers, self._hashes)
        self._hashes = array("Q")
        self._registers = registers
        return registers

    def merge(self, other: DistinctSketch) -> None:
        """Make this sketch the union of itself and ``other`` (left unchanged)."""
        mine = self._registers
        theirs = other._registers
        if theirs is not None:
            if mine is None:
                # Copy: the two sketches must not share a mutable register file.
                registers = bytearray(theirs)
                _fill(registers, self._hashes)
                self._hashes = array("Q")
                self._registers = registers
            else:
                self._registers = _max_registers(mine, theirs)
        elif mine is not None:
            _fill(mine, other._hashes)
        elif not self._hashes:
            # The common case when day and month buckets are built from a batch's hours.
            self._hashes = array("Q", other._hashes)
        elif other._hashes:
            union = set(self._hashes)
            union.update(other._hashes)
            if len(union) <= SPARSE_LIMIT:
                if len(union) != len(self._hashes):
                    self._hashes = array("Q", sorted(union))
            else:
                self._hashes = array("Q")
                self._registers = registers = bytearray(REGISTERS)
                _fill(registers, union)

    def estimate(self) -> int:
        registers = self._registers
        if registers is None:
            return len(self._hashes)
        # Histogram of register values, in a fixed order so the float sum is deterministic.
        inverse_sum = 0.0
        seen = 0
        for rank in range(_MAX_RANK + 1):
            count = registers.count(rank)
            if count:
                inverse_sum += math.ldexp(count, -rank)
                seen += count
                if seen == REGISTERS:
                    break
        estimate = _ALPHA * REGISTERS * REGISTERS / inverse_sum
        if estimate <= _LINEAR_COUNTING_LIMIT:
            zeros = registers.count(0)
            if zeros:
                estimate = REGISTERS * math.log(REGISTERS / zeros)
        return max(round(estimate), SPARSE_LIMIT + 1)

    def to_bytes(self) -> bytes:
        registers = self._registers
        if registers is not None:
            return _DENSE_PREFIX + registers
        hashes = self._hashes
        if not hashes:
            return b""
        if _SWAP:  # pragma: no cover - big-endian hosts only
            hashes = array("Q", hashes)
            hashes.byteswap()
        return _SPARSE_PREFIX + hashes.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> DistinctSketch:
        sketch = cls()
        if not data:
            return sketch
        tag = data[0]
        body = memoryview(data)[1:]
        if tag == _SPARSE_TAG:
            if not body or len(body) % 8 or len(body) > 8 * SPARSE_LIMIT:
                raise ValueError(f"sparse sketch of {len(body)} bytes")
            hashes = sketch._hashes
            hashes.frombytes(body)
            if _SWAP:  # pragma: no cover - big-endian hosts only
                hashes.byteswap()
            # Strictly ascending: bisect relies on it, and it rules out duplicates. Comparing
            # a list is faster than reading the array, which boxes a new int per access.
            listed = hashes.tolist()
            if not all(map(lt, listed, islice(listed, 1, None))):
                raise ValueError("sparse sketch hashes not strictly ascending")
        elif tag == _DENSE_TAG:
            if len(body) != REGISTERS:
                raise ValueError(f"dense sketch of {len(body)} register bytes")
            registers = bytearray(body)
            if registers.translate(None, _RANKS):
                raise ValueError(f"dense sketch register above {_MAX_RANK}")
            if not any(registers):
                raise ValueError("dense sketch with no register set")
            sketch._registers = registers
        else:
            raise ValueError(f"unknown sketch tag {tag:#04x}")
        return sketch

    def __repr__(self) -> str:
        mode = "sparse" if self._registers is None else "dense"
        return f"<DistinctSketch {mode} ~{self.estimate()}>"


def _fill(registers: bytearray, hashes: array[int] | set[int]) -> None:
    """Add ``hashes`` to a dense register file (the HLL half of ``_add``)."""
    for h in hashes:
        rank = _MAX_RANK - (h & _RANK_MASK).bit_length()
        index = h >> _RANK_BITS
        if rank > registers[index]:
            registers[index] = rank


def _max_registers(mine: bytearray, theirs: bytearray) -> bytearray:
    """Register-wise max of two register files, with 8-bit lanes in one big integer.

    Each register is below 0x80, so in ``(x | 0x80..) - y`` every lane holds
    ``x_i + 128 - y_i`` in 1..255: no borrow crosses lanes, and the lane's top bit says
    ``x_i >= y_i``. That bit, spread to the whole lane, selects x or y.
    """
    x = int.from_bytes(mine, "little")
    y = int.from_bytes(theirs, "little")
    x_wins = (((x | _LANE_HIGH_BITS) - y) & _LANE_HIGH_BITS) >> 7
    mask = (x_wins << 8) - x_wins
    return bytearray(((x & mask) | (y & ~mask)).to_bytes(REGISTERS, "little"))
