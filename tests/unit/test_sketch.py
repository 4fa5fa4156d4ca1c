"""The distinct-customers sketch: exact while sparse, within HLL error when dense, and its bytes
a function of the set of values alone (any order, any merge tree)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tables.sketch import (
    MAX_HASH,
    REGISTERS,
    SPARSE_LIMIT,
    DistinctSketch,
    customer_hash,
)

STANDARD_ERROR = 1.04 / REGISTERS**0.5
SETTINGS = settings(max_examples=60, deadline=None, database=None)
hashes_st = st.lists(st.integers(min_value=0, max_value=MAX_HASH), max_size=2 * SPARSE_LIMIT)


def sketch_of(values: list[str] | range | set[str]) -> DistinctSketch:
    sketch = DistinctSketch()
    for value in values:
        sketch.add(str(value))
    return sketch


def sketch_of_hashes(hashes: list[int] | set[int]) -> DistinctSketch:
    sketch = DistinctSketch()
    for h in hashes:
        sketch.add_hash(h)
    return sketch


def random_hashes(seed: int, count: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(64) for _ in range(count)]


def test_empty_sketch_counts_zero_and_serializes_to_nothing() -> None:
    sketch = DistinctSketch()
    assert sketch.estimate() == 0
    assert sketch.exact
    assert sketch.to_bytes() == b""
    assert DistinctSketch.from_bytes(b"").to_bytes() == b""


@pytest.mark.parametrize("count", [1, 2, 17, SPARSE_LIMIT - 1, SPARSE_LIMIT])
def test_small_sets_are_counted_exactly(count: int) -> None:
    sketch = sketch_of([f"customer-{i}" for i in range(count)])
    assert sketch.exact
    assert sketch.estimate() == count


def test_one_more_than_the_limit_turns_dense() -> None:
    sketch = sketch_of([f"customer-{i}" for i in range(SPARSE_LIMIT + 1)])
    assert not sketch.exact
    assert len(sketch.to_bytes()) == 1 + REGISTERS
    assert abs(sketch.estimate() - (SPARSE_LIMIT + 1)) <= 0.05 * (SPARSE_LIMIT + 1)


@pytest.mark.parametrize("count", [5, SPARSE_LIMIT, 1000])
def test_adding_again_changes_nothing(count: int) -> None:
    values = [f"c{i}" for i in range(count)]
    once = sketch_of(values)
    twice = sketch_of(values + values[::-1])
    assert twice.to_bytes() == once.to_bytes()
    assert twice.estimate() == once.estimate()


def test_add_is_add_hash_of_customer_hash() -> None:
    by_value = sketch_of(["a", "b", "ção"])
    by_hash = sketch_of_hashes([customer_hash(v) for v in ["a", "b", "ção"]])
    assert by_value.to_bytes() == by_hash.to_bytes()


def test_customer_hash_is_pinned() -> None:
    # Stored sketches hold these hashes: a change would split every customer in two.
    assert customer_hash("customer-1") == 0xBD56B69941AB3CF4
    assert 0 <= customer_hash("") <= MAX_HASH


@pytest.mark.parametrize("h", [-1, MAX_HASH + 1])
def test_add_hash_rejects_values_outside_64_bits(h: int) -> None:
    with pytest.raises(ValueError):
        DistinctSketch().add_hash(h)


@pytest.mark.parametrize("count", [3, SPARSE_LIMIT, 5000])
def test_bytes_do_not_depend_on_insertion_order(count: int) -> None:
    values = [f"customer-{i}" for i in range(count)]
    shuffled = values[:]
    random.Random(count).shuffle(shuffled)
    assert sketch_of(values).to_bytes() == sketch_of(shuffled).to_bytes()


def test_sparse_bytes_are_a_tag_and_ascending_little_endian_words() -> None:
    data = sketch_of_hashes([3, 1, 2**63]).to_bytes()
    assert data == b"\x01" + b"".join(h.to_bytes(8, "little") for h in [1, 3, 2**63])


@pytest.mark.parametrize("count", [0, 1, 50, SPARSE_LIMIT, SPARSE_LIMIT + 1, 20_000])
def test_round_trip(count: int) -> None:
    sketch = sketch_of_hashes(random_hashes(count, count))
    data = sketch.to_bytes()
    back = DistinctSketch.from_bytes(data)
    assert back.to_bytes() == data
    assert back.estimate() == sketch.estimate()
    assert back.exact == sketch.exact
    # The copy is independent and keeps working.
    back.add_hash(12345)
    assert sketch.to_bytes() == data


def test_from_bytes_accepts_any_bytes_like_object() -> None:
    data = sketch_of(["a", "b"]).to_bytes()
    assert DistinctSketch.from_bytes(bytearray(data)).to_bytes() == data
    assert DistinctSketch.from_bytes(memoryview(data)).to_bytes() == data


# (left size, right size, overlap): sparse/sparse fitting and overflowing, sparse/dense,
# dense/sparse and dense/dense.
MERGE_CASES = [
    (0, 0, 0),
    (0, 10, 0),
    (10, 0, 0),
    (40, 40, 20),
    (SPARSE_LIMIT, SPARSE_LIMIT, SPARSE_LIMIT),
    (100, 100, 50),
    (SPARSE_LIMIT, 1, 0),
    (30, 3000, 10),
    (3000, 30, 10),
    (3000, 5000, 1000),
]


@pytest.mark.parametrize(("left", "right", "overlap"), MERGE_CASES)
def test_merge_equals_the_sketch_of_the_union(left: int, right: int, overlap: int) -> None:
    pool = random_hashes(left * 7919 + right, left + right)
    left_hashes = pool[:left]
    right_hashes = pool[left - overlap : left - overlap + right]
    union = set(left_hashes) | set(right_hashes)
    expected = sketch_of_hashes(union).to_bytes()

    merged = sketch_of_hashes(left_hashes)
    other = sketch_of_hashes(right_hashes)
    other_before = other.to_bytes()
    merged.merge(other)
    assert merged.to_bytes() == expected
    assert other.to_bytes() == other_before
    if len(union) <= SPARSE_LIMIT:
        assert merged.exact
        assert merged.estimate() == len(union)
    # The merged sketch owns its state: changing it leaves the source alone.
    merged.add_hash(42)
    assert other.to_bytes() == other_before


def test_merge_with_itself_changes_nothing() -> None:
    for count in (5, 1000):
        sketch = sketch_of_hashes(random_hashes(count, count))
        before = sketch.to_bytes()
        sketch.merge(sketch)
        assert sketch.to_bytes() == before


def test_dense_merge_is_the_register_wise_max() -> None:
    rng = random.Random(7)
    for _ in range(20):
        left = bytes(rng.randint(0, 54) for _ in range(REGISTERS))
        right = bytes(rng.choice([0, 1, 53, 54, rng.randint(0, 54)]) for _ in range(REGISTERS))
        sketch = DistinctSketch.from_bytes(b"\x02" + left)
        sketch.merge(DistinctSketch.from_bytes(b"\x02" + right))
        assert sketch.to_bytes() == b"\x02" + bytes(map(max, left, right))


@pytest.mark.parametrize(("count", "seed"), [(10_000, 1), (10_000, 2), (100_000, 3)])
def test_dense_estimate_is_within_three_standard_errors(count: int, seed: int) -> None:
    sketch = sketch_of([f"{seed}-customer-{i}" for i in range(count)])
    assert not sketch.exact
    assert abs(sketch.estimate() / count - 1) <= 3 * STANDARD_ERROR


def test_linear_counting_range_is_accurate() -> None:
    for count in (200, 1000, 4000):
        estimate = sketch_of_hashes(random_hashes(count, count)).estimate()
        assert abs(estimate / count - 1) <= 3 * STANDARD_ERROR


def dense(registers: bytes) -> bytes:
    return b"\x02" + registers


MALFORMED = [
    b"\x00",
    b"\x03" + bytes(8),
    b"\xff",
    b"\x01",  # sparse with no hash: empty is b""
    b"\x01" + bytes(7),
    b"\x01" + bytes(9),
    b"\x01" + bytes(8 * (SPARSE_LIMIT + 1)),
    b"\x01" + (2).to_bytes(8, "little") + (1).to_bytes(8, "little"),  # descending
    b"\x01" + (5).to_bytes(8, "little") * 2,  # duplicate
    b"\x02",
    dense(bytes(REGISTERS - 1) + b"\x01")[:-1],
    dense(b"\x01" * (REGISTERS + 1)),
    dense(bytes(REGISTERS)),  # dense, yet nothing added
    dense(b"\x01" * (REGISTERS - 1) + b"\x37"),  # rank 55 cannot happen with 53 rank bits
    dense(b"\x80" * REGISTERS),
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(ValueError):
        DistinctSketch.from_bytes(data)


def test_largest_valid_registers_are_accepted() -> None:
    data = dense(b"\x36" * REGISTERS)
    assert DistinctSketch.from_bytes(data).to_bytes() == data


@SETTINGS
@given(hashes_st, hashes_st)
def test_merge_is_commutative(left: list[int], right: list[int]) -> None:
    one = sketch_of_hashes(left)
    one.merge(sketch_of_hashes(right))
    two = sketch_of_hashes(right)
    two.merge(sketch_of_hashes(left))
    assert one.to_bytes() == two.to_bytes()
    assert one.to_bytes() == sketch_of_hashes(left + right).to_bytes()


@SETTINGS
@given(hashes_st)
def test_estimate_is_exact_under_the_limit(hashes: list[int]) -> None:
    sketch = sketch_of_hashes(hashes)
    distinct = len(set(hashes))
    assert sketch.exact == (distinct <= SPARSE_LIMIT)
    if distinct <= SPARSE_LIMIT:
        assert sketch.estimate() == distinct
    assert DistinctSketch.from_bytes(sketch.to_bytes()).to_bytes() == sketch.to_bytes()
