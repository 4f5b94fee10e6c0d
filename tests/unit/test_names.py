import re

import pytest
from hypothesis import given, strategies as st

from catalog.names import MAX_LENGTH, assign_names, normalize_identifier

pytestmark = pytest.mark.unit
ATHENA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@pytest.mark.parametrize("raw, expected", [
    ("orderId", "order_id"),
    ("Order ID", "order_id"),
    ("order_id", "order_id"),
    ("HTTPStatusCode", "http_status_code"),
    ("a.b", "a_b"),
    ('quo"ted', "quo_ted"),
    ("ünïcödé", "unicode"),
    ("DROP TABLE", "drop_table"),
    ("1st_place", "c_1st_place"),
    ("__private__", "private"),
    ("  spaced  out ", "spaced_out"),
])
def test_normalisation_examples(raw, expected):
    assert normalize_identifier(raw) == expected


def test_names_without_latin_letters_stay_distinct():
    a, b = normalize_identifier("名前"), normalize_identifier("住所")
    assert a != b and a.startswith("col_") and b.startswith("col_")


def test_long_names_are_cut_to_255_and_stay_distinct():
    a, b = normalize_identifier("x" * 300), normalize_identifier("x" * 299 + "y")
    assert len(a) == len(b) == MAX_LENGTH and a != b


def test_names_equal_but_for_case_get_suffixes_in_order():
    assert assign_names(["Name", "name", "NAME"]) == {"Name": "name", "name": "name_2", "NAME": "name_3"}


def test_taken_names_are_avoided():
    assert assign_names(["dt"], taken={"dt"}) == {"dt": "dt_2"}


@given(st.text(min_size=0, max_size=400))
def test_normalisation_is_valid_and_idempotent(raw):
    name = normalize_identifier(raw)
    assert ATHENA_NAME.match(name), name
    assert len(name) <= MAX_LENGTH
    assert normalize_identifier(name) == name


@given(st.lists(st.text(max_size=300), max_size=30))
def test_assignment_is_collision_free_and_deterministic(raws):
    mapping = assign_names(raws)
    assert len(set(mapping.values())) == len(mapping) == len(set(raws))
    assert all(ATHENA_NAME.match(n) and len(n) <= MAX_LENGTH for n in mapping.values())
    assert assign_names(raws) == mapping


def test_nested_names_keep_recorded_and_existing_fields_and_suffix_the_rest():
    from catalog.names import NestedNames

    nested = NestedNames({"customer": {"Email": "email_2"}})
    assert nested.names("customer", ["Email", "email", "Full Name"], ("email",)) == {
        "Email": "email_2", "email": "email", "Full Name": "full_name"}
    assert nested.new_records("customer") == {"customer": {"email": "email", "Full Name": "full_name"}}
    # the same struct gets the same answer; a raw name mapped once keeps its field in the batch
    assert nested.names("customer", ["Email", "email", "Full Name"], ()) == {
        "Email": "email_2", "email": "email", "Full Name": "full_name"}
    assert nested.names("customer", ["FullName"], ()) == {"FullName": "full_name"}
    # raw names that normalise alike within one struct get suffixes, whatever was decided before
    assert nested.names("customer", ["Full Name", "full_name"], ()) == {"Full Name": "full_name",
                                                                         "full_name": "full_name_2"}
    assert nested.new_records("cust") == {}
    # two raw names recorded with one field both keep it (the conversion quarantines a record setting both)
    merged = NestedNames({"c": {"Email": "email", "email": "email"}})
    assert merged.names("c", ["Email", "email"], ("email",)) == {"Email": "email", "email": "email"}
