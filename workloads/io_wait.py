"""I/O wait: every task asks a real TCP server on loopback that answers after a set latency.

The lesson: a task that waits holds no CPU. Threads and asyncio overlap the waits, so with W of them
a job runs up to W times faster on a single core; processes and cluster nodes overlap waits too, but
pay start-up, pickling and dispatch for slots that mostly sleep. Concurrency, not parallelism, is
what pays off here.

The server is started by the workload around each run and bound to 127.0.0.1 only; ``--grain`` is
its latency. Answer: the sum of the server's replies, each a function of the task's key, so a lost
or duplicated request is caught.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dist_bench.workload import Job, TaskArgs, TaskNature, Workload

# asyncio is imported where it is used: `dist-bench list` imports every workload file and must
# stay instant.
if TYPE_CHECKING:
    import asyncio

HOST = "127.0.0.1"
#: Replies are ``key * key mod REPLY_MODULUS``: cheap, and distinct enough to catch a mix-up.
REPLY_MODULUS = 1_000_003


def expected_reply(key: int) -> int:
    """What the server answers for ``key``."""
    return key * key % REPLY_MODULUS


class LatencyServer:
    """An asyncio TCP server in a background thread: reads a key, waits, replies.

    asyncio serves any number of waiting clients at once, so the server itself never limits how
    many requests overlap: only the backend under test does.
    """

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        import asyncio

        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="io-latency-server", daemon=True)

    def __enter__(self) -> LatencyServer:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the latency server did not start within 10 s")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        import asyncio

        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, HOST, 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import asyncio

        with contextlib.suppress(ConnectionError):
            key = int(await reader.readline())
            await asyncio.sleep(self.latency_s)
            writer.write(f"{expected_reply(key)}\n".encode())
            await writer.drain()
        writer.close()


@contextlib.contextmanager
def latency_server(job: Job) -> Iterator[dict[str, Any]]:
    """The workload's environment: a server answering after ``job.grain_s`` seconds."""
    with LatencyServer(job.grain_s) as server:
        yield {"host": HOST, "port": server.port}


def make_tasks(job: Job) -> list[TaskArgs]:
    """One request per task, each with its own key."""
    return [(job.context["host"], job.context["port"], key) for key in range(job.tasks)]


def fetch(host: str, port: int, key: int) -> int:
    """Send ``key`` and block until the server replies."""
    with socket.create_connection((host, port), timeout=60) as connection:
        connection.sendall(f"{key}\n".encode())
        with connection.makefile("rb") as replies:
            return int(replies.readline())


async def fetch_async(host: str, port: int, key: int) -> int:
    """Coroutine version of ``fetch``: awaits the reply, letting other tasks run meanwhile."""
    import asyncio

    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"{key}\n".encode())
        await writer.drain()
        return int(await reader.readline())
    finally:
        writer.close()
        await writer.wait_closed()


def sum_replies(results: list[int]) -> int:
    """The answer: all replies added up."""
    return sum(results)


WORKLOAD = Workload(
    name="io",
    summary="requests to a loopback TCP server with --grain latency: waits, holds no CPU",
    make_tasks=make_tasks,
    task=fetch,
    async_task=fetch_async,
    combine=sum_replies,
    environment=latency_server,
    calibrated=False,
    default_tasks=48,
    default_grain_s=0.05,
    nature=TaskNature.WAITS,
)
