"""dist-bench: does a cluster pay off for my Python work, and from where.

The same workloads run on serial, threads, asyncio, processes, Dask and Ray; every answer is checked
against the serial one, and the report says where each step up (threads, processes, nodes) pays
off and why. The library returns data; only ``dist_bench.cli`` prints.
"""

from dist_bench.workload import Job, TaskArgs, Workload

__version__ = "0.1.0"

__all__ = ["Job", "TaskArgs", "Workload", "__version__"]
