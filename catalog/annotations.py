"""What lakeward records about each column in its Glue Parameters: the raw names it is fed from (and
those of its nested fields), where and when it was first seen, and the format its values were typed from.
Later batches read them back to map raw names to the same columns (catalog.names)."""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace

from catalog.names import (
    NESTED_RAW_NAMES_PARAMETER,
    RAW_NAMES_PARAMETER,
    NestedNames,
    recorded_nested_names,
    recorded_raw_names,
)
from catalog.parameters import FIRST_SEEN, PARSED_FROM
from catalog.schema import Column


def annotate(columns: tuple[Column, ...], names: list[dict[str, str]], origin: dict[str, str],
             parsed: dict[str, str] | None = None, nested: NestedNames | None = None) -> tuple[Column, ...]:
    """Record in each column's Parameters the raw names it is fed from (``names``: raw name -> column, per
    read part), and those of its nested fields that differ from their field names, so later batches map
    them the same way; once, where and when it was first seen (``origin``), and for a column typed from
    its content the format it was parsed from; the comment names the first raw name."""
    raws: dict[str, set[str]] = defaultdict(set)
    for mapping in names:
        for raw, column in mapping.items():
            raws[column].add(raw)
    result = []
    for column in columns:
        parameters = dict(column.parameters)
        recorded = recorded_raw_names(parameters)
        new = sorted(raws.get(column.name, set()) - set(recorded))
        if FIRST_SEEN not in parameters:
            parameters.update(origin)
            if parsed and column.name in parsed:
                parameters[PARSED_FROM] = parsed[column.name]
        if new:
            parameters[RAW_NAMES_PARAMETER] = json.dumps(recorded + new, ensure_ascii=False)
        fresh = nested.new_records(column.name) if nested else {}
        if fresh:
            merged = recorded_nested_names(parameters)
            for path, mapping in fresh.items():
                merged[path] = {**mapping, **merged.get(path, {})}
            parameters[NESTED_RAW_NAMES_PARAMETER] = json.dumps(merged, ensure_ascii=False, sort_keys=True)
        all_raw = recorded + new
        comment = column.comment
        if comment is None and all_raw and all_raw[0] != column.name:
            comment = f"raw name: {all_raw[0]}"[:255]
        result.append(replace(column, comment=comment, parameters=parameters))
    return tuple(result)
