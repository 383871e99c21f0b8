"""Engine output routing: the engine's loggers and warnings to the log file, everyone else's not.

The engines themselves are tested in test_dask_engine.py and test_ray_engine.py (a worker death,
a version mismatch); this checks what those cannot: what is not the engine's passes through.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import pytest

from dist_bench.backends.engine_output import EngineOutput


def test_only_the_engines_output_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    output = EngineOutput(
        "dask", loggers=("distributed",), packages=("distributed",), note_level=logging.ERROR
    )
    shown: list[str] = []
    handlers = logging.getLogger("distributed").handlers[:]

    def show(message: Warning | str, *rest: object) -> None:
        shown.append(str(message))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        output.open()
        try:
            warnings.warn("the user's own", UserWarning, stacklevel=1)
            logging.getLogger("distributed.scheduler").error("Task x marked as failed. Details")
            logging.getLogger("distributed.scheduler").error("Task x marked as failed. Others")
            logging.getLogger("distributed.scheduler").warning("only in the file")
        finally:
            output.close()
        assert warnings.showwarning is show  # given back
    assert shown == ["the user's own"]
    assert output.path is not None
    assert output.path.parent == tmp_path / output.path.parent.name  # the user's own folder
    assert output.drain_notes() == [
        f"dask said distributed.scheduler: ERROR Task x marked as failed. (x2); "
        f"full text in {output.path}"
    ]
    assert output.drain_notes() == []
    text = output.path.read_text()
    assert "Details" in text and "Others" in text and "only in the file" in text
    assert logging.getLogger("distributed").handlers == handlers  # given back
