"""The scripted-cost backend: verified answers, only declared costs."""

from __future__ import annotations

import pytest

from dist_bench.backends import BackendOptions
from dist_bench.errors import TaskFailedError
from dist_bench.measure import MeasureSettings, measure, prepare_job
from dist_bench.workload import Job, TaskArgs, Workload
from tests.scripted_costs import NOISE, SCRIPTS, WORKLOAD, make_scripted


def test_the_scripted_backend_verifies_answers_and_runs_only_declared_costs() -> None:
    backend = make_scripted("processes", BackendOptions())
    backend.start()
    prepared = prepare_job(WORKLOAD, Job(8, 0.01, 1000))
    record = measure(
        backend, prepared, WORKLOAD.make_tasks(prepared.job), MeasureSettings(repeats=2, warmup=0)
    )
    assert record.verified
    script = SCRIPTS["processes"][0]
    # Noise is multiplicative and centred: each sample is near the scripted time.
    for sample in record.wall_s:
        assert sample == pytest.approx(script.job_seconds(8, 0.01, 1000), rel=5 * NOISE)

    def other_tasks(job: Job) -> list[TaskArgs]:
        return [("not a declared cost",)]

    other = Workload(name="other", summary="", make_tasks=other_tasks, task=str, calibrated=False)
    prepared = prepare_job(other, Job(1, 0.01, 0))
    with pytest.raises(TaskFailedError, match="scripted workload"):
        measure(backend, prepared, other.make_tasks(prepared.job), MeasureSettings(repeats=1))
