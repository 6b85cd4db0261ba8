"""Checking a parsed answer against the JSON Schema a trial asked for, without a validator dependency.

The package validates the subset of JSON Schema (draft 2020-12) that extraction schemas use, and that
OpenRouter's ``structured_outputs`` accept: ``type`` (one or a list), ``properties``, ``required``,
``additionalProperties`` (a bool or a schema), ``items``, ``prefixItems``, ``enum``, ``const``, ``minimum``,
``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``, ``maxLength``, ``pattern``, ``minItems``,
``maxItems``, ``anyOf``, ``oneOf``, ``allOf``, ``not`` and local ``$ref`` (``#/$defs/...``, ``#/definitions/...``,
as pydantic writes them). Other keywords (``format``, ``title``, ``description``...) are annotations here, as
the specification allows. A pydantic model class is turned into its schema by ``model_json_schema()``, and an
answer is valid for it when ``model_validate`` accepts it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_dict(schema: Any) -> dict[str, Any]:
    """``schema`` as a JSON Schema dict: a dict as it is, a pydantic model class through ``model_json_schema()``."""
    if isinstance(schema, Mapping):
        return dict(schema)
    maker = getattr(schema, "model_json_schema", None)
    if callable(maker):
        made = maker()
        if isinstance(made, Mapping):
            return dict(made)
    raise TypeError(f"schema must be a JSON Schema dict or a pydantic model class, not {type(schema).__name__}")


def check_schema_refs(schema: Any) -> None:
    """Every ``$ref`` of ``schema`` resolved now, so a schema answers could not be scored against is refused
    before any page is paid for (a ``ValueError`` naming the reference); a pydantic class is its own checker."""
    if not isinstance(schema, Mapping):
        return
    root = dict(schema)
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str):
                _resolve(ref, root)
            elif ref is not None:
                raise ValueError(f"$ref must be a string such as '#/$defs/Item', not {ref!r:.80}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def schema_errors(value: Any, schema: Any, *, limit: int = 5) -> list[str]:
    """Why ``value`` does not match ``schema`` (at most ``limit`` reasons, each naming where); empty when it does."""
    validate = getattr(schema, "model_validate", None)
    if not isinstance(schema, Mapping) and callable(validate):
        try:
            validate(value)
        except Exception as exc:  # pydantic's ValidationError (a ValueError), whatever its version
            return [str(exc).splitlines()[0][:200]]
        return []
    root = schema_dict(schema)
    errors: list[str] = []
    _check(value, root, root, "$", errors, limit)
    return errors


def is_valid(value: Any, schema: Any) -> bool:
    """Whether ``value`` matches ``schema`` (a JSON Schema dict or a pydantic model class)."""
    return not schema_errors(value, schema, limit=1)


def _check(value: Any, schema: Any, root: dict, where: str, errors: list[str], limit: int) -> None:  # noqa: C901
    if len(errors) >= limit or schema is True or schema is None:
        return
    if schema is False:
        errors.append(f"{where}: no value is allowed here")
        return
    if "$ref" in schema:
        _check(value, _resolve(schema["$ref"], root), root, where, errors, limit)
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_TYPES.get(n, lambda v: True)(value) for n in names):
            errors.append(f"{where}: expected {' or '.join(names)}, got {_json_type(value)}")
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r:.40} is not one of {schema['enum']!r:.80}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: expected {schema['const']!r:.40}")
    _check_bounds(value, schema, where, errors)
    if isinstance(value, dict):
        _check_object(value, schema, root, where, errors, limit)
    if isinstance(value, list):
        _check_array(value, schema, root, where, errors, limit)
    for sub in schema.get("allOf", ()):
        _check(value, sub, root, where, errors, limit)
    for keyword, wanted in (("anyOf", "at least one"), ("oneOf", "exactly one")):
        if keyword in schema:
            passing = sum(not schema_errors(value, {**sub, "$defs": _defs(root)}) for sub in schema[keyword])
            if passing == 0 or (keyword == "oneOf" and passing != 1):
                errors.append(f"{where}: matches {passing} of the {keyword} choices, not {wanted}")
    if "not" in schema and not schema_errors(value, {**schema["not"], "$defs": _defs(root)}):
        errors.append(f"{where}: matches a schema it must not")


def _defs(root: dict) -> dict:
    return {**root.get("definitions", {}), **root.get("$defs", {})}


def _check_bounds(value: Any, schema: Mapping, where: str, errors: list[str]) -> None:
    if _TYPES["number"](value):
        for keyword, fails in (("minimum", lambda v, b: v < b), ("maximum", lambda v, b: v > b),
                               ("exclusiveMinimum", lambda v, b: v <= b), ("exclusiveMaximum", lambda v, b: v >= b)):  # fmt: skip
            if keyword in schema and fails(value, schema[keyword]):
                errors.append(f"{where}: {value!r} breaks {keyword} {schema[keyword]!r}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append(f"{where}: {value!r:.40} does not match {schema['pattern']!r}")


def _check_object(value: dict, schema: Mapping, root: dict, where: str, errors: list[str], limit: int) -> None:
    properties = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            errors.append(f"{where}: required field {name!r} is missing")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], root, f"{where}.{name}", errors, limit)
        elif extra is False:
            errors.append(f"{where}: field {name!r:.40} is not allowed")
        elif isinstance(extra, Mapping):
            _check(item, extra, root, f"{where}.{name}", errors, limit)


def _check_array(value: list, schema: Mapping, root: dict, where: str, errors: list[str], limit: int) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(f"{where}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{where}: more than {schema['maxItems']} items")
    prefix = schema.get("prefixItems", [])
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else schema.get("items", True)
        _check(item, sub, root, f"{where}[{i}]", errors, limit)


def _resolve(ref: str, root: dict) -> Any:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref ('#/$defs/...') are supported, not {ref!r}")
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise ValueError(f"$ref {ref!r} points nowhere in the schema")
        node = node[part]
    return node


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPES[name](value):
            return name
    return type(value).__name__
