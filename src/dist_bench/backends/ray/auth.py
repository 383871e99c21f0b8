"""Ray's token auth on the driver's side: where the token is, the mode, and what a refusal means.

Token auth (Ray 2.52+; on by default for ``ray.init`` since 2.59): ``RAY_AUTH_MODE`` selects
``token`` or ``disabled``; the token comes, in Ray's order, from ``RAY_AUTH_TOKEN``, the file named
by ``RAY_AUTH_TOKEN_PATH``, or ``~/.ray/auth_token``. Embedded, Ray generates that file when it is
missing. With an address, Ray itself sends a token only for ``auto``; the backend also sends it
for ``HOST:PORT`` when ``RAY_AUTH_MODE`` is unset and a token exists (a cluster without auth
ignores it), and puts ``RAY_AUTH_MODE`` back as it was on shutdown.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray

from dist_bench.backends.ray.private import private
from dist_bench.errors import ClusterConnectionError

logger = logging.getLogger(__name__)

AUTH_MODE_VAR = "RAY_AUTH_MODE"
AUTH_TOKEN_VAR = "RAY_AUTH_TOKEN"
AUTH_TOKEN_PATH_VAR = "RAY_AUTH_TOKEN_PATH"


def token_source() -> str | None:
    """Where Ray will read its auth token from here, in Ray's order; ``None`` when nowhere.

    Raises:
        ClusterConnectionError: ``RAY_AUTH_TOKEN_PATH`` names a missing or empty file; Ray treats
            that as fatal and aborts the whole process, so it is caught here first.
    """
    if os.environ.get(AUTH_TOKEN_VAR, "").strip():
        return f"the {AUTH_TOKEN_VAR} environment variable"
    path_text = os.environ.get(AUTH_TOKEN_PATH_VAR)
    if path_text:
        try:
            ok = bool(Path(path_text).expanduser().read_text().strip())
        except OSError:
            ok = False
        if not ok:
            raise ClusterConnectionError(
                f"{AUTH_TOKEN_PATH_VAR}={path_text} is not a readable file holding the Ray auth "
                f"token; fix the path or unset {AUTH_TOKEN_PATH_VAR}"
            )
        return f"{path_text} ({AUTH_TOKEN_PATH_VAR})"
    default = default_token_path()
    try:
        if default.is_file() and default.read_text().strip():
            return str(default)
    except OSError:
        pass
    return None


def default_token_path() -> Path:
    """Ray's default token file, ``~/.ray/auth_token``."""
    return Path.home() / ".ray" / "auth_token"


def wants_token(mode: str | None) -> bool:
    """Whether Ray reads a token under this ``RAY_AUTH_MODE`` (unset means it may)."""
    return mode is None or mode.lower() == "token"


def reset_ray_auth_state() -> None:
    """Make Ray re-read ``RAY_AUTH_MODE`` and the token, which it caches per process.

    Needed because this process may connect more than once with different settings (an embedded
    run turns token mode on; a test changes the token). Uses the calls Ray's own tests use; skipped
    if a Ray version lacks them.
    """
    if ray.is_initialized():
        return
    try:
        private("ray._raylet", "Config").initialize("")
        private("ray._raylet", "AuthenticationTokenLoader").instance().reset_cache()
    except Exception as exc:  # pragma: no cover - older Ray without token auth, or API moved
        logger.debug("could not reset Ray's auth state: %s", exc)


def restore_auth_mode(saved: tuple[str | None] | None) -> None:
    """Put ``RAY_AUTH_MODE`` back as saved (a 1-tuple; ``None`` when it never was saved)."""
    if saved is None:
        return  # the session never got as far as saving it
    (value,) = saved
    if value is None:
        os.environ.pop(AUTH_MODE_VAR, None)
    else:
        os.environ[AUTH_MODE_VAR] = value
    reset_ray_auth_state()


def auth_message(where: str, source: str | None) -> str:
    """One line on a token the cluster refused: what is wrong and how to provide the right one."""
    mode = os.environ.get(AUTH_MODE_VAR)
    if mode is not None and mode.lower() != "token":
        return (
            f"the Ray cluster at {where} requires an auth token but {AUTH_MODE_VAR}={mode} here: "
            f"unset it or set {AUTH_MODE_VAR}=token, with the head node's token in "
            f"{AUTH_TOKEN_VAR} or ~/.ray/auth_token"
        )
    if source is None:
        return (
            f"the Ray cluster at {where} requires an auth token and none was found here: copy "
            f"the head node's ~/.ray/auth_token to {default_token_path()}, or set "
            f"{AUTH_TOKEN_VAR} (or {AUTH_TOKEN_PATH_VAR}=FILE) to what `ray get-auth-token` "
            "prints on the head node"
        )
    return (
        f"the Ray cluster at {where} rejected the auth token from {source}: use the head node's "
        f"token (its ~/.ray/auth_token, or `ray get-auth-token` run there)"
    )
