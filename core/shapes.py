"""Response shapes declared once.

A shape is a ``TypedDict``: the selector that builds an answer returns it (mypy checks every key
and type), and OpenAPI publishes it. msgspec writes its JSON schema (descriptions and bounds
come from ``Annotated[..., msgspec.Meta(...)]``); ``schema_ref`` names it in a view's
``extend_schema`` and ``add_shape_components``, a drf-spectacular postprocessing hook, adds every
shape named so to the document's components. So the type a view encodes is the type the schema
publishes, and schemathesis checks every answer against it (tests/api/test_schemathesis.py).

Why not DRF serializers for both: encoding through them cost more than the rest of a cached
answer (the answers are built as dicts and encoded by msgspec, ``core.renderers``), so they only
described the answers and drifted from them.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

# ISO 8601 strings, as the selectors write them (``core.times.iso``)
Instant = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]
Day = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date"})]
# Discord ids travel as strings (they exceed JavaScript's integers)
Id = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,20}$")]

_SHAPES: dict[str, Any] = {}
PREFIX = "#/components/schemas/"


def schema_ref(shape: Any) -> dict[str, str]:
    """The ``$ref`` to ``shape``'s component (registering it)."""
    name = shape.__name__
    known = _SHAPES.setdefault(name, shape)
    if known is not shape:
        raise ValueError(f"two response shapes are named {name}: {known} and {shape}")
    return {"$ref": PREFIX + name}


def shape_components() -> dict[str, Any]:
    """The JSON schemas of every registered shape and of the shapes they contain."""
    shapes = [_SHAPES[name] for name in sorted(_SHAPES)]
    refs, components = msgspec.json.schema_components(shapes, ref_template=PREFIX + "{name}")
    for name, ref in zip(sorted(_SHAPES), refs, strict=True):
        if ref != {"$ref": PREFIX + name}:  # msgspec qualified a name that two shapes share
            raise ValueError(f"response shape {name} is published as {ref}")
    return {name: _openapi_30(schema) for name, schema in components.items()}


def _openapi_30(schema: Any) -> Any:
    """msgspec writes JSON Schema 2020-12; the document is OpenAPI 3.0, which has no ``null``
    type: ``anyOf: [X, {"type": "null"}]`` becomes X with ``nullable`` (a ``$ref`` inside an
    ``allOf``, as a ``$ref`` takes no sibling keys in 3.0)."""
    if isinstance(schema, list):
        return [_openapi_30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: _openapi_30(value) for key, value in schema.items()}
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        if len(rest) == 1 and "$ref" in rest[0]:
            schema.update(allOf=rest, nullable=True)
        elif len(rest) == 1:
            schema.update(rest[0], nullable=True)
        else:
            schema.update(anyOf=rest, nullable=True)
    return schema


def add_shape_components(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """drf-spectacular's postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in shape_components().items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"component {name} is declared twice")
        schemas[name] = schema
    return result
