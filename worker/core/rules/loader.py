"""Loading a study's rules folder and checking it against the live project.

A rules folder holds:

- ``params.toml``: every number and code the checks use (see :mod:`.params`);
- ``checks.py`` or a ``checks/`` package: Python checks declared with ``@check`` and
  ``@check_all`` (see :mod:`.declare`), and the typed ``Participant`` and ``Params``
  classes they read (see :mod:`.study_models`). The folder is not on ``sys.path``: it is
  imported by file path under a unique private module name, so two rules folders (or two
  copies of one) never collide, and it is imported once per content (see
  :func:`_import_checks`). Optionally the module defines ``validate(params, schema, mapping)
  -> list[str]`` (study-specific consistency problems) and ``progress(participant, as_of,
  params) -> dict[str, int]`` (the study's progress counters, added up over participants
  for summaries and reports), and ``@condition`` functions ``schedule.toml`` names;
- ``schedule.toml``: the visit schedule, its window and missed-visit checks and grace
  periods (see :mod:`worker.core.schedule`); ``visits``, the report's timelines and the
  emails' due visits come from it;
- ``logic_rules.toml``: checks written as REDCap logic (see :mod:`.logic_rules`);
- ``study.toml``: the study's own words for reports, emails and ``visits``, such as what
  the schedule's day numbers count from (see :mod:`.wording`).

Every problem found (a name the project lacks, a duplicate check ID, ...) is listed in one
one-line :class:`MappingError`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import re
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from worker.core.mapping import MappingSpec, declared_drift, parts_drift
from worker.core.rules.declare import PythonCheck, declared_check
from worker.core.rules.inputs import Quarantine, python_quarantines
from worker.core.rules.logic_rules import LogicRule, compile_logic_rules
from worker.core.rules.params import name_problems
from worker.core.rules.ruleset import Ruleset
from worker.core.rules.study_models import study_params, study_participant
from worker.core.rules.wording import STUDY_FILE, load_wording
from worker.core.schema import ProjectSchema
from worker.errors import MappingError
from worker.tomlfile import read_toml

if TYPE_CHECKING:
    from worker.core.schedule import ConditionFn, Schedule

PARAMS_FILE = "params.toml"
CHECKS_MODULE = "checks"
LOGIC_FILE = "logic_rules.toml"

_serial = itertools.count(1)


@dataclass(frozen=True)
class _ImportedChecks:
    """A rules folder's checks as imported from one content of its Python files."""

    digest: str
    module: ModuleType
    submodules: tuple[ModuleType, ...]  # the module and, for a package, its submodules

    @property
    def files(self) -> dict[str, str]:
        """Each module's file by its (private) name: they are not in ``sys.modules``."""
        return {m.__name__: m.__file__ for m in self.submodules if m.__file__ is not None}


# Resolved rules folder -> its checks as last imported; the oldest folders make way beyond
# _KEEP_FOLDERS (a worker has one study; tests load many folders in one process).
_imported: OrderedDict[Path, _ImportedChecks] = OrderedDict()
_imported_lock = threading.Lock()
_KEEP_FOLDERS = 8


def load_ruleset(rules_dir: Path, *, schema: ProjectSchema, mapping: MappingSpec) -> Ruleset:
    rules_dir = Path(rules_dir)
    if not rules_dir.is_dir():
        raise MappingError(f"rules folder not found: {rules_dir}")
    wording = load_wording(rules_dir)
    data = _read_params(rules_dir / PARAMS_FILE)
    problems = name_problems(data, schema)

    imported = _import_checks(rules_dir)
    module = imported.module if imported is not None else None
    files = imported.files if imported is not None else {}
    params, params_problems = study_params(module, data, schema, rules_dir, files)
    participant_model, model_problems = study_participant(module, mapping, schema, rules_dir, files)
    problems.extend(params_problems + model_problems)
    python_checks = _declared_checks(imported.submodules) if imported is not None else []
    # Parts the project no longer matches, or whose declared class reads a field it lacks:
    # built empty, and the checks (and schedule) reading them quarantined.
    broken = parts_drift(mapping, schema) | declared_drift(
        participant_model, mapping, schema, root=rules_dir, files=files
    )
    logic_rules: list[LogicRule] = []
    quarantined: list[Quarantine] = []
    if (rules_dir / LOGIC_FILE).is_file():
        logic_rules, quarantined, logic_problems = compile_logic_rules(
            rules_dir / LOGIC_FILE, schema
        )
        problems.extend(logic_problems)
    if module is not None:
        quarantined.extend(
            python_quarantines(
                python_checks,
                schema=schema,
                broken_parts=broken,
                module_prefix=module.__name__,
            )
        )
    held = {q.check.id for q in quarantined}
    python_checks = [c for c in python_checks if c.info.id not in held]

    modules = imported.submodules if imported is not None else ()
    visit_schedule, held_schedule = _schedule(rules_dir, schema, mapping, modules, problems, broken)
    quarantined.extend(held_schedule)
    seen: dict[str, str] = {}
    infos = (
        [c.info for c in python_checks]
        + [r.info for r in logic_rules]
        + [q.check for q in quarantined]
    )
    if visit_schedule is not None:
        infos += [c.info for c in visit_schedule.checks.values()]
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
    if callable(getattr(module, "schedule", None)):
        # Once a Python hook returning rows; a study still defining it would lose its visits.
        problems.append(
            "the checks define schedule(), which is no longer read: declare the visit "
            "schedule in schedule.toml (see the README, 'Visit schedules')"
        )
    validate = getattr(module, "validate", None)
    if callable(validate) and params is not None:
        problems.extend(str(p) for p in validate(params, schema, mapping))
    if problems:
        raise MappingError(
            f"the rules in {rules_dir} do not match the project ({len(problems)} problem(s)): "
            + "; ".join(problems)
        )
    assert params is not None  # else there were problems
    progress = getattr(module, "progress", None)
    return Ruleset(
        path=rules_dir,
        schema=schema,
        mapping=mapping,
        params=params,
        python_checks=tuple(sorted(python_checks, key=lambda c: c.info.id)),
        logic_rules=tuple(logic_rules),
        visit_schedule=visit_schedule,
        quarantined=tuple(sorted(quarantined, key=lambda q: q.check.id)),
        progress_fn=progress if callable(progress) else None,
        wording=wording,
        participant_model=participant_model,
    )


def _schedule(
    rules_dir: Path,
    schema: ProjectSchema,
    mapping: MappingSpec,
    modules: tuple[ModuleType, ...],
    problems: list[str],
    broken: Mapping[str, list[str]],
) -> tuple[Schedule | None, list[Quarantine]]:
    """The folder's declared schedule, bound to its ``@condition`` functions; or, when a
    mapping part it reads has drifted from the project, no schedule and its checks
    quarantined (the rest of the study runs)."""
    # Imported here: the schedule package builds on this package's check declarations.
    from worker.core.schedule import SCHEDULE_FILE, Schedule, load_schedule

    spec, found = load_schedule(rules_dir, schema, mapping)
    if spec is None:
        problems.extend(found)
        return None, []
    # An empty part would read as visits never made: the schedule waits for the project.
    read = (
        {a.part for a in spec.anchors}
        | {v.part for v in spec.visits}
        | {n.part for n in spec.not_expected if n.part}
    )
    drifted = sorted(read & broken.keys())
    if drifted:
        # What the schedule says of those parts' events follows from their drift.
        reasons = tuple(problem for part in drifted for problem in broken[part])
        return None, [Quarantine(check=c.info, reasons=reasons) for c in spec.checks.values()]
    problems.extend(found)
    conditions = _declared_conditions(modules)
    for excuse in spec.not_expected:
        if excuse.condition is not None and excuse.condition not in conditions:
            problems.append(
                f"{SCHEDULE_FILE} names condition '{excuse.condition}', but no @condition "
                "of that name is declared in the checks"
            )
    return Schedule(spec=spec, schema=schema, conditions=conditions), []


def _declared_conditions(modules: tuple[ModuleType, ...]) -> dict[str, ConditionFn]:
    from worker.core.schedule import declared_condition

    found: dict[str, ConditionFn] = {}
    for mod in modules:
        for value in vars(mod).values():
            name = declared_condition(value)
            if name is not None:
                found[name] = value
    return found


def _read_params(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return read_toml(path, "rules file", MappingError)


def _import_checks(rules_dir: Path) -> _ImportedChecks | None:
    """The folder's ``checks`` package or ``checks.py``, imported once per content.

    A long-running worker loads its study for every sync: importing the checks each time
    would add a set of modules to ``sys.modules`` per sync and never free them. So the
    modules are registered there only while they execute (relative imports between them
    resolve through it) and removed at once; the imported modules are kept here with a
    digest of the files' content, and reused until a file changes. Loading a study leaves
    ``sys.modules`` as it found it. Imports inside a check function that run after loading
    cannot reach the package's own modules: import at module level."""
    files = _checks_files(rules_dir)
    if not files:
        return None
    folder = rules_dir.resolve()
    digest = _digest(rules_dir, files)
    with _imported_lock:
        known = _imported.get(folder)
        if known is not None and known.digest == digest:
            _imported.move_to_end(folder)
            return known
        imported = _execute_checks(rules_dir, digest)
        _imported[folder] = imported
        _imported.move_to_end(folder)
        while len(_imported) > _KEEP_FOLDERS:
            _imported.popitem(last=False)
        return imported


def _checks_files(rules_dir: Path) -> list[Path]:
    """The files the checks are made of: the whole ``checks`` package, or ``checks.py``."""
    package = rules_dir / CHECKS_MODULE
    if (package / "__init__.py").is_file():
        return sorted(
            path
            for path in package.rglob("*")
            if path.is_file() and "__pycache__" not in path.relative_to(package).parts
        )
    single = rules_dir / f"{CHECKS_MODULE}.py"
    return [single] if single.is_file() else []


def _digest(rules_dir: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise MappingError(f"rules: cannot read {path}: {exc.strerror}") from None
        name = path.relative_to(rules_dir).as_posix().encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def _execute_checks(rules_dir: Path, digest: str) -> _ImportedChecks:
    package = rules_dir / CHECKS_MODULE
    slug = re.sub(r"\W", "_", rules_dir.resolve().name)
    name = f"_worker_rules_{next(_serial)}_{slug}"
    if (package / "__init__.py").is_file():
        location = package / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            name, location, submodule_search_locations=[str(package)]
        )
    else:
        location = rules_dir / f"{CHECKS_MODULE}.py"
        spec = importlib.util.spec_from_file_location(name, location)
    if spec is None or spec.loader is None:
        raise MappingError(f"rules: cannot import {location}")
    # A file added to the package since the last import must be found by the path finders.
    importlib.invalidate_caches()
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs, so the package's relative imports resolve to it (and
    # dataclasses find their module); removed afterwards, whatever happened.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
        raise MappingError(
            f"rules: the checks in {location} cannot be loaded: {type(exc).__name__}: {exc}{where}"
        ) from None
    finally:
        registered = [m for m in list(sys.modules) if m == name or m.startswith(f"{name}.")]
        submodules = tuple(sys.modules.pop(m) for m in registered)
    return _ImportedChecks(digest=digest, module=module, submodules=submodules)


def _declared_checks(modules: tuple[ModuleType, ...]) -> list[PythonCheck]:
    """Every check declared in the module or (for a package) any of its submodules."""
    found: dict[int, PythonCheck] = {}
    for mod in modules:
        for value in vars(mod).values():
            declared = declared_check(value)
            if declared is not None:
                found[id(value)] = declared
    return list(found.values())
