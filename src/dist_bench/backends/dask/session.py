"""Starting the embedded ``LocalCluster`` or connecting a ``Client`` to an address; closing both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import distributed

from dist_bench.errors import ClusterConnectionError

#: Seconds to wait, by default, for a scheduler to answer, and then for it to have a worker. Each
#: wait fails on its own, so with the interpreter's start-up a user hears what is wrong within the
#: 10 s goal (benchmarks/connection_failures.py: 8 s missed it on a busy machine). A cluster just
#: brought up by dist-bench is given more (``BackendOptions.connect_timeout_s``).
CONNECT_TIMEOUT_S = 5.0

#: Seconds to let the embedded cluster close cleanly before its worker processes are killed.
CLOSE_TIMEOUT_S = 20.0

#: Loopback only: the embedded cluster serves nobody but this driver.
LOOPBACK = "127.0.0.1"

# distributed ships type hints, but much of its API is unannotated; holding the classes (and the
# objects they make) as Any keeps mypy --strict meaningful for our code without an ignore per call.
_Client: Any = distributed.Client
_LocalCluster: Any = distributed.LocalCluster
_Security: Any = distributed.Security


@dataclass
class DaskSession:
    """A connected client and, when this process started it, the embedded cluster.

    Attributes:
        client: The ``distributed.Client``.
        cluster: The ``LocalCluster`` started here, or ``None`` for ``--address``.
        driver_environ: ``os.environ`` before the embedded cluster started (its nannies change
            it), put back at close.
    """

    client: Any
    cluster: Any = None
    driver_environ: dict[str, str] | None = None


def start_embedded(workers: int) -> DaskSession:
    """Start a ``LocalCluster`` of ``workers`` single-threaded processes on loopback, and a client.

    Raises:
        ClusterConnectionError: the cluster did not start (a port, a worker process...).
    """
    # Dask's nannies run in this process and set their pre-spawn environment
    # (MALLOC_TRIM_THRESHOLD_, OMP_NUM_THREADS...) in os.environ for good; every backend
    # started after this one would inherit it. Saved here, put back at close.
    session = DaskSession(client=None, driver_environ=dict(os.environ))
    try:
        # Loopback only, no dashboard, one thread per worker process so one task runs per
        # process as in the processes backend. Nanny-managed processes restart a worker that
        # dies. Warnings about workers being killed at close are noise for a benchmark;
        # drain_notes reports what matters.
        session.cluster = _LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            dashboard_address=None,
            # Without a dashboard the scheduler still serves /health and /metrics, by default on
            # port 8787 of every interface (and on another port with a warning when a cluster
            # already holds it).
            scheduler_kwargs={"dashboard_address": f"{LOOPBACK}:0"},
            silence_logs=logging.ERROR,
        )
        session.client = _Client(session.cluster, direct_to_workers=True, set_as_default=False)
        session.client.wait_for_workers(workers, timeout=CLOSE_TIMEOUT_S)
    except Exception as exc:
        close(session)
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterConnectionError(f"the embedded Dask cluster did not start: {detail}") from exc
    return session


def connect(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> DaskSession:
    """Connect a client to the scheduler at ``address`` and wait for a worker, within bounds.

    ``timeout_s`` bounds each wait (the scheduler answering, then a worker): the default makes a
    wrong address fail fast; a cluster known to be starting or busy gets more.

    Raises:
        ClusterConnectionError: nothing answered, the handshake failed, or no worker joined.
    """
    try:
        with quiet_distributed():
            asyncio.run(_handshake(address, timeout_s))
            client = _Client(
                address, timeout=timeout_s, direct_to_workers=True, set_as_default=False
            )
    except OSError as exc:  # includes TimeoutError: nothing answered, or refused us
        raise ClusterConnectionError(
            f"no Dask scheduler answered at {address} within {timeout_s:g} s; start one "
            f"(`dask scheduler` plus `dask worker {address}`) or fix --address"
        ) from exc
    except Exception as exc:  # TLS without certificates, a handshake from another version
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterConnectionError(
            f"could not connect to the Dask scheduler at {address}: {detail}"
        ) from exc
    session = DaskSession(client=client)
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except Exception as exc:  # distributed's TimeoutError
        close(session)
        raise ClusterConnectionError(
            f"the Dask scheduler at {address} has no workers (waited {timeout_s:g} s); "
            f"start some with `dask worker {address}`"
        ) from exc
    return session


async def _handshake(address: str, timeout_s: float) -> None:
    """Open a connection to ``address`` and finish distributed's handshake within ``timeout_s``.

    ``Client()`` alone would hang forever on a port that accepts connections and never speaks
    (another service, a stopped-but-listening process): distributed's ``comm.connect`` bounds the
    connection by its timeout but then awaits the peer's handshake with no deadline (2026.8.0,
    distributed/comm/core.py). Raises ``TimeoutError`` (an ``OSError``) when nothing answers.
    """
    from distributed.comm.core import connect

    open_comm: Any = connect  # unannotated in distributed, like _Client above
    # The same connection arguments (TLS or not) the Client derives from dask's configuration.
    arguments = _Security().get_connection_args("client")
    comm = await asyncio.wait_for(open_comm(address, timeout=timeout_s, **arguments), timeout_s)
    await comm.close()


class _DropAbortedGathers(logging.Filter):
    """asyncio's "Task exception was never retrieved" for gathers a closed client aborted.

    A run interrupted mid-job closes its client while ``client.gather`` still waits; the waits
    end with ``AllExit``, which nobody retrieves, and asyncio prints each one's traceback when
    it is collected, often at exit, below dist-bench's "interrupted" line. They say nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (error is not None and type(error).__name__ == "AllExit")


_DROP_ABORTED_GATHERS = _DropAbortedGathers()


def close(session: DaskSession) -> None:
    """Close the client, then the embedded cluster if there is one; never a remote one.

    The embedded cluster's nannies stop their worker processes and wait for them, so no process
    of ours outlives this call.
    """
    # Before closing: the aborted waits may be collected any time after (addFilter is idempotent).
    logging.getLogger("asyncio").addFilter(_DROP_ABORTED_GATHERS)
    client, session.client = session.client, None
    cluster, session.cluster = session.cluster, None
    with quiet_distributed():
        if client is not None:
            with contextlib.suppress(Exception):
                # First, or the scheduler logs a CRITICAL trying to tell the closed client
                # that it left (the ``all`` topic reports clients leaving too).
                client.unsubscribe_topic("all")
            with contextlib.suppress(Exception):
                client.close(timeout=CLOSE_TIMEOUT_S)
        if cluster is not None:
            cluster.close(timeout=CLOSE_TIMEOUT_S)
    if session.driver_environ is not None:
        _restore_environ(session.driver_environ)
        session.driver_environ = None


@contextlib.contextmanager
def quiet_distributed(level: int = logging.CRITICAL) -> Iterator[None]:
    """Silence ``distributed``'s loggers in the driver for a moment (connect, close).

    A failed connection or a cluster being torn down logs tracebacks that repeat what our one-line
    error already says; they would bury it.
    """
    logger = logging.getLogger("distributed")
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _restore_environ(saved: dict[str, str]) -> None:
    """Make ``os.environ`` equal to ``saved`` again (only the keys that differ are touched)."""
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
