"""Runtime schema evolution, on its own: every value kept as sent, schemas only widen."""

from __future__ import annotations

import copy
import json
import random

import pytest
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR

from rest_taps.common.errors import SchemaDriftError
from rest_taps.common.evolution import Evolution, FitCheck, Node, infer
from tests.fidelity import normalized

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "updated": {"type": "integer"},
        "count": {"type": ["integer", "null"]},
        "flag": {"type": ["boolean", "null"]},
        "when": {"type": ["string", "null"], "format": "date-time"},
        "day": {"type": ["string", "null"], "format": "date"},
        "owner": {
            "type": ["object", "null"],
            "properties": {"id": {"type": ["integer", "null"]}, "name": {"type": "string"}},
        },
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "emails": {
            "type": ["array", "null"],
            "items": {"type": "object", "properties": {"value": {"type": ["string", "null"]}}},
        },
        "custom": {"type": ["object", "null"]},
    },
}


def evolution(**options: object) -> Evolution:
    options.setdefault("keys", ("id",))
    options.setdefault("protected", ("updated",))
    return Evolution("things", copy.deepcopy(SCHEMA), **options)  # type: ignore[arg-type]


def validate(schema: dict, record: dict) -> None:
    validator = DEFAULT_JSONSCHEMA_VALIDATOR
    validator(schema, format_checker=validator.FORMAT_CHECKER).validate(record)


def test_a_record_that_fits_changes_nothing() -> None:
    evo = evolution()
    record = {
        "id": 1,
        "updated": 5,
        "count": 4.0,  # an integral float is an integer
        "flag": None,
        "when": "2024-01-01T00:00:00Z",
        "owner": {"id": 2, "name": "x"},
        "tags": ["a"],
        "emails": [{"value": "a@example.com"}],
        "custom": {"anything": [1, {"goes": True}]},
    }
    before = copy.deepcopy(record)
    assert evo.fit(record) == []
    assert record == before
    assert evo.schema == SCHEMA


def test_new_properties_are_inferred_with_their_nested_shape() -> None:
    evo = evolution()
    record = {"id": 1, "updated": 5, "owner2": {"a": [{"b": 1}], "c": None}, "gone": None}
    changes = evo.fit(record)
    assert [c.where() for c in changes] == ["owner2"]
    assert evo.schema["properties"]["owner2"] == {
        "type": ["object", "null"],
        "properties": {
            "a": {
                "type": ["array", "null"],
                "items": {
                    "type": ["object", "null"],
                    "properties": {"b": {"type": ["integer", "null"]}},
                },
            }
        },
    }
    assert "gone" not in record, "a new top-level property whose value is null waits"
    assert record["owner2"] == {"a": [{"b": 1}], "c": None}, "nested values are kept as sent"
    validate(evo.schema, record)
    assert evo.fits(record)


@pytest.mark.parametrize(
    ("field", "value", "variant"),
    [
        ("count", 4.6, "count__v_number"),
        ("count", "12", "count__v_string"),
        ("flag", 1, "flag__v_integer"),
        ("when", "", "when__v_string"),
        ("day", "2024-13-45", "day__v_string"),
        ("tags", {"a": 1}, "tags__v_object"),
        ("owner", "someone", "owner__v_string"),
    ],
)
def test_a_value_that_breaks_its_type_moves_to_a_variant(
    field: str, value: object, variant: str
) -> None:
    evo = evolution()
    record = {"id": 1, "updated": 5, field: value}
    changes = evo.fit(record)
    assert record == {"id": 1, "updated": 5, variant: value}, "moved unchanged, not coerced"
    assert [c.where() for c in changes] == [variant]
    assert evo.schema["properties"][field] == SCHEMA["properties"][field], "the type stays"
    validate(evo.schema, record)
    again = {"id": 2, "updated": 6, field: copy.deepcopy(value)}
    assert evo.fit(again) == [], "the variant is declared once"
    assert again == {"id": 2, "updated": 6, variant: value}


def test_nested_drift_and_news_stay_inside_their_object() -> None:
    evo = evolution()
    record = {
        "id": 1,
        "updated": 5,
        "owner": {"id": "u-7", "name": "x", "email": "x@example.com"},
        "emails": [{"value": "a", "primary": True}, {"value": 3}],
    }
    changes = evo.fit(record)
    assert {c.where() for c in changes} == {
        "owner.id__v_string",
        "owner.email",
        "emails[]object.primary",
        "emails[]object.value__v_integer",
    }
    assert record["owner"] == {"name": "x", "email": "x@example.com", "id__v_string": "u-7"}
    assert record["emails"] == [{"value": "a", "primary": True}, {"value__v_integer": 3}]
    validate(evo.schema, record)


def test_list_items_of_another_type_widen_the_list() -> None:
    evo = evolution()
    record = {"id": 1, "updated": 5, "tags": ["a", {"k": 1}, None, 2]}
    evo.fit(record)
    assert record["tags"] == ["a", {"k": 1}, None, 2], "the list is kept whole, in order"
    items = evo.schema["properties"]["tags"]["items"]
    assert [b.get("type") for b in items["anyOf"]] == [
        "string",
        ["object", "null"],  # inferred types are nullable: None fits from here on
        ["integer", "null"],
    ]
    validate(evo.schema, record)
    assert evo.fits(record)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "7", "updated": 5}, "key property 'id' arrived as string"),
        ({"id": None, "updated": 5}, "key property 'id' has no value"),
        ({"updated": 5}, "key property 'id' has no value"),
        ({"id": 1, "updated": "2024-01-01"}, "key property 'updated' arrived as string"),
    ],
)
def test_keys_never_move(record: dict, message: str) -> None:
    with pytest.raises(SchemaDriftError, match=message):
        evolution().fit(record)


def test_a_missing_replication_value_is_not_drift() -> None:
    record = {"id": 1, "count": 2}
    assert evolution().fit(record) == []
    assert record == {"id": 1, "count": 2}


def test_excluded_new_properties_and_variants_of_deselected_properties() -> None:
    evo = evolution(new_properties=False, deselected=("count",))
    record = {"id": 1, "updated": 5, "extra": 1, "count": "x", "flag": 2}
    changes = evo.fit(record)
    assert record == {"id": 1, "updated": 5, "flag__v_integer": 2}
    assert evo.left_out == {"extra"}
    assert [c.where() for c in changes] == ["flag__v_integer"], "variants follow the base"


def test_remembered_changes_are_replayed_once() -> None:
    first = evolution()
    changes = first.fit(
        {"id": 1, "updated": 5, "new": {"x": 1}, "count": 1.5, "owner": {"nick": "n"}}
    )
    state = json.loads(json.dumps([c.to_state() for c in changes]))
    second = evolution()
    replayed = second.replay(state)
    assert {c.where() for c in replayed} == {"new", "count__v_number", "owner.nick"}
    assert second.schema == first.schema
    assert second.replay(state) == [], "nothing is added twice"


def test_the_generated_check_is_never_less_strict_than_the_schema_walk() -> None:
    """`fits` (generated) may send a record to the slow path needlessly, never wrongly
    past it: whenever it says True, the schema walk agrees and the record validates."""
    schema = copy.deepcopy(SCHEMA)
    walk = Node(schema)
    check = FitCheck(walk, ("id",)).function
    r = random.Random(7)
    values = [None, 0, 1, 4.0, 4.5, True, "", "x", "2024-01-01T00:00:00Z", "2024-01-01", [], {}]
    values += [["a", None], [{"value": "v"}], [{"value": 1}], {"id": 1}, {"id": "1", "name": "n"}]
    agreed = 0
    for _ in range(3000):
        record = {"id": r.choice([1, 1, 1, None, "1"])}
        for name in r.sample([*sorted(SCHEMA["properties"]), "unknown"], r.randrange(1, 6)):
            record[name] = copy.deepcopy(r.choice(values))
        if check(record):
            agreed += 1
            assert walk.props is not None
            assert walk.fits(record)
            validate(schema, record)
    assert agreed > 30


def test_the_fast_path_leaves_a_record_as_fit_would() -> None:
    """Once a variant is declared, a value of its type moves there on the fast path, and
    a null property the schema lacks leaves the record: whatever the fast check accepts
    ends up exactly as `fit` would leave it, with no change of schema, and a record it
    turns down after moving some values takes `fit` to the same end."""
    evo = evolution()
    evo.fit({"id": 0, "updated": 0, "count": "many", "flag": 1, "when": "soon", "new": 1})
    record = {"id": 1, "updated": 1, "count": "few", "flag": 0, "unknown": None}
    assert evo.fits(record)
    assert record == {"id": 1, "updated": 1, "count__v_string": "few", "flag__v_integer": 0}
    r = random.Random(3)
    values = [None, 2, 2.5, "x", True, "2024-01-01T00:00:00Z", [1], {"a": 1}]
    fast = 0
    for i in range(2000):
        record = {"id": i, "updated": i}
        for name in r.sample(["count", "flag", "when", "new", "unknown", "other"], 3):
            record[name] = copy.deepcopy(r.choice(values))
        by_fit = copy.deepcopy(record)
        if evo.fits(record):
            fast += 1
            assert evo.fit(by_fit) == []
        else:  # what the check moved before it gave up, `fit` takes as it would have
            assert copy.deepcopy(evo).fit(by_fit) == evo.fit(record)
        assert record == by_fit
    assert fast > 40


def test_any_record_fits_after_evolution_and_loses_nothing() -> None:
    """Random JSON records: after `fit`, each validates against the evolved schema, the
    fast check accepts it, and moving variants back gives the record as sent."""
    r = random.Random(11)

    def value(depth: int = 0) -> object:
        makers = [
            lambda: None,
            lambda: r.randrange(-5, 5),
            lambda: r.choice([0.5, 2.0, -1.25]),
            lambda: r.choice([True, False]),
            lambda: r.choice(["", "a", "2024-01-01T00:00:00Z"]),
            lambda: {r.choice("abcdef"): value(depth + 1) for _ in range(r.randrange(3))},
            lambda: [value(depth + 1) for _ in range(r.randrange(3))],
            lambda: {"id": value(depth + 1), "name": value(depth + 1)},
        ]
        return r.choice(makers[: 8 if depth < 2 else 5])()

    evo = evolution()
    for i in range(400):
        record = {"id": i, "updated": i}
        for name in r.sample([*SCHEMA["properties"], "p", "q", "r"], 4):
            if name not in ("id", "updated"):
                record[name] = value()
        sent = copy.deepcopy(record)
        evo.fit(record)
        validate(evo.schema, record)
        assert evo.fits(record)
        assert normalized(record) == normalized(sent)


def test_inference_of_an_empty_list_waits_for_items() -> None:
    assert infer([]) == {"type": ["array", "null"]}
    evo = evolution()
    record = {"id": 1, "updated": 1, "later": []}
    evo.fit(record)
    record = {"id": 2, "updated": 1, "later": [{"a": 1}]}
    changes = evo.fit(record)
    assert [c.note for c in changes] == ["list items (object)"]
    validate(evo.schema, record)
