"""``python -m dist_bench``: the same as the ``dist-bench`` command."""

from dist_bench.cli import main

main()
