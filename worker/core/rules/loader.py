"""Loading a study's rules folder and checking it against the live project.

A rules folder holds:

- ``params.toml``: every number and code the checks use (see :mod:`.params`);
- ``checks.py`` or a ``checks/`` package: Python checks declared with ``@check`` and
  ``@check_all`` (see :mod:`.declare`). The folder is not on ``sys.path``: it is imported by
  file path under a unique module name, so two rules folders (or two copies of one) never
  collide. Optionally the module defines ``validate(params, schema, mapping) -> list[str]``
  (study-specific consistency problems), ``schedule(participant, as_of, params) ->
  list[VisitRow]`` (the visit schedule the ``visits`` command shows) and
  ``progress(participant, as_of, params) -> dict[str, int]`` (the study's progress
  counters, added up over participants for summaries and reports);
- ``logic_rules.toml``: checks written as REDCap logic (see :mod:`.logic_rules`);
- ``study.toml``: the study's own words for reports, emails and ``visits``, such as what
  the schedule's day numbers count from (see :mod:`.wording`).

Every problem found (a name the project lacks, a duplicate check ID, ...) is listed in one
one-line :class:`MappingError`.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from worker.core.mapping import MappingSpec
from worker.core.rules.declare import PythonCheck, declared_check
from worker.core.rules.logic_rules import LogicRule, load_logic_rules
from worker.core.rules.params import Params, name_problems, schema_labeller
from worker.core.rules.ruleset import Ruleset
from worker.core.rules.wording import STUDY_FILE, load_wording
from worker.core.schema import ProjectSchema
from worker.errors import MappingError
from worker.tomlfile import read_toml

PARAMS_FILE = "params.toml"
CHECKS_MODULE = "checks"
LOGIC_FILE = "logic_rules.toml"

_serial = itertools.count(1)


def load_ruleset(rules_dir: Path, *, schema: ProjectSchema, mapping: MappingSpec) -> Ruleset:
    rules_dir = Path(rules_dir)
    if not rules_dir.is_dir():
        raise MappingError(f"rules folder not found: {rules_dir}")
    wording = load_wording(rules_dir)
    data = _read_params(rules_dir / PARAMS_FILE)
    problems = name_problems(data, schema)
    params = Params(data, label=schema_labeller(schema))

    module = _import_checks(rules_dir)
    python_checks = _declared_checks(module) if module is not None else []
    logic_rules: list[LogicRule] = []
    if (rules_dir / LOGIC_FILE).is_file():
        logic_rules, logic_problems = load_logic_rules(rules_dir / LOGIC_FILE, schema)
        problems.extend(logic_problems)

    seen: dict[str, str] = {}
    infos = [c.info for c in python_checks] + [r.info for r in logic_rules]
    for info in infos:
        if info.id in seen:
            problems.append(
                f"check {info.id} is declared twice ({seen[info.id]} and {info.source}): "
                "one source of truth per check"
            )
        seen[info.id] = info.source

    if hasattr(module, "SCHEDULE_ANCHOR"):
        # Once read from the checks; a study still setting it there would lose its words.
        problems.append(
            f"the checks define SCHEDULE_ANCHOR, which is no longer read: give it as "
            f"schedule_anchor in the [wording] table of {STUDY_FILE}"
        )
    validate = getattr(module, "validate", None)
    if callable(validate):
        problems.extend(str(p) for p in validate(params, schema, mapping))
    if problems:
        raise MappingError(
            f"the rules in {rules_dir} do not match the project ({len(problems)} problem(s)): "
            + "; ".join(problems)
        )
    schedule = getattr(module, "schedule", None)
    progress = getattr(module, "progress", None)
    return Ruleset(
        path=rules_dir,
        schema=schema,
        mapping=mapping,
        params=params,
        python_checks=tuple(sorted(python_checks, key=lambda c: c.info.id)),
        logic_rules=tuple(logic_rules),
        schedule_fn=schedule if callable(schedule) else None,
        progress_fn=progress if callable(progress) else None,
        wording=wording,
    )


def _read_params(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return read_toml(path, "rules file", MappingError)


def _import_checks(rules_dir: Path) -> ModuleType | None:
    package = rules_dir / CHECKS_MODULE
    single = rules_dir / f"{CHECKS_MODULE}.py"
    slug = re.sub(r"\W", "_", rules_dir.resolve().name)
    name = f"_worker_rules_{next(_serial)}_{slug}"
    if (package / "__init__.py").is_file():
        location = package / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            name, location, submodule_search_locations=[str(package)]
        )
    elif single.is_file():
        location = single
        spec = importlib.util.spec_from_file_location(name, single)
    else:
        return None
    if spec is None or spec.loader is None:
        raise MappingError(f"rules: cannot import {location}")
    module = importlib.util.module_from_spec(spec)
    # Registered before running, so the package's relative imports resolve to it.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[loaded]
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        raise MappingError(
            f"rules: the checks in {location} cannot be loaded: {type(exc).__name__}: {exc}{where}"
        ) from None
    return module


def _declared_checks(module: ModuleType) -> list[PythonCheck]:
    """Every check declared in the module or (for a package) any of its submodules."""
    prefix = module.__name__
    modules = [m for n, m in list(sys.modules.items()) if n == prefix or n.startswith(f"{prefix}.")]
    found: dict[int, PythonCheck] = {}
    for mod in modules:
        for value in vars(mod).values():
            declared = declared_check(value)
            if declared is not None:
                found[id(value)] = declared
    return list(found.values())
