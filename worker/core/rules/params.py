"""A study's parameters (``params.toml``): read-only attribute access, validated names.

Every number and code a study's checks use lives in its ``params.toml``, with the protocol
section it comes from, so changing a parameter needs no code change. Checks read them as
``params.release.viability_min``.

A study declares them as typed classes: a :class:`StudyParams` subclass named ``Params``
in its checks (one attribute per table of the file, each table a :class:`ParamsTable`
subclass), so a type checker knows every parameter, and a parameter the file lacks, has
too many of or gives the wrong type is a load error naming the key. Without one, checks get
:class:`Params`, an untyped view where a missing parameter raises ``AttributeError``
naming the full key.

Names in the file are checked against the live project when the rules are loaded:

- ``[codes.<field>]`` tables: ``<field>`` must be a coded field (radio, dropdown, ...) and
  every value one of its codes, e.g. ``[codes.visit_status] done = "1"``.
- keys named ``field``/``event``/``form`` or ending in ``_field``/``_event``/``_form`` (or
  the plural, holding a list): each value must name a field, event or form of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from worker.core.schema import ProjectSchema

CODES = "codes"
LabelFn = Callable[[str, str | None], str]


class ParamsTable(BaseModel):
    """A table of ``params.toml``, declared with its keys and their types. Read-only; a
    key the declaration lacks is an error (a misspelt key in the file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class StudyParams(ParamsTable):
    """Base of a study's declared parameters (the whole of ``params.toml``)."""

    _label: LabelFn | None = PrivateAttr(default=None)

    def label(self, field: str, code: str | None) -> str:
        """A code's label from the data dictionary (``"Normal"``), ``"blank"`` for no value.

        Labels come from the project, never from a record, so messages may show them.
        """
        if code is None:
            return "blank"
        label = self._label  # read once: a private attribute is slow to read on a model
        return code if label is None else label(field, code)


def typed_params(
    model: type[StudyParams], data: Mapping[str, Any], label: LabelFn, *, declared_in: str
) -> tuple[StudyParams | None, list[str]]:
    """``params.toml`` read into the study's declared class, or every key it gets wrong."""
    try:
        params = model.model_validate(data)
    except ValidationError as exc:
        return None, [
            f"params.toml {'.'.join(str(p) for p in error['loc']) or '(top level)'}: "
            f"{error['msg']} (class {model.__name__} in {declared_in})"
            for error in exc.errors(include_url=False, include_input=False)
        ]
    params._label = label
    return params, []


class Params:
    """Read-only view of a TOML table; nested tables are ``Params`` too, lists are tuples."""

    def __init__(self, data: Mapping[str, Any], *, label: LabelFn | None = None, path: str = ""):
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_label", label)
        # Wrapped once here: checks read parameters per participant, thousands of times.
        object.__setattr__(self, "_data", {k: self._wrap(k, v) for k, v in data.items()})
        # ...so each is also an ordinary attribute (found without calling __getattr__), but
        # for names the class itself uses (``label``): those are read by ``params["label"]``.
        for key, value in self._data.items():
            if key.isidentifier() and not key.startswith("_") and not hasattr(Params, key):
                object.__setattr__(self, key, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # slots not yet set (copy, pickle): never recurse
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            key = self._key(name)
            raise AttributeError(f"params.toml has no parameter '{key}'", name=key) from None

    def __getitem__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            key = self._key(name)
            raise AttributeError(f"params.toml has no parameter '{key}'", name=key) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("parameters are read-only")

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __repr__(self) -> str:
        return f"Params({self._path or 'params'}: {', '.join(self._data)})"

    def _key(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def _wrap(self, name: str, value: Any) -> Any:
        if isinstance(value, Mapping):
            return Params(value, label=self._label, path=self._key(name))
        if isinstance(value, list):
            return tuple(self._wrap(name, v) for v in value)
        return value

    def label(self, field: str, code: str | None) -> str:
        """A code's label from the data dictionary (``"Normal"``), ``"blank"`` for no value.

        Labels come from the project, never from a record, so messages may show them.
        """
        if code is None:
            return "blank"
        if self._label is None:
            return code
        return self._label(field, code)


def schema_labeller(schema: ProjectSchema) -> LabelFn:
    def label(field: str, code: str | None) -> str:
        if code is None:
            return "blank"
        definition = schema.fields.get(field)
        if definition is None:
            return code
        return definition.choices.get(code, code)

    return label


_KINDS = ("field", "event", "form")


def _kind_of_key(key: str) -> str | None:
    for kind in _KINDS:
        if key in (kind, f"{kind}s") or key.endswith((f"_{kind}", f"_{kind}s")):
            return kind
    return None


def name_problems(data: Mapping[str, Any], schema: ProjectSchema, *, path: str = "") -> list[str]:
    """Every field, event, form or code that ``params.toml`` names and the project lacks."""
    problems: list[str] = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if key == CODES and not path and isinstance(value, Mapping):
            problems.extend(_code_problems(value, schema))
        elif isinstance(value, Mapping):
            problems.extend(name_problems(value, schema, path=where))
        elif (kind := _kind_of_key(key)) is not None:
            names = value if isinstance(value, list) else [value]
            problems.extend(
                f"params {where}: {kind} '{name}' is not in the project"
                for name in names
                if not _exists(kind, str(name), schema)
            )
    return problems


def _exists(kind: str, name: str, schema: ProjectSchema) -> bool:
    if kind == "field":
        return name in schema.fields
    if kind == "form":
        return name in schema.forms
    return bool(schema.events_of_visit(name))  # an event, or a visit (one in every arm)


def _code_problems(codes: Mapping[str, Any], schema: ProjectSchema) -> list[str]:
    problems: list[str] = []
    for field_name, named in codes.items():
        field = schema.fields.get(field_name)
        if field is None:
            problems.append(
                f"params codes.{field_name}: field '{field_name}' is not in the project"
            )
            continue
        if not field.has_codes:
            problems.append(f"params codes.{field_name}: field '{field_name}' has no codes")
            continue
        if not isinstance(named, Mapping):
            problems.append(f"params codes.{field_name}: expected a table of named codes")
            continue
        for name, code in named.items():
            if str(code) not in field.choices:
                problems.append(
                    f"params codes.{field_name}.{name}: '{code}' is not a code of "
                    f"field '{field_name}' (codes: {', '.join(field.choices)})"
                )
    return problems
