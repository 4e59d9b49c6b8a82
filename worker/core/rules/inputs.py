"""What each check reads, and which checks the live project no longer lets run.

A check whose inputs drifted (a field deleted or renamed, a form or event gone, a mapping
part broken) is *quarantined*: not run, its queries left as they are, and said so wherever
people look. Every other check runs. Inputs come from:

- logic rules: the fields and events their logic names (derived at load, see
  :mod:`.logic_rules`);
- Python checks: the mapping parts they read, derived from the names their code (and the
  rules folder's helper functions it calls) uses, plus the fields declared with
  ``@check(..., reads=[...])``.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from worker.core.rules.declare import CheckInfo, PythonCheck
from worker.core.schema import ProjectSchema


@dataclass(frozen=True, slots=True)
class Quarantine:
    """A check that does not run because the project no longer has what it reads."""

    check: CheckInfo
    reasons: tuple[str, ...]  # one line each, naming the field, form, event or part

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def code_names(fn: Callable[..., object], module_prefix: str) -> frozenset[str]:
    """Every attribute and global name the function's code uses, following the functions it
    calls that live in the rules folder (``module_prefix``), nested code included."""
    names: set[str] = set()
    seen: set[int] = set()
    pending: list[Callable[..., object]] = [fn]
    while pending:
        current = pending.pop()
        code = getattr(current, "__code__", None)
        if code is None or id(code) in seen:
            continue
        seen.add(id(code))
        found = _names_of(code)
        names |= found
        scope = getattr(current, "__globals__", {})
        for name in found:
            value = scope.get(name)
            if isinstance(value, types.ModuleType) and value.__name__.startswith(module_prefix):
                # ``terms.first_dose(p)``: the module's functions this code names.
                members = (_ours(getattr(value, n, None), module_prefix) for n in found)
                pending.extend(m for m in members if m is not None)
            elif (function := _ours(value, module_prefix)) is not None:
                pending.append(function)
    return frozenset(names)


def _ours(value: object, module_prefix: str) -> types.FunctionType | None:
    """The plain function defined in the rules folder that ``value`` is (or wraps, as a
    ``functools.cache`` does), if any."""
    value = getattr(value, "__wrapped__", value)
    if isinstance(value, types.FunctionType) and value.__module__.startswith(module_prefix):
        return value
    return None


def _names_of(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_of(const)
        elif isinstance(const, str) and const.isidentifier():
            names.add(const)  # getattr(p, "part") and the like
    return names


def python_quarantines(
    checks: Iterable[PythonCheck],
    *,
    schema: ProjectSchema,
    broken_parts: Mapping[str, list[str]],
    module_prefix: str,
) -> list[Quarantine]:
    """The Python checks that read a broken mapping part or a declared field the project
    lacks."""
    found: list[Quarantine] = []
    for c in checks:
        reasons = [
            f"field '{name}' is not in the project" for name in c.reads if name not in schema.fields
        ]
        if broken_parts:
            names = code_names(c.run, module_prefix)
            if c.key is not None:
                names |= code_names(c.key, module_prefix)
            for part in sorted(names & set(broken_parts)):
                reasons.extend(broken_parts[part])
        if reasons:
            found.append(Quarantine(c.info, tuple(reasons)))
    return found
