import pytest
from hypothesis import given, strategies as st

from catalog import types as C
from catalog.evolution import plan_evolution
from catalog.schema import Column
from lakeward.errors import SchemaEvolutionError

pytestmark = pytest.mark.unit

primitives = st.sampled_from([C.Primitive(n) for n in C.PRIMITIVES])
decimals = st.builds(lambda p, s: C.Decimal(p, min(s, p)), st.integers(1, 38), st.integers(0, 10))
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
types = st.recursive(
    primitives | decimals,
    lambda inner: st.builds(C.Array, inner)
    | st.builds(C.Map, primitives, inner)
    | st.lists(st.tuples(names, inner), min_size=1, max_size=4, unique_by=lambda f: f[0]).map(
        lambda fs: C.Struct(tuple(C.Field(n, t) for n, t in fs))),
    max_leaves=8)


@given(types)
def test_hive_text_round_trips(t):
    assert C.parse_hive(C.to_hive(t)) == t


@pytest.mark.parametrize("text", ["struct<a:int", "varchar<3>", "interval", "array<int>>"])
def test_bad_type_text_is_a_clear_error(text):
    with pytest.raises(SchemaEvolutionError, match="catalog type|unsupported"):
        C.parse_hive(text)


@pytest.mark.parametrize("a, b, expected", [
    (C.INT, C.BIGINT, C.BIGINT),
    (C.BIGINT, C.DOUBLE, C.DOUBLE),
    (C.FLOAT, C.DOUBLE, C.DOUBLE),
    (C.INT, C.FLOAT, C.DOUBLE),
    (C.DATE, C.TIMESTAMP, C.TIMESTAMP),
    (C.Decimal(10, 2), C.Decimal(12, 4), C.Decimal(12, 4)),
    (C.INT, C.Decimal(5, 2), C.Decimal(12, 2)),
    (C.STRING, C.BIGINT, None),
    (C.Decimal(10, 2), C.DOUBLE, None),
    (C.Array(C.INT), C.Array(C.BIGINT), C.Array(C.BIGINT)),
])
def test_widening_lattice(a, b, expected):
    assert C.widen(a, b) == expected
    assert C.widen(b, a) == expected


def test_struct_widening_adds_fields_and_widens_common_ones():
    old = C.Struct((C.Field("a", C.INT), C.Field("b", C.STRING)))
    new = C.Struct((C.Field("a", C.BIGINT), C.Field("c", C.DATE)))
    assert C.widen(old, new) == C.Struct((C.Field("a", C.BIGINT), C.Field("b", C.STRING), C.Field("c", C.DATE)))


@given(types, types)
def test_widening_never_narrows(a, b):
    merged = C.widen(a, b)
    if merged is not None:
        assert C.widen(merged, a) == merged
        assert C.widen(merged, b) == merged


@given(types, types)
def test_unify_agrees_with_widen_and_falls_back_only_when_it_must(a, b):
    assert C.unify(a, a) == a
    widened = C.widen(a, b)
    if widened is not None:
        assert C.unify(a, b) == widened


@pytest.mark.parametrize("old, new, parquet, delta", [
    (C.INT, C.BIGINT, C.BIGINT, None),
    (C.FLOAT, C.DOUBLE, C.DOUBLE, None),
    (C.BIGINT, C.DOUBLE, None, None),  # Athena cannot read INT64 files as double
    (C.DATE, C.TIMESTAMP, None, None),
    (C.Decimal(10, 2), C.Decimal(12, 2), None, None),
    (C.Struct((C.Field("a", C.INT),)), C.Struct((C.Field("a", C.INT), C.Field("b", C.STRING))),
     C.Struct((C.Field("a", C.INT), C.Field("b", C.STRING))), C.Struct((C.Field("a", C.INT), C.Field("b", C.STRING)))),
])
def test_table_formats_allow_only_what_their_readers_read(old, new, parquet, delta):
    assert C.widen(old, new, "parquet") == parquet
    assert C.widen(old, new, "none") == delta


def test_evolution_adds_widens_and_reports_conflicts_without_narrowing():
    table = (Column("id", C.STRING), Column("amount", C.BIGINT), Column("qty", C.INT), Column("f", C.FLOAT))
    batch = [Column("amount", C.DOUBLE), Column("qty", C.BIGINT), Column("f", C.DOUBLE), Column("id", C.INT),
             Column("coupon", C.STRING)]
    plan = plan_evolution(table, batch, promote="parquet", widening="quarantine")
    assert [(c.name, C.to_hive(c.type)) for c in plan.columns] == [
        ("id", "string"), ("amount", "bigint"), ("qty", "bigint"), ("f", "double"), ("coupon", "string")]
    assert [c.describe() for c in plan.changes] == [
        "widened qty int -> bigint", "widened f float -> double", "added column coupon string"]
    assert [(c.column, c.table_type, c.batch_type) for c in plan.conflicts] == [
        ("amount", "bigint", "double"), ("id", "string", "int")]
    rewritten = plan_evolution(table, batch, promote="parquet")  # widen auto or rewrite: the files follow
    assert [c.describe() for c in rewritten.changes][0] == "widened amount bigint -> double"
    assert [(r.column, r.per_partition) for r in rewritten.rewrites] == [("amount", True)]
    assert [c.column for c in rewritten.conflicts] == ["id"]  # no type holds both a string and an int


def test_delta_evolution_is_additive():
    table = (Column("s", C.Struct((C.Field("x", C.INT),))), Column("n", C.INT))
    batch = [Column("s", C.Struct((C.Field("x", C.INT), C.Field("y", C.DATE)))), Column("n", C.BIGINT)]
    plan = plan_evolution(table, batch, promote="none", widening="quarantine")
    assert [c.describe() for c in plan.changes] == [
        "added nested fields to s: struct<x:int> -> struct<x:int,y:date>"]
    assert [c.column for c in plan.conflicts] == ["n"]
    rewritten = plan_evolution(table, batch, promote="none")  # Delta: every file is rewritten
    assert [(r.column, r.new_type, r.per_partition) for r in rewritten.rewrites] == [("n", "bigint", False)]


def test_athena_casts_a_partition_to_a_wider_numeric_table_type_only():
    assert C.partition_coercible(C.BIGINT, C.DOUBLE) and C.partition_coercible(C.INT, C.Decimal(12, 2))
    assert C.partition_coercible(C.Decimal(10, 2), C.Decimal(20, 4)) and C.partition_coercible(C.FLOAT, C.DOUBLE)
    assert not C.partition_coercible(C.DATE, C.TIMESTAMP) and not C.partition_coercible(C.DOUBLE, C.BIGINT)
    nested = C.Struct((C.Field("a", C.BIGINT),))
    assert C.partition_coercible(nested, C.Struct((C.Field("a", C.DOUBLE), C.Field("b", C.STRING))))
    assert not C.partition_coercible(C.Array(C.STRING), C.Array(C.BIGINT))


def test_evolution_with_nothing_new_changes_nothing():
    table = (Column("id", C.BIGINT),)
    plan = plan_evolution(table, [Column("id", C.INT)])
    assert not plan.changed and plan.columns == table


def test_freeze_changes_nothing_and_names_what_does_not_fit():
    table = (Column("id", C.BIGINT), Column("s", C.Struct((C.Field("x", C.INT),))))
    batch = [Column("id", C.INT), Column("s", C.Struct((C.Field("x", C.INT), C.Field("y", C.INT)))),
             Column("extra", C.STRING)]
    plan = plan_evolution(table, batch, mode="freeze")
    assert plan.columns == table and not plan.changes
    assert plan.unknown == ["extra"]
    assert [c.column for c in plan.conflicts] == ["s"]  # a new nested field does not fit a frozen struct


def test_rescue_adds_its_column_once():
    table = (Column("id", C.BIGINT),)
    plan = plan_evolution(table, [Column("id", C.STRING), Column("x", C.INT)], mode="rescue")
    assert [c.name for c in plan.columns] == ["id", "_rescued_data"]
    assert [c.describe() for c in plan.changes] == ["added column _rescued_data string"]
    assert plan.unknown == ["x"] and [c.column for c in plan.conflicts] == ["id"]
    again = plan_evolution(plan.columns, [Column("id", C.BIGINT)], mode="rescue")
    assert not again.changes and not again.conflicts


@given(st.lists(st.tuples(names, types), min_size=1, max_size=5, unique_by=lambda c: c[0]),
       st.lists(st.lists(st.tuples(names, types), max_size=5, unique_by=lambda c: c[0]), max_size=4))
def test_evolution_is_monotone_a_type_never_narrows(first, batches):
    table = plan_evolution(None, [Column(n, t) for n, t in first]).columns
    for batch in batches:
        after = plan_evolution(table, [Column(n, t) for n, t in batch], promote="parquet").columns
        before = {c.name: c.type for c in table}
        for column in after:
            if column.name in before:
                assert C.widen(before[column.name], column.type, "parquet") == column.type
        assert [c.name for c in after][:len(table)] == [c.name for c in table]
        table = after


@given(st.lists(st.lists(st.tuples(names, st.sampled_from([C.INT, C.BIGINT, C.FLOAT, C.DOUBLE, C.DATE, C.TIMESTAMP])),
                         min_size=1, max_size=4, unique_by=lambda c: c[0]), min_size=2, max_size=4), st.randoms())
def test_batches_in_any_order_converge_to_the_same_schema_on_the_full_lattice(batches, rng):
    def final(order):
        table = None
        for batch in order:
            table = plan_evolution(table, [Column(n, t) for n, t in batch], promote="all").columns
        return {c.name: c.type for c in table}

    shuffled = list(batches)
    rng.shuffle(shuffled)
    first, second = final(batches), final(shuffled)
    # Only pairs with no common supertype (date with a number) may settle by arrival order.
    comparable = {n for n in first if all(C.widen(a, b) is not None for batch in batches for m, a in batch
                                          if m == n for other in batches for k, b in other if k == n)}
    assert set(first) == set(second)
    assert {n: first[n] for n in comparable} == {n: second[n] for n in comparable}


def test_a_narrower_batch_type_never_rewrites_a_table():
    # an int arriving in a Delta bigint column is cast (losslessly), not a reason to rewrite every file
    plan = plan_evolution((Column("n", C.BIGINT),), [Column("n", C.INT)], promote="none")
    assert plan.rewrites == [] and not plan.changes and [c.column for c in plan.conflicts] == ["n"]
    plan = plan_evolution((Column("x", C.DOUBLE),), [Column("x", C.BIGINT)], promote="parquet")
    assert plan.rewrites == [] and not plan.changes
