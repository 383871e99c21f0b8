"""Python that makes ``import dist_bench`` fail in the process it runs in: a node without it.

However dist-bench is installed here (editable finder, site-packages, the driver's directory an
engine adds to workers' ``sys.path``), the meta-path blocker refuses it first, as on a cluster
that never installed it. Run it as a node's ``sitecustomize`` or before a command with ``-c``.
"""

BLOCK_DIST_BENCH = """
import sys

class _NoDistBench:
    def find_spec(self, name, path=None, target=None):
        if name == "dist_bench" or name.startswith("dist_bench."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None

sys.meta_path.insert(0, _NoDistBench())
"""
