"""mypy checks a study's rules against its declared classes: a misspelt attribute in a check
fails the type check, with a message naming the attribute, before anything runs.

``./run tests`` runs mypy over worker/ and rules/ (pyproject.toml [tool.mypy]); this test
runs it, with the same configuration, on a copy of a study's rules with one word changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def mypy(folder: Path, *targets: Path) -> subprocess.CompletedProcess[str]:
    """mypy with the repository's configuration over ``targets`` (inside ``folder``, the base
    their module names are counted from, as the repository's root is for rules/)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(REPO / "pyproject.toml"),
            # The worker's modules are the same as in ./run tests: their cache is shared.
            "--cache-dir",
            str(REPO / ".mypy_cache"),
            *(str(t.relative_to(folder)) for t in targets),
        ],
        cwd=folder,
        env={**os.environ, "MYPYPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("study", "file", "old", "new", "message"),
    [
        (
            "nk_trial",
            "follow_up.py",
            "gap = days(sample_date(later), sample_date(earlier))",
            "gap = days(later.mba_dat, sample_date(earlier))",
            '"FollowUp" has no attribute "mba_dat"; maybe "mba_date"?',
        ),
        (
            "nk_trial",
            "treatment.py",
            "allowed = params.treatment.max_infusions",
            "allowed = params.treatment.max_infusion",
            '"TreatmentParams" has no attribute "max_infusion"; maybe "max_infusions"?',
        ),
        (
            "bp_trial",
            "randomisation.py",
            'rand.evidence("rand_date") | screening.evidence("enr_icf_date")',
            'rand.evidence("rand_date") | screening.evidence_of("enr_icf_date")',
            '"Screening" has no attribute "evidence_of"',
        ),
    ],
)
def test_a_misspelt_attribute_in_a_study_check_fails_the_type_check(
    tmp_path: Path, study: str, file: str, old: str, new: str, message: str
) -> None:
    rules = tmp_path / "rules" / f"{study}_copy"
    shutil.copytree(REPO / "rules" / study, rules, ignore=shutil.ignore_patterns("__pycache__"))
    checks = rules / "checks"
    clean = mypy(tmp_path, checks)
    assert clean.returncode == 0, clean.stdout + clean.stderr  # the study as it is passes

    path = checks / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    [line] = [n for n, text in enumerate(path.read_text().splitlines(), 1) if new in text]

    misspelt = mypy(tmp_path, checks)
    assert misspelt.returncode == 1, misspelt.stdout + misspelt.stderr
    errors = [row for row in misspelt.stdout.splitlines() if ": error:" in row]
    assert errors == [
        f"rules/{study}_copy/checks/{file}:{line}: error: {message}  [attr-defined]"
    ], misspelt.stdout
