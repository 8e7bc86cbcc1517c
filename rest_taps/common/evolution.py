"""Runtime schema evolution: every field the API sends reaches the target, as sent.

A stream's schema is a promise to the loader: each top-level property becomes a column of
the declared type. APIs break that promise in two ways, and both are absorbed here,
additively, so that no loader ever sees a column change its type:

- **A property the schema lacks.** Its schema is inferred from the value (objects and
  arrays included) and added; the stream announces the widened schema (a SCHEMA message)
  before the first record that needs it. A new property whose value is null waits, at the
  top level, until it has a value (null and absent are the same to a loader).
- **A value that breaks its declared type.** The value moves, unchanged, to a sibling
  property `<name>__v_<jsontype>` (`lead_score__v_number`), declared when first needed;
  the declared property keeps its type. An integral float in an integer property (4.0)
  is an integer. A list item of another type widens the list's item schema (`anyOf`): a
  list is one value (one JSON column) to a loader, whatever its items.

The same rules apply inside nested objects and list items. Primary keys and the
replication key are never moved: a value that breaks their type ends the run with a clear
error, since keys and bookmarks depend on them.

`Evolution.fits` is the fast path: one walk over the record that checks keys and value
types against a compiled form of the schema, moving a top-level value to its variant on
the way when that variant is declared already (an API that sends a documented object as
`""` in every record keeps the fast path). Only a record that does not fit takes
`Evolution.fit`, which changes the schema (and the record: values move to variants).
"""

from __future__ import annotations

import copy
import datetime as dt
import typing as t
from dataclasses import dataclass

from rest_taps.common.errors import SchemaDriftError

VARIANT = "__v_"
#: Path element for the items of a list (followed by the item's JSON type in `Change`).
ITEMS = "[]"

_JSON_TYPES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    dict: "object",
    list: "array",
}
_CLASSES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "object": (dict,),
    "array": (list,),
}


def json_type(value: t.Any) -> str:
    """The JSON type of a decoded JSON value (`integer` for ints, `number` for floats)."""
    return _JSON_TYPES.get(value.__class__, "string") if value is not None else "null"


def infer(value: t.Any) -> dict:
    """A nullable schema for `value`: its type, an object's properties, a list's items.

    Null properties of an object are left out (they wait for a value); a list's items
    take the schema of its first non-null item (`fit` widens it for the others).
    """
    kind = json_type(value)
    schema: dict[str, t.Any] = {"type": [kind, "null"]}
    if kind == "object":
        schema["properties"] = {k: infer(v) for k, v in value.items() if v is not None}
    elif kind == "array":
        first = next((item for item in value if item is not None), None)
        if first is not None:
            schema["items"] = infer(first)
    return schema


def _is_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_time(value: str) -> bool:
    try:
        dt.time.fromisoformat(value)
    except ValueError:
        return False
    return True


#: Formats a loader turns into typed columns: a string that is not one breaks the load.
_FORMATS: dict[str, t.Callable[[str], bool]] = {
    "date-time": _is_datetime,
    "date": _is_date,
    "time": _is_time,
}


class Node:
    """A compiled schema: which Python classes fit, and how to look inside them."""

    __slots__ = (
        "branches",
        "classes",
        "format",
        "integer",
        "items",
        "learn_items",
        "nullable",
        "props",
        "simple",
    )

    def __init__(self, schema: dict) -> None:
        self.format: t.Callable[[str], bool] | None = None
        self.props: dict[str, Node] | None = None
        self.items: Node | None = None
        self.branches: dict[type, Node] = {}
        if "anyOf" in schema:
            branches = [Node(s) for s in schema["anyOf"] if isinstance(s, dict)]
            self.nullable = any(b.nullable for b in branches)
            self.classes = frozenset().union(*(b.classes for b in branches))
            for branch in branches:
                for cls in branch.classes:
                    self.branches.setdefault(cls, branch)
            self.integer = any(b.integer for b in branches)
            self.simple = frozenset().union(*(b.simple for b in branches))
            self.learn_items = False
            return
        kinds = schema.get("type")
        if kinds is None:  # no type: anything fits
            kinds = ["string", "boolean", "integer", "number", "object", "array", "null"]
        elif isinstance(kinds, str):
            kinds = [kinds]
        self.nullable = "null" in kinds
        self.integer = "integer" in kinds and "number" not in kinds
        self.classes = frozenset(c for k in kinds for c in _CLASSES.get(k, ()))
        if "object" in kinds and isinstance(schema.get("properties"), dict):
            self.props = {k: Node(s) for k, s in schema["properties"].items()}
        #: A list with no item schema yet: its first items teach one.
        self.learn_items = False
        if "array" in kinds:
            if isinstance(schema.get("items"), dict) and schema["items"]:
                self.items = Node(schema["items"])
            else:
                self.learn_items = True
        if "string" in kinds and schema.get("format") in _FORMATS:
            self.format = _FORMATS[schema["format"]]
        needs_look = {dict, list} | ({str} if self.format else set())
        self.simple = frozenset(self.classes - needs_look)

    def branch(self, cls: type) -> Node:
        """The node that describes values of class `cls`."""
        return self.branches.get(cls, self)

    def fits(self, value: t.Any) -> bool:
        """Whether `value` fits this schema as it is."""
        if value is None:
            return self.nullable
        cls = value.__class__
        if cls in self.simple:
            return True
        if cls not in self.classes:
            return cls is float and self.integer and value.is_integer()
        node = self.branch(cls)
        if cls is dict:
            return node.props is None or _fits_object(node.props, value)
        if cls is list:
            items = node.items
            if items is None:
                return not (node.learn_items and any(item is not None for item in value))
            return all(items.fits(item) for item in value)
        return node.format is None or node.format(value)


def _fits_object(props: dict[str, Node], obj: dict) -> bool:
    """Whether a nested object fits: a property the schema lacks may wait while null."""
    for key, value in obj.items():
        node = props.get(key)
        if node is None:
            if value is None:
                continue
            return False
        if value is None:
            if node.nullable:
                continue
            return False
        if value.__class__ in node.simple:
            continue
        if not node.fits(value):
            return False
    return True


class FitCheck:
    """Generates a Python function that says whether an object fits a schema.

    `Node.fits` walks the schema for every value; this function has the walk unrolled
    for the schema's known properties (one key-set test, then one class test per
    property), several times faster. Where it is not sure it answers False, and the
    record takes the full `Evolution.fit`, which knows better. A top-level value of a
    type that already has its variant property (`moves`: property → {class: variant})
    moves there, and a null top-level property the schema lacks leaves the record, as
    `fit` would do both; the record still takes the fast path.
    """

    def __init__(
        self,
        root: Node,
        required: t.Collection[str] = (),
        moves: t.Mapping[str, t.Mapping[type, str]] | None = None,
    ) -> None:
        self.env: dict[str, t.Any] = {}
        self.lines: list[str] = []
        self.moves = moves or {}
        name = self._object(root.props or {}, required)
        exec("\n".join(self.lines), self.env)
        self.function: t.Callable[[dict], bool] = self.env[name]

    def _constant(self, value: t.Any) -> str:
        name = f"_c{len(self.env)}"
        self.env[name] = value
        return name

    def _object(
        self, props: dict[str, Node], required: t.Collection[str] = (), *, top: bool = True
    ) -> str:
        name = self._constant(None)
        known = self._constant(frozenset(props))
        body = [f"def {name}(r):", f"    if not {known}.issuperset(r):"]
        body.append(f"        if any(r[k] is not None for k in r.keys() - {known}):")
        body.append("            return False")  # a new property: `fit` adds it
        if top:  # a null one waits out of the record, as `fit` leaves it
            body.append(f"        for k in r.keys() - {known}:")
            body.append("            del r[k]")
        # inside an object, a property the schema lacks may wait while null
        for key, node in props.items():
            body.append(f"    v = r.get({key!r})")
            body.append(f"    if v is not None and ({self._misfit(node)}):")
            if top and key in self.moves:
                body.append(f"        w = {self._constant(self.moves[key])}.get(v.__class__)")
                body += ["        if w is None:", "            return False"]
                body += [f"        del r[{key!r}]", "        r[w] = v"]
            else:
                body.append("        return False")
            if key in required:
                body.append("    if v is None:")
                body.append("        return False")
            elif not node.nullable:
                body.append(f"    if v is None and {key!r} in r:")
                body.append("        return False")
        body.append("    return True")
        self.lines.extend(body)
        return name

    def _items(self, node: Node) -> str:
        name = self._constant(None)
        body = [f"def {name}(items):", "    for v in items:", "        if v is None:"]
        body.append("            continue" if node.nullable else "            return False")
        body += [f"        if {self._misfit(node)}:", "            return False", "    return True"]
        self.lines.extend(body)
        return name

    def _misfit(self, node: Node) -> str:
        """An expression, true when the non-null value `v` does not fit `node`."""
        if node.branches or len(node.classes) == len(_JSON_TYPES):  # anyOf, or any type
            return f"not {self._constant(node)}.fits(v)"
        classes = sorted(node.classes, key=lambda c: c.__name__)
        test = " and ".join(f"v.__class__ is not {c.__name__}" for c in classes) or "True"
        if node.integer:  # an integral float is an integer
            test = f"({test} and not (v.__class__ is float and v.is_integer()))"
        if node.props is not None:
            test += f" or (v.__class__ is dict and not {self._object(node.props, top=False)}(v))"
        if node.items is not None:
            test += f" or (v.__class__ is list and not {self._items(node.items)}(v))"
        elif node.learn_items:
            test += " or (v.__class__ is list and any(i is not None for i in v))"
        if node.format is not None:
            test += f" or (v.__class__ is str and not {self._constant(node.format)}(v))"
        return test


@dataclass(frozen=True)
class Change:
    """One addition to a schema.

    `path` leads from the record to the object (or list) changed: property names, and
    `[]<type>` for the items of a list that are of that JSON type. `name` is the property
    added to that object, or None when the list at `path` gained an item schema.
    """

    path: tuple[str, ...]
    name: str | None
    schema: dict
    note: str

    def where(self) -> str:
        parts = [*self.path, *([self.name] if self.name else [])]
        return ".".join(parts).replace(f".{ITEMS}", ITEMS)

    def to_state(self) -> dict:
        return {"path": list(self.path), "name": self.name, "schema": copy.deepcopy(self.schema)}

    @classmethod
    def from_state(cls, entry: t.Mapping[str, t.Any]) -> Change:
        return cls(tuple(entry["path"]), entry.get("name"), dict(entry["schema"]), "remembered")


class Evolution:
    """Keeps one stream's schema wide enough for every record, additively.

    `schema` is the stream's schema dict, changed in place. `keys` (primary keys) must
    have a value; `protected` (the replication key) and `keys` must never move.
    `new_properties` says whether properties the schema lacks are added at the top
    level (False: they are left out of records);
    `deselected` are top-level properties the user deselected (their variants are left
    out too).
    """

    def __init__(
        self,
        stream: str,
        schema: dict,
        *,
        keys: t.Collection[str] = (),
        protected: t.Collection[str] = (),
        new_properties: bool = True,
        deselected: t.Collection[str] = (),
    ) -> None:
        self.stream = stream
        self.schema = schema
        schema.setdefault("properties", {})
        self.keys = frozenset(keys)
        self.protected = frozenset(protected) | self.keys
        self.new_properties = new_properties
        self.deselected = frozenset(deselected)
        #: Top-level properties left out because new properties are excluded.
        self.left_out: set[str] = set()
        self._changes: list[Change] = []
        self._compile()

    def _compile(self) -> None:
        self.root = Node(self.schema)
        self._props: dict[str, Node] = self.root.props or {}
        #: True when a record needs no change of schema (the fast path); values of a
        #: type that has its variant already are moved there on the way.
        self.fits: t.Callable[[dict], bool] = FitCheck(self.root, self.keys, self._moves()).function

    def _moves(self) -> dict[str, dict[type, str]]:
        """Top-level property → {class: its variant}, for the variants declared already
        that take a value of that class as it is (what `fit` would do, with no change)."""
        moves: dict[str, dict[type, str]] = {}
        for key in self._props:
            if key in self.protected or key in self.deselected:
                continue  # a key stops the run; a deselected property's variant is dropped
            for cls, kind in _JSON_TYPES.items():
                variant = self._props.get(f"{key}{VARIANT}{kind}")
                if variant is not None and cls in variant.simple:
                    moves.setdefault(key, {})[cls] = f"{key}{VARIANT}{kind}"
        return moves

    # -- evolving ---------------------------------------------------------------------------

    def fit(self, record: dict) -> list[Change]:
        """Make `record` and the schema fit each other; return the schema changes.

        Values that break their declared type move to variant properties (the record
        changes); properties the schema lacks are added (the schema changes).
        """
        for key in self.keys:
            if record.get(key) is None:
                self._stop(key, None, "has no value")
        self._fit_object(record, self.schema, self._props, ())
        changes, self._changes = self._changes, []
        if changes:
            self._compile()
        return changes

    def replay(self, entries: t.Iterable[t.Mapping[str, t.Any]]) -> list[Change]:
        """Re-apply changes remembered from an earlier run (those still missing)."""
        applied = []
        for entry in entries:
            change = Change.from_state(entry)
            target = self._locate(change.path)
            if target is None:
                continue
            if change.name is None:
                if self._widen_items(target, copy.deepcopy(change.schema)):
                    applied.append(change)
            elif change.name not in target.setdefault("properties", {}):
                target["properties"][change.name] = copy.deepcopy(change.schema)
                applied.append(change)
        if applied:
            self._compile()
        return applied

    def _locate(self, path: tuple[str, ...]) -> dict | None:
        node: t.Any = self.schema
        for step in path:
            if step.startswith(ITEMS):
                items = node.get("items") if isinstance(node, dict) else None
                node = _branch_of(items, step[len(ITEMS) :]) if isinstance(items, dict) else None
            else:
                props = node.get("properties") if isinstance(node, dict) else None
                node = props.get(step) if isinstance(props, dict) else None
                if isinstance(node, dict) and "anyOf" in node:
                    node = _branch_of(node, "object")
            if not isinstance(node, dict):
                return None
        return node

    def _fit_object(
        self,
        obj: dict,
        schema: dict,
        props: dict[str, Node],
        path: tuple[str, ...],
    ) -> None:
        declared: dict[str, dict] = schema.setdefault("properties", {})
        top = not path
        for key, value in list(obj.items()):
            node = props.get(key)
            if node is None:
                self._new_property(obj, key, value, declared, path)
                continue
            if value is None:
                if not node.nullable:
                    if top and key in self.keys:
                        self._stop(key, value, "has no value")
                    del obj[key]  # null and absent are the same to a loader
                continue
            cls = value.__class__
            if cls in node.simple or node.fits(value):
                continue
            inner = node.branch(cls)
            if cls is dict and inner.props is not None:
                self._fit_object(
                    value, _schema_for(declared[key], "object"), inner.props, (*path, key)
                )
            elif cls is list and cls in node.classes:
                self._fit_items(value, _schema_for(declared[key], "array"), (*path, key))
            else:  # another type, or a string that is not of the declared format
                if top and key in self.protected:
                    self._stop(key, value, f"arrived as {json_type(value)}")
                self._to_variant(obj, key, value, declared, path=path)

    def _stop(self, key: str, value: t.Any, what: str) -> t.NoReturn:
        shown = repr(value)[:60]
        declared = self.schema["properties"][key].get("type")
        msg = (
            f"Stream '{self.stream}': key property '{key}' {what} ({shown}) where the "
            f"schema declares {declared}; keys and bookmarks depend on it, so the run "
            "stops here."
        )
        raise SchemaDriftError(msg)

    def _new_property(
        self, obj: dict, key: str, value: t.Any, declared: dict[str, dict], path: tuple[str, ...]
    ) -> None:
        top = not path
        if top and not self.new_properties:
            del obj[key]
            self.left_out.add(key)
            return
        if value is None:
            if top:
                del obj[key]  # waits, out of the record, until it has a value
            return
        schema = infer(value)
        declared[key] = schema
        self._changes.append(Change(path, key, schema, f"new property ({json_type(value)})"))
        self._settle(value, schema, (*path, key))

    def _to_variant(
        self, obj: dict, key: str, value: t.Any, declared: dict[str, dict], *, path: tuple[str, ...]
    ) -> None:
        kind = json_type(value)
        variant = f"{key}{VARIANT}{kind}"
        del obj[key]
        if not path and key in self.deselected:
            return  # a variant follows its base property's selection
        obj[variant] = value
        if variant in declared:
            if not Node(declared[variant]).fits(value):
                self._settle(value, declared[variant], (*path, variant))
            return
        schema = infer(value)
        declared[variant] = schema
        base = declared[key].get("type", "anyOf")
        note = f"variant of '{key}' (declared {base}, got {kind})"
        self._changes.append(Change(path, variant, schema, note))
        self._settle(value, schema, (*path, variant))

    def _settle(self, value: t.Any, schema: dict, path: tuple[str, ...]) -> None:
        """Fit `value` into the schema just inferred for it (later list items, say)."""
        if isinstance(value, dict):
            node = Node(schema)
            if node.props is not None and not _fits_object(node.props, value):
                self._fit_object(value, schema, node.props, path)
        elif isinstance(value, list):
            self._fit_items(value, schema, path)

    def _fit_items(self, items: list, schema: dict, path: tuple[str, ...]) -> None:
        for item in items:
            kind = json_type(item)
            if item is None:
                item_schema = schema.get("items")
                if isinstance(item_schema, dict) and item_schema and not Node(item_schema).nullable:
                    self._widen_items(schema, {"type": ["null"]})
                    self._changes.append(Change(path, None, {"type": ["null"]}, "null list items"))
                continue
            item_schema = schema.get("items")
            if not isinstance(item_schema, dict) or not item_schema:
                schema["items"] = infer(item)
                self._changes.append(Change(path, None, schema["items"], f"list items ({kind})"))
                continue
            node = Node(item_schema)
            if node.fits(item):
                continue
            cls = item.__class__
            inner = node.branch(cls)
            if cls is dict and inner.props is not None:
                step = (*path, f"{ITEMS}{kind}")
                self._fit_object(item, _schema_for(item_schema, kind), inner.props, step)
            elif cls is list and cls in node.classes:
                step = (*path, f"{ITEMS}{kind}")
                self._fit_items(item, _schema_for(item_schema, kind), step)
            elif cls not in node.classes:
                added = infer(item)
                self._widen_items(schema, added)
                self._changes.append(Change(path, None, added, f"list items widened to {kind}"))
                self._settle(item, added, (*path, f"{ITEMS}{kind}"))

    @staticmethod
    def _widen_items(schema: dict, added: dict) -> bool:
        """Let the list at `schema` also hold items of `added`'s type (False if it did)."""
        items = schema.get("items")
        if not isinstance(items, dict) or not items:
            schema["items"] = added
            return True
        kind = added["type"][0]
        if _branch_of(items, kind) is not None:
            return False
        schema["items"] = {"anyOf": [*items.get("anyOf", [items]), added]}
        return True


def _types(schema: dict) -> list[str]:
    kinds = schema.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _branch_of(schema: dict, kind: str) -> dict | None:
    """The part of `schema` that describes values of JSON type `kind`, if any."""
    if "anyOf" in schema:
        for branch in schema["anyOf"]:
            if isinstance(branch, dict) and _branch_of(branch, kind) is not None:
                return branch
        return None
    kinds = _types(schema)
    if not kinds or kind in kinds or (kind == "integer" and "number" in kinds):
        return schema
    return None


def _schema_for(schema: dict, kind: str) -> dict:
    """The (mutable) schema dict that describes values of `kind` within `schema`."""
    return _branch_of(schema, kind) or schema
