"""Which events and arms a study's mapping covers, in a project with several arms.

An event is covered when a part names it or its visit, or it is the query event. A mapping
written for one arm (``baseline_arm_1``) leaves the other arms' participants unread: their
study checks would never run, silently. So every event holding a form some part reads, in
no part's events, is a problem, and so is every arm none of whose events is covered; the
fix is to name the visit (``baseline``). An event holding only forms no part reads (a form
the study checks do not need; another arm's query event) is a note: nothing is lost there
that the mapping asked for, and the generic checks judge every form anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from worker.core.mapping import MappingSpec, part_events
from worker.core.schema import ProjectSchema


@dataclass(frozen=True)
class Coverage:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def mapping_coverage(spec: MappingSpec, schema: ProjectSchema) -> Coverage:
    """The events and arms ``spec`` leaves out; nothing in a project with fewer than two arms."""
    coverage = Coverage()
    if len(schema.arms) < 2:
        return coverage
    covered = {event for part in spec.parts.values() for event, _ in part_events(schema, part)}
    if spec.queries is not None and spec.queries.event is not None:
        covered.update(schema.events_of_visit(spec.queries.event))
    read = set(spec.forms_needed)
    for arm in schema.arms:
        events = [e.unique_name for e in schema.events if e.arm == arm]
        if events and not covered.intersection(events):
            coverage.problems.append(
                f"arm {arm} is not covered: the mapping names none of its {len(events)} "
                "events; name visits (the event names without '_arm_N') to cover every arm"
            )
    for event in schema.events:
        name = event.unique_name
        if name in covered:
            continue
        visit = schema.visit_of(name)
        forms = schema.forms_of_event(name)
        needed = [f for f in forms if f in read]
        if needed:
            coverage.problems.append(
                f"event '{name}' (arm {event.arm}) is not covered: no part names it or its "
                f"visit, so its {', '.join(needed)} data go unchecked; name the visit "
                f"'{visit}' to cover it in every arm"
            )
        else:
            held = ", ".join(forms) if forms else "no forms"
            coverage.notes.append(
                f"event '{name}' (arm {event.arm}) is not in the mapping; it holds only forms "
                f"no part reads ({held})"
            )
    return coverage
