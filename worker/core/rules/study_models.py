"""The classes a study's checks declare for what they read: its participant and parameters.

A rules folder's checks module (``checks.py`` or ``checks/__init__.py``) may define (or
import, e.g. from ``checks/models.py``):

- ``Participant``: a subclass of :class:`~worker.core.mapping.Participant` with one
  attribute per part of the mapping, each a :class:`~worker.core.mapping.PartEntry`
  subclass declaring the fields the checks read (``vis_date: date | None``);
- ``Params``: a subclass of :class:`~worker.core.rules.params.StudyParams` matching
  ``params.toml``.

Both are checked when the rules are loaded: the participant against the mapping and the
data dictionary (names and types), the parameters against ``params.toml``. Each problem
names the study's file, the class and the attribute. A study that declares neither gets a
participant generated from the data dictionary and untyped parameters, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from worker.core.mapping import MappingSpec, Participant, declared_at, model_problems
from worker.core.rules.params import Params, StudyParams, schema_labeller, typed_params
from worker.core.schema import ProjectSchema

PARTICIPANT = "Participant"
PARAMS = "Params"

_T = TypeVar("_T")


def declared_class(module: ModuleType | None, name: str, base: type[_T]) -> type[_T] | None:
    """The module's class ``name`` if it is a proper subclass of ``base``."""
    found = getattr(module, name, None) if module is not None else None
    if isinstance(found, type) and issubclass(found, base) and found is not base:
        return found
    return None


def study_participant(
    module: ModuleType | None,
    mapping: MappingSpec,
    schema: ProjectSchema,
    root: Path,
    files: Mapping[str, str] | None = None,
) -> tuple[type[Participant] | None, list[str]]:
    """The study's declared participant class (None if it declares none), and what it gets
    wrong about the mapping and the project. ``files``: each checks module's file by name
    (the loader has removed them from ``sys.modules``)."""
    model = declared_class(module, PARTICIPANT, Participant)
    if model is None:
        return None, []
    return model, model_problems(model, mapping, schema, root=root, files=files)


def study_params(
    module: ModuleType | None,
    data: Mapping[str, Any],
    schema: ProjectSchema,
    root: Path,
    files: Mapping[str, str] | None = None,
) -> tuple[Params | StudyParams | None, list[str]]:
    """``params.toml`` as the checks will read it: the study's declared class, or else the
    untyped view; None with the problems when the file does not match the declaration."""
    label = schema_labeller(schema)
    model = declared_class(module, PARAMS, StudyParams)
    if model is None:
        return Params(data, label=label), []
    return typed_params(model, data, label, declared_in=declared_at(model, root, files))
