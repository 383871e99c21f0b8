"""The results file: every field checked when it loads; what counts as failed; node sweep fields."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from dist_bench.errors import ResultsFileError
from dist_bench.results import BackendRun, Record, Results, load_results
from dist_bench.results_writer import write_atomically

HOST = {"host": "here"}


def a_record(**changes: Any) -> Record:
    """A measured record (two samples), with ``changes`` applied."""
    fields: dict[str, Any] = dict(
        workload="cpu", backend="serial", tasks=4, grain_s=0.002, bytes_per_task=0, units=10,
        workers=1, wall_s=[0.01, 0.011], task_s=[0.009, 0.01], task_cpu_s=[0.009, 0.01],
        verified=True,
    )  # fmt: skip
    fields.update(changes)
    return Record(**fields)


def a_document(**record_changes: Any) -> dict[str, Any]:
    """A valid results document whose one record is changed (on the JSON side) as given."""
    document = Results(metadata=dict(HOST), records=[a_record()]).to_json()
    document["records"][0].update(record_changes)
    return document


def test_a_saved_file_loads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    results = Results(
        metadata=dict(HOST),
        backends=[BackendRun("serial", 0.1, 0.01, {"workers": 1})],
        records=[a_record(task_cpu_s=[math.nan, math.nan], placement_s=0.5, notes=["lost one"])],
    )
    write_atomically(path, results)
    again = load_results(path)
    assert again.backends == results.backends
    assert again.records[0].placement_s == 0.5 and again.records[0].notes == ["lost one"]
    assert all(math.isnan(x) for x in again.records[0].task_cpu_s)  # NaN: no CPU time measured


def test_whole_numbers_are_accepted_where_floats_are_expected(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(a_document(grain_s=1, wall_s=[1, 2])))
    assert load_results(path).records[0].grain_s == 1


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"version": [1]}, "version is [1], not a whole number"),  # was TypeError: unhashable
        ({"version": True}, "version is true"),  # true == 1 to Python
        ({"version": "1"}, 'version is "1"'),
        ({"version": 6}, "version 6; this dist-bench reads versions 1, 2, 3, 4, 5: upgrade"),
        ({"metadata": {"host": "here", "appended_runs": 5}}, "metadata.appended_runs is 5"),
        ({"metadata": ["host"]}, 'metadata is ["host"], not an object'),
        ({"records": {"0": {}}}, "records is"),
        ({"backends": [[]]}, "backends[0] is [], not an object"),
    ],
)
def test_a_mistyped_document_is_refused_naming_the_part(
    tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**a_document(), **change}))
    with pytest.raises(ResultsFileError) as refused:
        load_results(path)
    assert str(path) in str(refused.value) and fragment in str(refused.value)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"wall_s": "abc"}, 'records[0].wall_s is "abc", not list[float]'),
        ({"wall_s": [0.1, "x"]}, "records[0].wall_s is"),
        ({"tasks": "4"}, 'records[0].tasks is "4", not int'),
        ({"tasks": 4.5}, "records[0].tasks is 4.5, not int"),
        ({"tasks": True}, "records[0].tasks is true, not int"),
        ({"verified": 1}, "records[0].verified is 1, not bool"),
        ({"grain_s": "2ms"}, "records[0].grain_s is"),
        ({"placement_s": "x"}, 'records[0].placement_s is "x", not float | None'),
        ({"error": 5}, "records[0].error is 5, not str | None"),
        ({"notes": [1]}, "records[0].notes is [1], not list[str]"),
        ({"colour": "red"}, "records[0] has unknown fields ['colour']"),
    ],
)
def test_a_record_of_the_wrong_type_is_refused_naming_the_field(
    tmp_path: Path, change: dict[str, Any], fragment: str
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(a_document(**change)))
    with pytest.raises(ResultsFileError) as refused:
        load_results(path)
    message = str(refused.value)
    assert str(path) in message and "damaged" in message and fragment in message
    assert "\n" not in message


def test_a_record_missing_a_field_is_refused_naming_it(tmp_path: Path) -> None:
    document = a_document()
    del document["records"][0]["workload"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsFileError, match=r"records\[0\] has no 'workload'"):
        load_results(path)


@pytest.mark.parametrize(
    ("changes", "failed"),
    [({}, False), ({"error": "boom"}, True), ({"verified": False}, True)],
)
def test_a_record_failed_when_it_raised_or_its_answer_was_wrong(
    changes: dict[str, Any], failed: bool
) -> None:
    record = a_record(**changes)
    assert record.failed is failed
    results = Results(metadata=dict(HOST), records=[a_record(), record, a_record(error="later")])
    assert results.failed() == [*([record] if failed else []), results.records[2]]


def test_a_node_sweep_record_keeps_its_size_and_slice_and_version_2_cannot_hold_one(
    tmp_path: Path,
) -> None:
    record = Record("cpu", "dask", 8, 0.01, 0, 10, 2, wall_s=[1.0], verified=True)
    record.nodes, record.node_cpus, record.node_memory_bytes = 2, 0.5, 1 << 30
    record.scaling = "strong"
    path = tmp_path / "sweep.json"
    write_atomically(path, Results({"host": "h"}, [], [record]))
    (loaded,) = load_results(path).records
    assert (loaded.nodes, loaded.node_cpus, loaded.node_memory_bytes, loaded.scaling) == (
        2,
        0.5,
        1 << 30,
        "strong",
    )
    document = json.loads(path.read_text())
    document["version"] = 2
    for item in document["records"] + document["backends"]:
        item.pop("runtime", None)  # version 3's other addition: this file lacks only that
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsFileError, match="no node sweeps"):
        load_results(path)


def test_worker_sweeps_are_kept_and_version_3_cannot_hold_one(tmp_path: Path) -> None:
    record = Record("cpu", "threads", 8, 0.01, 0, 10, 2, wall_s=[1.0], verified=True)
    record.scaling = "weak"
    path = tmp_path / "r.json"
    write_atomically(path, Results({"host": "h"}, [], [record]))
    (loaded,) = load_results(path).records
    assert (loaded.workers, loaded.scaling) == (2, "weak")
    document = json.loads(path.read_text())
    document["version"] = 3
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsFileError, match="no worker sweeps"):
        load_results(path)


def test_version_4s_memory_figures_are_dropped_and_version_3_cannot_hold_one(
    tmp_path: Path,
) -> None:
    # Version 4 kept the driver's peak growth over a job, a lower bound near zero where freed
    # memory was reused; version 5 keeps a slot's memory from fresh interpreters in metadata.
    memory = {"coroutine_bytes": 1147, "thread_bytes": 16_589, "slots": 100, "repeats": 5}
    record = Record("io", "asyncio", 100, 0.002, 0, 1, 100, wall_s=[1.0], verified=True)
    path = tmp_path / "r.json"
    write_atomically(path, Results({"host": "h", "slot_memory": memory}, [], [record]))
    document = json.loads(path.read_text())
    assert document["version"] == 5 and "peak_rss_growth_bytes" not in document["records"][0]
    assert load_results(path).metadata["slot_memory"] == memory
    document["version"] = 4
    document["records"][0]["peak_rss_growth_bytes"] = 8200
    path.write_text(json.dumps(document))
    assert load_results(path).records == [record]
    # Version 5 has no such field: a file that claims version 5 and holds one is damaged.
    document["version"] = 5
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsFileError, match="peak_rss_growth_bytes"):
        load_results(path)
    document["version"] = 3
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsFileError, match="no memory figures"):
        load_results(path)
