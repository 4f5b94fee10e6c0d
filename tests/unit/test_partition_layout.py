"""Partition layout, pure: projection parameters (what Athena reads, what lakeward reads back, what is refused),
folder names escaped as Spark escapes them, Delta partition values in Spark's form, the target file size setting."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.partition_projection import ProjectedColumn, is_projected, projected_columns, projection_parameters
from lakeward.tables.writer import escape_path_name
from lakeward.errors import SpecError

pytestmark = pytest.mark.unit

DT = ProjectedColumn("dt", "date", range="2024-01-01,NOW", format="yyyy-MM-dd", interval=1, unit="days")
COUNTRY = ProjectedColumn("country", "enum", values=("de", "fr"))
HOUR = ProjectedColumn("hour", "integer", range="0,23")


def test_parameters_are_what_athena_expects_and_read_back_the_same():
    params = projection_parameters([DT, COUNTRY, HOUR], ["dt", "country", "hour"], "s3://b/lake/web/events/")
    assert params == {
        "projection.enabled": "true",
        "storage.location.template": "s3://b/lake/web/events/dt=${dt}/country=${country}/hour=${hour}",
        "projection.dt.type": "date", "projection.dt.range": "2024-01-01,NOW", "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.interval": "1", "projection.dt.interval.unit": "DAYS",
        "projection.country.type": "enum", "projection.country.values": "de,fr",
        "projection.hour.type": "integer", "projection.hour.range": "0,23"}
    assert is_projected(params)
    back = projected_columns(params, ["dt", "country", "hour"])
    assert [c.name for c in back] == ["dt", "country", "hour"] and back[1].values == ("de", "fr")
    assert back[0].unit == "DAYS" and back[2].range == "0,23"


@pytest.mark.parametrize("column, message", [
    (ProjectedColumn("c", "enum"), "an enum projection needs values"),
    (ProjectedColumn("h", "integer", range="0-23"), "needs range: 'LOW,HIGH'"),
    (ProjectedColumn("d", "date", range="2024-01-01"), "needs range: 'START,END'"),
    (ProjectedColumn("d", "date", range="yesterday,NOW"), "'yesterday' is neither"),
    (ProjectedColumn("d", "date", range="2024-01-01,NOW", format="yyyy/MM/dd"), "format must be yyyy-MM-dd"),
    (ProjectedColumn("d", "date", range="2024-01-01,NOW-3DAYS", unit="fortnights"), "unit 'fortnights'"),
    (ProjectedColumn("h", "integer", range="0,23", digits=2), "without zero padding"),
])
def test_projections_athena_would_refuse_are_refused_naming_the_setting(column, message):
    with pytest.raises(SpecError, match=message):
        column.check()


def test_every_partition_column_must_be_projected():
    with pytest.raises(SpecError, match="projects all partition columns or none"):
        projection_parameters([DT], ["dt", "country"], "s3://b/t")


def test_literal_bounds_are_checked_and_relative_ones_left_to_athena():
    assert HOUR.bounds() == ("0", "23")
    assert ProjectedColumn("d", "date", range="2024-01-01,2024-12-31").bounds() == ("2024-01-01", "2024-12-31")
    assert ProjectedColumn("d", "date", range="NOW-3YEARS,NOW+1DAYS").bounds() == (None, None)
    assert DT.bounds() == ("2024-01-01", None)  # a future date is Athena's to show when it comes


@pytest.mark.parametrize("value, folder", [
    ("a/b", "a%2Fb"), ("12:30", "12%3A30"), ("x=y", "x%3Dy"), ("50%", "50%25"), ("über straße", "über straße"),
    ("a#b?c*d", "a%23b%3Fc%2Ad"), ("[x]{y}^", "%5Bx%5D%7By}%5E"), ("tab\there", "tab%09here"),
])
def test_partition_folders_are_escaped_as_spark_escapes_them(value, folder):
    assert escape_path_name(value) == folder


@given(st.text(max_size=30))
def test_escaping_is_reversible(value):
    from urllib.parse import unquote

    assert unquote(escape_path_name(value)) == value


def test_delta_partition_values_compare_as_spark_casts_them():
    import datetime as dt

    from lakeward.tables.delta import _partition_string

    assert _partition_string(dt.datetime(2024, 1, 1, 10, 0, 0, 500000)) == "2024-01-01 10:00:00.5"
    assert _partition_string(dt.datetime(2024, 1, 1, 10, 0)) == "2024-01-01 10:00:00"
    assert _partition_string(True) == "true" and _partition_string(dt.date(2024, 3, 1)) == "2024-03-01"


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_a_bad_target_file_size_setting_is_named(value):
    from lakeward.runtime.settings import Settings

    with pytest.raises(SpecError, match=f"LAKEWARD_TARGET_FILE_MB='{value}'"):
        Settings.load({"LAKEWARD_TARGET_FILE_MB": value})
    with pytest.raises(SpecError, match=f"--target-mb '{value}'"):
        Settings.load({}, target_file_mb=(value, "--target-mb"))
