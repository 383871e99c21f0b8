"""Bounded calls of docker and the other tools the cluster needs, and reading their answers."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from dist_bench.errors import ClusterError


def run_tool(
    argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with its output captured as text; its status is the caller's to read.

    Raises:
        ClusterError: it did not end within ``timeout`` seconds, or is not installed.
    """
    try:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ClusterError(
            f"`{' '.join(argv[:3])} …` did not finish within {timeout:g} s"
        ) from None
    except FileNotFoundError as exc:
        raise ClusterError(f"{argv[0]} is not installed: {exc.strerror}") from None


def last_line(text: str) -> str:
    """The last line of a tool's output that says something: what failed, usually."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def image_id(image: str) -> str:
    """The image's ID, or "" when there is no such image here."""
    return _image_inspect(image, "{{.Id}}")


def image_label(image: str, label: str) -> str:
    """The value of the image's ``label``, or "" when it has none (or there is no image)."""
    return _image_inspect(image, f'{{{{index .Config.Labels "{label}"}}}}')


def _image_inspect(image: str, template: str) -> str:
    done = run_tool(["docker", "image", "inspect", "--format", template, image], timeout=30)
    return done.stdout.strip() if done.returncode == 0 else ""
