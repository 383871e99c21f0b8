"""ResultsWriter: one writer at a time, fsynced atomic saves, a full disk as one error."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from dist_bench.errors import ResultsFileError
from dist_bench.results import Results, load_results
from dist_bench.results_writer import ResultsWriter, lock_path, write_atomically
from tests.test_results import HOST, a_record
from tests.tiny_disk import TinyDisk


def test_one_writer_at_a_time_and_closing_releases_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    first = ResultsWriter(path, dict(HOST))
    first.add_record(a_record())
    with pytest.raises(ResultsFileError, match="being written by another dist-bench run"):
        ResultsWriter(path, dict(HOST))
    assert len(load_results(path).records) == 1, "a refused writer must not touch the file"
    first.close()
    with ResultsWriter(path, dict(HOST)) as second:
        second.add_record(a_record(backend="threads"))
    assert [r.backend for r in load_results(path).records] == ["serial", "threads"]
    assert lock_path(path).name == ".r.json.lock"


def test_the_same_file_by_another_spelling_is_the_same_lock(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with (
        ResultsWriter(tmp_path / "r.json", dict(HOST)),
        pytest.raises(ResultsFileError, match="another dist-bench run"),
    ):
        ResultsWriter(tmp_path / "sub" / ".." / "r.json", dict(HOST))


def test_saves_are_fsynced_file_then_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "r.json"
    write_atomically(path, Results(metadata=dict(HOST)))
    # The temporary file (renamed over r.json afterwards), then the folder holding the rename.
    assert len(synced) == 2
    assert Path(synced[0]).parent == tmp_path and Path(synced[0]).name.startswith(".r.json.")
    assert synced[1] == str(tmp_path)


#: Saves records on the tiny disk until it is full; prints what the error said and how many
#: records the writer held (the last of them is the one that failed to save).
SAVE_UNTIL_FULL = """
import json, sys
from pathlib import Path
from dist_bench.errors import SaveError
from dist_bench.results_writer import ResultsWriter
from tests.test_results import HOST, a_record
writer = ResultsWriter(Path(sys.argv[1]), dict(HOST))
try:
    for _ in range(100):
        writer.add_record(a_record(wall_s=[0.1] * 20))
except SaveError as failed:
    print(json.dumps({"message": str(failed), "held": len(writer.results.records)}))
writer.close()
"""


def test_a_full_disk_is_one_error_and_the_file_stays_intact(tiny_disk: TinyDisk) -> None:
    done = tiny_disk.run(sys.executable, "-c", SAVE_UNTIL_FULL, str(tiny_disk.path / "r.json"))
    assert done.code == 0, done.err
    failed = json.loads(done.out)
    saved = failed["held"] - 1
    message = failed["message"]
    assert "No space left on device" in message and "intact" in message
    assert f"the {saved} measurement(s) of this run saved before" in message
    assert saved >= 1, "the disk was meant to hold a few records first"
    assert len(load_results(done.files / "r.json").records) == saved
    assert done.names() == [".r.json.lock", "r.json"]
