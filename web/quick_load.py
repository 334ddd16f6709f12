"""A schema's own loading, at batch speed: ``QuickLoader(schema).load(record)``.

Why: loading 20,000 offers with ``schema.load`` costs about 0.3 ms each, almost all
of it marshmallow's general machinery (an error store, a closure and a hook
dispatch per field and per nested schema), not the rules themselves. And a
batch's records repeat most of their values: the same codes, the same
availability windows, the same trainings, the same consent.

How it keeps the API's rules, with no second copy of them: nothing here says
what is valid.

- Every single value is loaded by the schema's own field object
  (``field.deserialize``, with its validators). A list is loaded item by item by
  its inner field, then checked by the list's own validators; a nested object
  by its schema's lean loop, then the field's validators: what marshmallow's
  List and Nested do. Every pre_load, validates_schema and post_load hook of
  the schema runs on every record.
- What a field's value loaded to is remembered, per field, for the values it
  sees again. That holds for field classes whose result depends only on the
  value and the vocabularies in force (``PURE``, and lists and nested schemas
  of them, whose hooks are taken to depend on their data alone, as every input
  schema's do); the memory is emptied whenever the vocabularies in force change.
- A lean loop over the schema's fields takes the place of marshmallow's general
  one, for the schema options it mirrors (``_lean_loop`` refuses any other).
- Whenever anything fails, the record is loaded again by ``schema.load`` itself:
  a bad record gets marshmallow's errors, word for word, and a record this path
  cannot vouch for gets marshmallow's answer, whatever it is.

``tests/unit/test_quick_load.py`` checks on good and mutated bad records that
the result is always exactly what ``schema.load`` gives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from marshmallow import RAISE, Schema, fields, missing
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from web.schemas import StrictBoolean
from web.vocabulary import Code, codes_in_force

# Field classes (exactly these, not subclasses) whose load is a function of the value
# alone, and for Code of the vocabularies in force. Any other class is loaded afresh
# every time: correct, only not remembered.
PURE: frozenset[type] = frozenset(
    {fields.String, fields.Email, fields.Integer, fields.Boolean, StrictBoolean, fields.Date, Code}
)
# Values remembered by value; floats are not (0.0 == -0.0 would share a result).
_ATOMS: frozenset[type] = frozenset({str, int, bool, type(None)})
# Results made only of these can be handed out again as fresh copies.
_IMMUTABLE = (str, int, float, bool, type(None), date, datetime)

LoadValue = Callable[[Any, "str | None", Any], Any]


class _Unsure(Exception):
    """The lean loop cannot vouch for this record: ``schema.load`` decides."""


def _frozen(value: Any) -> Any:
    """A hashable key equal only for values that load alike (types kept apart: True is not 1)."""
    kind = type(value)
    if kind in _ATOMS:
        return (kind, value)
    if kind is list:
        return (list, *map(_frozen, value))
    if kind is dict:
        return (dict, *((k, _frozen(v)) for k, v in value.items()))
    raise _Unsure  # floats and anything else: not remembered


# How a remembered result is handed out again, so that no two records share a list or dict.
_AS_IS, _FLAT_LIST, _FLAT_DICT, _DEEP = range(4)


def _deep_copy(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_deep_copy(v) for v in value]
    if kind is dict:
        return {k: _deep_copy(v) for k, v in value.items()}
    return value


def _copy_kind(value: Any) -> int | None:
    """How to copy ``value``; None if it holds anything not known to be immutable."""
    kind = type(value)
    if kind is list or kind is dict:
        items = value if kind is list else value.values()
        inner = [_copy_kind(v) for v in items]
        if None in inner:
            return None
        if all(k == _AS_IS for k in inner):
            return _FLAT_LIST if kind is list else _FLAT_DICT
        return _DEEP
    return _AS_IS if isinstance(value, _IMMUTABLE) else None


_COPY: dict[int, Callable[[Any], Any] | None] = {
    _AS_IS: None,
    _FLAT_LIST: list.copy,
    _FLAT_DICT: dict.copy,
    _DEEP: _deep_copy,
}


class QuickLoader:
    """Loads like ``schema.load(data)`` (a single record, the schema's own options)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._memories: list[dict[Any, Any]] = []
        self._memory_of: dict[int, dict[Any, Any]] = {}  # by id of a field's remembered load
        self._vocabularies: object = object()
        self._load = _lean_loop(schema, self._field, self._memory_of.get)

    def load(self, data: Any) -> Any:
        vocabularies = codes_in_force.get(None)
        if vocabularies is not self._vocabularies:  # remembered codes were checked against the old ones
            for memory in self._memories:
                memory.clear()
            self._vocabularies = vocabularies
        if self._load is not None:
            try:
                return self._load(data)
            except Exception:  # noqa: BLE001 - marshmallow's own load gives the answer, error or not
                pass
        return self.schema.load(data)

    def _remembered(
        self, field: fields.Field, compute: LoadValue | None = None
    ) -> tuple[LoadValue, Callable[[Any, Any, str | None, Any], Any]]:
        """The field's load (its own ``deserialize`` unless ``compute`` is given), remembered
        by value: ``load(value, name, data)``, and ``load_keyed(key, value, ...)`` for a
        caller that has the value's key already."""
        memory: dict[Any, Any] = {}
        self._memories.append(memory)
        deserialize = compute or field.deserialize

        def load_keyed(key: Any, value: Any, name: str | None, data: Any) -> Any:
            known = memory.get(key)
            if known is not None:
                copy, result = known
                return result if copy is None else copy(result)
            result = deserialize(value, name, data)  # an error propagates, and is not remembered
            copy_kind = _copy_kind(result)
            if copy_kind is not None:
                copy = _COPY[copy_kind]
                memory[key] = (copy, result)
                result = result if copy is None else copy(result)
            return result

        def load(value: Any, name: str | None, data: Any) -> Any:
            kind = type(value)
            try:
                key = (kind, value) if kind in _ATOMS else _frozen(value)
            except _Unsure:
                return deserialize(value, name, data)
            return load_keyed(key, value, name, data)

        self._memory_of[id(load)] = memory
        return load, load_keyed

    def _field(self, field: fields.Field) -> LoadValue:
        kind = type(field)
        if field.pre_load or field.post_load:
            return field.deserialize
        if kind is fields.List:
            return self._list(field)  # type: ignore[arg-type]
        if kind is fields.Nested:
            return self._nested(field)  # type: ignore[arg-type]
        if kind in PURE:
            return self._remembered(field)[0]
        return field.deserialize

    def _list(self, field: fields.List) -> LoadValue:
        """A list of codes is remembered whole; a list of windows, item by item."""
        item = self._field(field.inner)
        validate = field._validate  # the list's own validators (length, unique)

        def each(value: Any, name: str | None, data: Any) -> Any:
            # What List.deserialize does with a list, each item loaded (and remembered) by the inner field.
            result = [item(v, None, None) for v in value]
            validate(result)
            return result

        whole, whole_keyed = self._remembered(field, each)
        memory = self._memory_of[id(whole)]

        def load(value: Any, name: str | None, data: Any) -> Any:
            if type(value) is not list:
                return field.deserialize(value, name, data)
            types = tuple(map(type, value))
            if _ATOMS.issuperset(types):
                return whole_keyed((list, types, tuple(value)), value, name, data)
            return each(value, name, data)

        self._memory_of[id(load)] = memory  # keyed as above: (list, item types, items)
        return load

    def _nested(self, field: fields.Nested) -> LoadValue:
        """A nested object, remembered whole; one not seen yet is loaded by the lean loop
        of its own schema (its fields remembered in turn)."""
        inner = None
        if not field.many and not field.schema.many and field.unknown is None:
            inner = _lean_loop(field.schema, self._field, self._memory_of.get)

        def fresh(value: Any, name: str | None, data: Any) -> Any:
            if inner is None or type(value) is not dict:
                return field.deserialize(value, name, data)
            try:
                result = inner(value)
            except Exception:  # noqa: BLE001 - the field's own load gives the answer, error or not
                return field.deserialize(value, name, data)
            field._validate(result)  # What Nested.deserialize does after loading: the field's own validators.
            return result

        return self._remembered(field, fresh)[0]


def _lean_loop(
    schema: Schema,
    compile_field: Callable[[fields.Field], LoadValue],
    memory_of: Callable[[int], dict[Any, Any] | None],
) -> Callable[[Any], Any] | None:
    """Marshmallow's ``_do_load`` for one record, without its general machinery; None if
    the schema uses an option this loop does not mirror (then ``schema.load`` does it all).
    A value seen before is looked up here, in its field's memory, without a call."""
    hooks = schema._hooks
    if schema.many or schema.partial or schema.unknown != RAISE or hooks[VALIDATES]:
        return None
    if any(many or kw.get("pass_original") for tag in (PRE_LOAD, VALIDATES_SCHEMA, POST_LOAD)
           for _, many, kw in hooks[tag]):  # fmt: skip
        return None
    if any(f.data_key is not None or (f.attribute and "." in f.attribute) for f in schema.load_fields.values()):
        return None
    hook_kwargs = {"many": False, "partial": schema.partial, "unknown": schema.unknown}
    pre = [getattr(schema, name) for name, _, _ in hooks[PRE_LOAD]]
    checks = [getattr(schema, name) for name, _, _ in hooks[VALIDATES_SCHEMA]]
    post = [getattr(schema, name) for name, _, _ in hooks[POST_LOAD]]
    plan = []
    for name, field in schema.load_fields.items():
        load_value = compile_field(field)
        # Missing: what Field.deserialize gives for a missing value (required ones: marshmallow's error).
        default = field.load_default
        plan.append((name, field.attribute or name, load_value, memory_of(id(load_value)), type(field) is fields.List,
                     field.required, default, callable(default)))  # fmt: skip
    known = frozenset(schema.load_fields)

    def load(data: Any) -> Any:
        for hook in pre:
            data = hook(data, **hook_kwargs)
        if type(data) is not dict or not known.issuperset(data):
            raise _Unsure  # not an object, or unknown fields: marshmallow words the error
        result: dict[str, Any] = {}
        for name, attribute, load_value, memory, is_list, required, default, make_default in plan:
            raw = data.get(name, missing)
            if raw is missing:
                if required:
                    raise _Unsure
                value = default() if make_default else default
            else:
                known_value = None
                if memory is not None:
                    kind = type(raw)
                    if kind is list:
                        types = tuple(map(type, raw))
                        if is_list and _ATOMS.issuperset(types):
                            known_value = memory.get((list, types, tuple(raw)))
                    elif kind in _ATOMS and not is_list:
                        known_value = memory.get((kind, raw))
                if known_value is None:
                    value = load_value(raw, name, data)
                else:
                    copy, value = known_value
                    if copy is not None:
                        value = copy(value)
            if value is not missing:
                result[attribute] = value
        for check in checks:
            check(result, **hook_kwargs)
        for hook in post:
            result = hook(result, **hook_kwargs)
        return result

    return load
