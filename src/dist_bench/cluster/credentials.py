"""The cluster's credentials: Ray's token and Dask's TLS files, made here and never in an image.

They live in ``cluster/.secrets/PROJECT/`` (a 0700 folder, beside the project's saved state) and
reach the containers as compose secrets.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from dist_bench.cluster.spec import container_user
from dist_bench.cluster.tools import last_line, run_tool
from dist_bench.errors import ClusterError

#: The local CA and certificate last 90 days; ``up`` makes new ones when fewer than 7 are left.
CERTIFICATE_DAYS = 90
RENEW_BEFORE_S = 7 * 24 * 3600


def secrets_root(root: Path) -> Path:
    """The folder of every project's credentials and state in the checkout at ``root``."""
    return root / "cluster" / ".secrets"


def secrets_folder(root: Path, project: str) -> Path:
    """Where ``project``'s credentials and state live in the checkout at ``root``."""
    return secrets_root(root) / project


def ensure_secrets(folder: Path, *, tls: bool) -> None:
    """Ray's token and Dask's TLS files for one compose project, made here, never in an image.

    The folder is 0700 (only this user); the files in it are 0644 because the containers' own
    unprivileged user reads them through the compose secret mounts.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if folder.parent.name == ".secrets":  # cluster/.secrets/ itself: only this user
        folder.parent.chmod(0o700)
    folder.chmod(0o700)
    token = folder / "ray_token"
    if not token.is_file() or not token.read_text().strip():
        _write_secret(token, secrets.token_hex(32))
    have_tls = (folder / "dask_cert").is_file() and (folder / "dask_cert").stat().st_size > 0
    if tls and not (have_tls and _valid_for(folder / "dask_cert", RENEW_BEFORE_S)):
        _make_certificates(folder)
    for name in ("dask_ca", "dask_cert", "dask_key"):
        # Without --tls the files are unused, but compose mounts every secret a service names.
        if not (folder / name).exists():
            _write_secret(folder / name, "")
    for path in (token, folder / "dask_ca", folder / "dask_cert", folder / "dask_key"):
        _restrict_secret(path)  # files an earlier version made 0644 too


def _valid_for(certificate: Path, seconds: int) -> bool:
    """The certificate will not have expired ``seconds`` from now."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return True  # nothing could renew it anyway; Dask says so if it has expired
    check = [openssl, "x509", "-checkend", str(seconds), "-noout", "-in", str(certificate)]
    return run_tool(check, timeout=30).returncode == 0


def _write_secret(path: Path, text: str) -> None:
    path.write_text(text)


def _restrict_secret(path: Path) -> None:
    """0600, owned by the uid the containers run as: compose mounts secrets as they are."""
    path.chmod(0o600)
    uid, gid = container_user()
    if os.getuid() == 0:  # only root can give a file away, and only root needs to
        os.chown(path, uid, gid)


def _make_certificates(folder: Path) -> None:
    """A private CA and one certificate it signs, shared by scheduler, workers and clients.

    Dask checks every peer against the CA (mutual TLS) and not host names, so one certificate
    serves every role. The CA's key is deleted once it signed: nothing else can be issued.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ClusterError(
            "Dask's TLS needs the openssl command to make certificates: install openssl, or "
            "accept a cluster open to every local user with --insecure"
        )
    with tempfile.TemporaryDirectory() as work:
        ca_key, request = Path(work) / "ca.key", Path(work) / "cert.csr"
        extensions = Path(work) / "ext.cnf"
        extensions.write_text("subjectAltName=DNS:scheduler,DNS:localhost,IP:127.0.0.1\n")
        steps = [
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", str(CERTIFICATE_DAYS), "-subj", "/CN=dist-bench local CA",
             "-keyout", str(ca_key), "-out", str(folder / "dask_ca")],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=dist-bench",
             "-keyout", str(folder / "dask_key"), "-out", str(request)],
            [openssl, "x509", "-req", "-in", str(request), "-CA", str(folder / "dask_ca"),
             "-CAkey", str(ca_key), "-CAcreateserial", "-CAserial", str(Path(work) / "ca.srl"),
             "-days", str(CERTIFICATE_DAYS),
             "-extfile", str(extensions), "-out", str(folder / "dask_cert")],
        ]  # fmt: skip
        for step in steps:
            done = run_tool(step, timeout=60)
            if done.returncode != 0:
                raise ClusterError(
                    f"openssl could not make the certificates: {last_line(done.stderr)}"
                )
