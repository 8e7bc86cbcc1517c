"""The fast path of schema evolution (`Evolution.fits`) against its contract: a record it
lets through needs no change of schema, so it carries its key and every property it
carries is declared, with a value that fits, after any move to a declared variant."""

from __future__ import annotations

import copy
import random

import pytest
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR as VALIDATOR

from rest_taps.common.errors import SchemaDriftError
from rest_taps.common.evolution import Evolution
from tests.fidelity import undeclared

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "count": {"type": ["integer", "null"]},
        "name": {"type": ["string", "null"]},
        "owner": {"type": ["object", "null"], "properties": {"id": {"type": "integer"}}},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}
FULL = {"id": 1, "count": 2, "name": "n", "owner": {"id": 3}, "tags": ["a"]}


def evolution() -> Evolution:
    return Evolution("things", copy.deepcopy(SCHEMA), keys=("id",))


def through_the_fast_path(evo: Evolution, record: dict) -> bool:
    """Write `record` as the stream does: `fit` when `fits` turns it down."""
    if evo.fits(record):
        return True
    evo.fit(record)
    return False


def assert_declared(evo: Evolution, record: dict) -> None:
    assert undeclared(evo.schema, record) == []
    VALIDATOR(evo.schema).validate(record)


def test_a_record_with_every_declared_property_and_a_new_one_is_fitted() -> None:
    evo = evolution()
    record = {**copy.deepcopy(FULL), "new": 5}
    assert not evo.fits(record), "a new property needs a change of schema"
    evo.fit(record)
    assert record["new"] == 5
    assert_declared(evo, record)


@pytest.mark.parametrize("order", ["learned", "reversed"])
def test_a_value_moves_to_its_variant_only_where_it_fits_the_variant(order: str) -> None:
    """Whatever order the schema lists its properties in (a catalog may list a variant
    before its base property)."""
    evo = evolution()
    evo.fit({"id": 0, "count": {"a": 1}, "name": ["x"]})  # count__v_object {a}, name__v_array
    if order == "reversed":
        schema = copy.deepcopy(evo.schema)
        schema["properties"] = dict(reversed(schema["properties"].items()))
        evo = Evolution("things", schema, keys=("id",))
    for record in (
        {"id": 1, "count": {"b": 2}},  # an object of another shape than the variant's
        {"id": 2, "name": [{"z": 1}]},  # list items of another type than the variant's
        {"id": 3, "count": {"a": "one"}},
    ):
        sent = copy.deepcopy(record)
        through_the_fast_path(evo, record)
        assert_declared(evo, record)
        assert len(record) == len(sent)
    assert {"a", "b"} <= set(evo.schema["properties"]["count__v_object"]["properties"])


@pytest.mark.parametrize("record", [{"count": 1}, {"id": None, "count": 1}], ids=["absent", "null"])
def test_a_record_without_its_primary_key_never_passes(record: dict) -> None:
    evo = evolution()
    assert not evo.fits(dict(record))
    with pytest.raises(SchemaDriftError, match="key property 'id' has no value"):
        evo.fit(dict(record))


def test_whatever_the_fast_path_lets_through_is_declared_and_keyed() -> None:
    """Random records, half of them with every declared property, some with a new one,
    some without their key: each one the fast check accepts needs nothing `fit` would
    add, and none without its key passes."""
    r = random.Random(5)
    values = [None, 0, 2.5, "s", True, [], ["a"], [1, {"k": 1}], {}, {"id": 4}, {"x": [1]}]
    fast = 0
    for i in range(300):
        if i % 30 == 0:  # a fresh schema now and then: new properties stay new
            evo = evolution()
        names = [*SCHEMA["properties"]][1:]
        if r.random() < 0.5:
            names = r.sample(names, r.randrange(1, len(names)))
        record = {
            name: copy.deepcopy(FULL[name] if r.random() < 0.6 else r.choice(values))
            for name in names
        }
        if r.random() < 0.3:
            record[f"new{i}"] = r.choice([1, "s", {"k": 1}])
        key = r.choice([i, i, i, None, "absent"])
        if key != "absent":
            record["id"] = key
        if key is None or key == "absent":
            assert not evo.fits(record), record
            continue
        if through_the_fast_path(evo, record):
            fast += 1
        assert_declared(evo, record)
    assert fast > 25, fast
