"""The cluster image: this client's exact packages as a wheelhouse, the project's wheel, the build.

What it makes lives in ``cluster/.build/`` (git-ignored): the wheels of the exact versions this
client has installed, the project's wheel, and their stamps. Built on the host, installed in the
image with ``pip --no-index``: the image build reaches no index, and client and nodes match.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata as importlib_metadata
from pathlib import Path

from dist_bench.cluster.compose import Compose
from dist_bench.cluster.credentials import ensure_secrets
from dist_bench.cluster.spec import DEFAULT_PROJECT, ENGINES, IMAGE, BuildReport, own_image
from dist_bench.cluster.tools import image_id, image_label, last_line, run_tool
from dist_bench.errors import ClusterError, EngineNotInstalledError

#: The base ``cluster/build-base.sh`` makes from Debian packages when no registry is reachable.
OFFLINE_BASE = "dist-bench-base:bookworm"
OFFLINE_PYTHON = "3.11"  # Debian 12's python3
BUILD_KEY_LABEL = "dist-bench.build-key"
PULL_TIMEOUT_S = 120.0


def build(base_image: str | None = None, *, project: str = DEFAULT_PROJECT) -> BuildReport:
    """Make the cluster image from this client's exact packages (skipped when up to date).

    Also prepares ``project``'s secrets folder, so plain ``docker compose`` commands work too.

    Raises:
        EngineNotInstalledError: this client lacks Dask or Ray (the image copies its versions).
        ClusterError: Docker, the base image, the wheelhouse or the image build failed.
    """
    started = time.monotonic()
    compose = Compose.find(project)  # Docker must be there before anything is downloaded
    root = compose.root
    requirements = _pinned_requirements()
    base = _resolve_base(root, base_image)
    build_dir = root / "cluster" / ".build"
    wheels_key = _prepare_wheelhouse(build_dir, requirements)
    project_key = _prepare_project_wheel(root, build_dir)
    context = root / "cluster"
    image_key = _digest(
        wheels_key,
        project_key,
        image_id(base),
        *(
            (context / name).read_text()
            for name in ("Dockerfile", "entrypoint.sh", "healthcheck.py", ".dockerignore")
        ),
    )
    # The certificate too: plain compose commands default to TLS, as `up` does.
    ensure_secrets(compose.secrets, tls=True)
    image = own_image()
    if image_label(image, BUILD_KEY_LABEL) == image_key:
        return BuildReport(image, base, rebuilt=False, seconds=time.monotonic() - started)
    previous = image_id(image)
    log = build_dir / "docker-build.log"
    with log.open("w") as out:
        done = subprocess.run(
            [
                "docker",
                "build",
                "--tag",
                image,
                "--tag",
                IMAGE,
                "--label",
                f"{BUILD_KEY_LABEL}={image_key}",
                "--build-arg",
                f"BASE_IMAGE={base}",
                str(context),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise ClusterError(
            f"the cluster image did not build ({last_line(log.read_text())}); "
            f"the whole log is in {log}"
        )
    if previous and previous != image_id(image):
        # The image it replaces lost its tag; remove it, or every rebuild leaves one behind.
        run_tool(["docker", "image", "rm", previous], timeout=120)
    return BuildReport(image, base, rebuilt=True, seconds=time.monotonic() - started)


def _pinned_requirements() -> str:
    """dist-bench's dependencies with the Dask and Ray extras, each pinned to what is installed.

    With grpcio here (``dist-bench[ray-client]``), the image gets Ray Client too, and the head
    then serves it for drivers on the host; with bokeh (``dist-bench[dask-dashboard]``), the
    Dask scheduler serves its dashboard.
    """
    extras = [*ENGINES]
    if importlib.util.find_spec("grpc") is not None:
        extras.append("ray-client")
    if importlib.util.find_spec("bokeh") is not None:
        extras.append("dask-dashboard")
    if importlib.util.find_spec("pyroute2") is not None:
        extras.append("link-shaping")
    wanted: dict[str, str] = {}
    for requirement in importlib_metadata.requires("dist-bench") or []:
        spec, _, marker = requirement.partition(";")
        if marker and not any(f'extra == "{extra}"' in marker for extra in extras):
            continue
        name_and_extras = spec.strip().split(" ")[0]
        for operator in ("<", ">", "=", "!", "~"):
            name_and_extras = name_and_extras.split(operator)[0]
        name = name_and_extras.split("[")[0]
        if name in wanted and "[" not in name_and_extras:
            continue  # ray[client] stays ray[client] when plain ray comes later
        try:
            version = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            raise EngineNotInstalledError(
                f"the cluster image installs the exact versions this client has, and {name} is "
                "not installed here: pip install -e '.[engines]'"
            ) from None
        wanted[name] = f"{name_and_extras}=={version}"
    return "".join(f"{line}\n" for _, line in sorted(wanted.items()))


def _prepare_wheelhouse(build_dir: Path, requirements: str) -> str:
    """Wheels of ``requirements`` and their dependencies, at the versions installed here."""
    freeze = run_tool([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], timeout=120)
    # Constraints pin every package this client has (direct references cannot be constraints).
    constraints = "".join(
        f"{line}\n" for line in freeze.stdout.splitlines() if "==" in line and " @ " not in line
    )
    key = _digest(requirements, constraints, sys.version)
    wheels = build_dir / "wheels"
    stamp = build_dir / "wheels.stamp"
    if stamp.is_file() and stamp.read_text() == key:
        return key
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    (build_dir / "requirements.txt").write_text(requirements)
    (build_dir / "constraints.txt").write_text(constraints)
    download = run_tool(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--dest",
            str(wheels),
            "--requirement",
            str(build_dir / "requirements.txt"),
            "--constraint",
            str(build_dir / "constraints.txt"),
        ],
        timeout=900,
    )
    if download.returncode != 0:
        raise ClusterError(
            f"could not gather the wheels for the cluster image: {last_line(download.stderr)}"
        )
    stamp.write_text(key)
    return key


def _prepare_project_wheel(root: Path, build_dir: Path) -> str:
    """dist-bench's own wheel, rebuilt when its sources change."""
    # Not the egg-info folder: building the wheel rewrites it (its PKG-INFO holds the README),
    # so the key would change after every build and every `cluster up` would rebuild the image.
    sources = sorted(
        path
        for folder in ("src", "workloads")
        for path in (root / folder).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not any(part.endswith(".egg-info") for part in path.parts)
    )
    key = _digest(
        *(f"{p.relative_to(root)}\0{p.read_bytes().hex()}" for p in sources),
        (root / "pyproject.toml").read_text(),
    )
    project = build_dir / "project"
    stamp = build_dir / "project.stamp"
    if stamp.is_file() and stamp.read_text() == key and any(project.glob("*.whl")):
        return key
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    wheel = run_tool(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(project),
            str(root),
        ],
        timeout=600,
    )
    if wheel.returncode != 0:
        raise ClusterError(f"could not build dist-bench's wheel: {last_line(wheel.stderr)}")
    stamp.write_text(key)
    return key


def _resolve_base(root: Path, requested: str | None) -> str:
    """The base image: the one asked for, else python:X.Y-slim, else the offline Debian base."""
    if requested:
        return requested
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    slim = f"python:{python}-slim"
    if image_id(slim):
        return slim
    if image_id(OFFLINE_BASE) and python == OFFLINE_PYTHON:
        return OFFLINE_BASE
    pulled = run_tool(["docker", "pull", "--quiet", slim], timeout=PULL_TIMEOUT_S)
    if pulled.returncode == 0:
        return slim
    if python != OFFLINE_PYTHON:
        raise ClusterError(
            f"cannot pull {slim} ({last_line(pulled.stderr)}), and the offline Debian base has "
            f"Python {OFFLINE_PYTHON} while this client runs {python}: give --base-image an "
            f"image with Python {python}"
        )
    script = root / "cluster" / "build-base.sh"
    if os.geteuid() != 0:
        raise ClusterError(
            f"cannot pull {slim} ({last_line(pulled.stderr)}); build the offline base with "
            f"`sudo {script}` and run this again"
        )
    made = run_tool(["bash", str(script), OFFLINE_BASE], timeout=1800)
    if made.returncode != 0:
        raise ClusterError(f"the offline base image did not build: {last_line(made.stderr)}")
    return OFFLINE_BASE


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]
