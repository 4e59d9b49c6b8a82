"""Visit schedules declared as data (``rules/<study>/schedule.toml``).

- :mod:`.spec` reads and checks the file: day 0, the visits and their windows, when a visit
  is not expected and why, the two schedule checks' IDs and words, and grace periods;
- :mod:`.engine` computes a participant's visit rows from it (once per participant per run);
- :mod:`.checks` turns rows into the window and missed-visit findings;
- :mod:`.conditions` is the ``@condition`` hook for what the data cannot say.
"""

from worker.core.schedule.conditions import condition, declared_condition
from worker.core.schedule.engine import ConditionFn, Schedule
from worker.core.schedule.spec import SCHEDULE_FILE, ScheduleSpec, load_schedule

__all__ = [
    "SCHEDULE_FILE",
    "ConditionFn",
    "Schedule",
    "ScheduleSpec",
    "condition",
    "declared_condition",
    "load_schedule",
]
