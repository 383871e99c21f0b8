"""Container healthcheck (stdlib only): ``healthcheck.py URL`` or ``healthcheck.py HOST PORT``.

A URL must answer 200 (the Dask scheduler's ``/health``, which keeps its log free of the
half-open connections a bare TCP probe leaves there); HOST PORT must accept a TCP connection (the
Ray GCS). Workers check that they still reach their scheduler or head. Whether every worker has
*joined* is asked of the scheduler/head by `dist-bench cluster up`, not by this check.
"""

import socket
import sys
import urllib.request

try:
    if len(sys.argv) == 2:
        with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
            ok = response.status == 200
    else:
        with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3):
            ok = True
except OSError as exc:
    print(f"{' '.join(sys.argv[1:])}: {exc}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
