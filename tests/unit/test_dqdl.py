"""DQDL parsing: the rules Glue's documentation writes, and rules lakeward must refuse with their text."""
import re

import pytest

from lakeward.quality.dqdl import Composite, DQDLError, Duration, Keyword, RelativeTime, parse_ruleset

pytestmark = pytest.mark.unit

DOCUMENTED = """
# the rules of the issue, as Glue's documentation writes them
Rules = [
    RowCount > 0,
    IsComplete "order_id",
    IsUnique "order_id",
    ColumnValues "status" in ["NEW","PAID"],
    ColumnValues "amount" between 0 and 10000,
    ColumnLength "sku" <= 32,
    Completeness "email" > 0.95,
    DataFreshness "order_ts" <= 24 hours,
    CustomSql "select count(*) from primary where amount < 0" = 0,
    Completeness "First_Name" > 0.95 where "weightinkgs > 10",
    ColumnValues "Country" in [ "US", "CA", "UK", NULL, EMPTY, WHITESPACES_ONLY ],
    ColumnValues "Load_Date" > (now() - 3 days),
    ColumnValues "First_Name" matches "[a-zA-Z]*" with threshold > 0.9,
    (ColumnValues "Age" > 21) OR (ColumnValues "Age" = NULL),
    IsPrimaryKey colA "colB",
    Uniqueness "vendorid" "tpep_pickup_datetime" = 1,
    ReferentialIntegrity "city,state" "reference.{ref_city,ref_state}" = 1.0,
    ColumnDataType "colA" = "INTEGER" with threshold > 0.9,
    RowCount > 10 + 10 labels=["team"="sales"],
    StandardDeviation "units" between -1 and 2 * 10
]
"""


def test_the_documented_rules_parse_to_what_they_say():
    rules = parse_ruleset(DOCUMENTED).rules
    assert len(rules) == 20
    assert rules[0].type == "RowCount" and rules[0].condition.op == ">" and rules[0].condition.operands == (0.0,)
    assert rules[1].condition is None and rules[1].params == ("order_id",)
    assert rules[3].condition.operands == ("NEW", "PAID")
    assert rules[7].condition.operands == (Duration(24.0, "hours"),)
    assert rules[9].where == "weightinkgs > 10"
    assert rules[10].condition.operands[-3:] == (Keyword("NULL"), Keyword("EMPTY"), Keyword("WHITESPACES_ONLY"))
    assert rules[11].condition.operands == (RelativeTime(-1, Duration(3.0, "days")),)
    assert rules[12].threshold.op == ">" and rules[12].condition.op == "matches"
    assert isinstance(rules[13], Composite) and rules[13].op == "or"
    assert rules[14].params == ("colA", "colB") and rules[15].params == ("vendorid", "tpep_pickup_datetime")
    assert rules[18].condition.operands == (20.0,) and rules[18].labels == {"team": "sales"}
    assert rules[19].condition.operands == (-1.0, 20.0)
    assert rules[13].text == '(ColumnValues "Age" > 21) or (ColumnValues "Age" = NULL)'


def test_and_binds_tighter_than_or_and_variables_are_read():
    ruleset = parse_ruleset('allowed = ["A", "B"]\nRules = [ (IsComplete "a") or (IsComplete "b") and '
                           '(ColumnValues "c" in $allowed) ]')
    top = ruleset.rules[0]
    assert top.op == "or" and top.right.op == "and"
    assert top.right.right.condition.operands == ("A", "B")


@pytest.mark.parametrize("text, message", [
    ('Rules = [ Entropy "a" > 1 ]', "lakeward does not evaluate this rule type"),
    ('Rules = [ IsComplete "a" > 0.5 ]', "IsComplete takes no condition"),
    ('Rules = [ Completeness "a" ]', "Completeness needs a condition"),
    ('Rules = [ RowCount > median(last(10)) ]', "lakeward evaluates the dynamic functions"),
    ('Rules = [ RowCount > avg(10) ]', "takes last(n), e.g. avg(last(10))"),
    ('Rules = [ RowCount > index(last(3)) ]', "takes last(n) and a position"),
    ('Rules = [ ColumnValues "a" > avg(last(3)) ]', "not to each value"),
    ('Rules = [ ColumnValues "a" > 1 with threshold > avg(last(3)) ]', "takes numbers, not dynamic thresholds"),
    ('Rules = [ ColumnCount > 3 where "a > 1" ]', "a where clause is not supported for ColumnCount"),
    ('Rules = [ Mean "a" > 1 with threshold > 0.5 ]', "with threshold is not supported for Mean"),
    ('Rules = [ ColumnDataType "a" = "TEXT" ]', "ColumnDataType takes = one of"),
    ('Rules = [ ColumnValues "a" in $nope ]', "$nope is not defined"),
    ('Rules = [ RowCount > 0, ]', "no trailing comma"),
    ('Rules = [ RowCount > 0 ', "ends early"),
    ('Rules = []', "has no rules"),
    ('Rules = [ Completeness "a" > 0.5 where "" ]', "the where clause is empty"),
])
def test_a_rule_lakeward_cannot_evaluate_is_refused_with_its_text(text, message):
    with pytest.raises(DQDLError) as e:
        parse_ruleset(text)
    assert message in str(e.value)


def test_dynamic_thresholds_are_kept_and_computed_from_history():
    from lakeward.quality.dqdl import Dynamic
    from lakeward.quality.evaluate import check_number, resolve

    rule = parse_ruleset("Rules = [ RowCount > avg(last(3)) * 0.8, Mean \"x\" between min(last(5)) - 1 "
                         "and max(last(5)) + 1, Sum \"x\" <= index(last(4), 1) + std(last(4)) ]").rules
    assert rule[0].text == "RowCount > avg(last(3)) * 0.8"
    threshold = rule[0].condition.operands[0]
    assert isinstance(threshold, Dynamic) and threshold.last_needed() == 3
    assert resolve(threshold, [100.0, 80.0, 60.0, 1.0]) == pytest.approx(64.0)  # the 3 latest only
    assert check_number(rule[0].condition, 70.0, [100.0, 80.0, 60.0]) and not check_number(rule[0].condition, 60.0,
                                                                                           [100.0, 80.0, 60.0])
    assert check_number(rule[1].condition, 5.0, [4.0, 6.0]) and not check_number(rule[1].condition, 8.0, [4.0, 6.0])
    assert resolve(rule[2].condition.operands[0], [10.0, 20.0]) == pytest.approx(20.0 + 5.0)


def test_default_labels_reach_composites_and_a_group_takes_its_own():
    ruleset = parse_ruleset('DefaultLabels = ["action"="fail"]\nRules = [ (IsComplete "a") and (IsComplete "b"), '
                            '((IsComplete "c") or (IsComplete "d")) labels=["action"="warn"] ]')
    assert ruleset.rules[0].labels == {"action": "fail"}
    assert ruleset.rules[1].labels == {"action": "warn"}


def test_detect_anomalies_names_the_metric_it_watches():
    from lakeward.quality.policy import QualityRules

    rules = QualityRules.parse('Rules = [ DetectAnomalies "RowCount", DetectAnomalies "Completeness" "email" ]')
    assert [r.text for r in rules.ruleset.rules] == ['DetectAnomalies "RowCount"', 'DetectAnomalies "Completeness" "email"']
    assert rules.dynamic  # judged against the table's quality history
    for bad, message in [('DetectAnomalies "Mean"', "DetectAnomalies watches one of RowCount, ColumnCount, "
                                                    "Completeness (with a column)"),
                         ('DetectAnomalies "Median" "x"', "DetectAnomalies watches one of"),
                         ('DetectAnomalies "RowCount" > 5', "takes no condition")]:
        with pytest.raises(DQDLError, match=re.escape(message)):
            parse_ruleset(f"Rules = [ {bad} ]")


def test_referential_integrity_aliases_map_to_catalog_tables():
    from lakeward.quality.policy import QualityRules

    text = 'Rules = [ ReferentialIntegrity "c" "customers.id" = 1.0, ReferentialIntegrity "s" "skus.{sku}" > 0.9 ]'
    rules = QualityRules.parse(text, references={"customers": "crm.people"})
    assert rules.reference_tables("shop") == {"customers": "crm.people", "skus": "shop.skus"}
    with pytest.raises(DQDLError, match="references customers: 'people' is not DB.TABLE"):
        QualityRules.parse(text, references={"customers": "people"})
    quarantining = QualityRules.parse('Rules = [ ReferentialIntegrity "c" "customers.id" = 1.0 '
                                      'labels=["action"="quarantine"] ]')  # row-level: a row's key is found or not
    assert quarantining.action(quarantining.ruleset.rules[0]) == "quarantine"
