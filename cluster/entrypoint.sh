#!/bin/sh
# Entry point of every cluster role. The first argument names the role; the environment set by
# docker-compose.yml says how big it is. Secrets arrive as files under /run/secrets.
set -eu
role="${1:?role: dask-scheduler, dask-worker, ray-head, ray-worker or driver}"
shift

# Dask over TLS (dist-bench cluster up --tls): one locally made CA and certificate, mounted
# read-only. Dask reads its TLS settings from these variables in every process.
scheme=tcp
if [ "${DIST_BENCH_DASK_TLS:-0}" = 1 ]; then
    scheme=tls
    export DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION=True
    export DASK_DISTRIBUTED__COMM__TLS__CA_FILE=/run/secrets/dask_ca
    for who in SCHEDULER WORKER CLIENT; do
        export "DASK_DISTRIBUTED__COMM__TLS__${who}__CERT=/run/secrets/dask_cert"
        export "DASK_DISTRIBUTED__COMM__TLS__${who}__KEY=/run/secrets/dask_key"
    done
fi
scheduler="$scheme://scheduler:8786"

# Ray: token auth on; the token is the mounted secret, never part of the image.
export RAY_AUTH_MODE=token
export RAY_AUTH_TOKEN_PATH=/run/secrets/ray_token
# The image's Python may differ in the patch level from a client on the host (Ray Client).
export RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor
ray_start() {
    # The object store lives in /dev/shm (compose sizes it above this), never in /tmp.
    exec ray start --block --disable-usage-stats \
        --object-store-memory "${RAY_OBJECT_STORE_BYTES:-268435456}" "$@"
}

case "$role" in
dask-scheduler)
    exec dask scheduler --protocol "$scheme" --host 0.0.0.0 --port 8786 \
        --dashboard-address :8787 "$@"
    ;;
dask-worker)
    # One single-threaded worker process per CPU, as the embedded LocalCluster does; the memory
    # limit is split between them from the container's cgroup limit.
    exec dask worker "$scheduler" --protocol "$scheme" --nworkers "${WORKER_PROCESSES:-1}" \
        --nthreads 1 --memory-limit "${WORKER_MEMORY_LIMIT:-auto}" --no-dashboard "$@"
    ;;
ray-head)
    # No CPUs on the head: tasks run on the worker containers only, so N workers means N nodes.
    ray_start --head --port 6379 --num-cpus 0 --include-dashboard false "$@"
    ;;
ray-worker)
    ray_start --address head:6379 --num-cpus "${WORKER_PROCESSES:-1}" "$@"
    ;;
driver)
    # The driver measures from inside the cluster network. A Ray driver must run on a Ray node:
    # join as a node without CPUs first (its processes end with the container).
    if [ "${DIST_BENCH_ENGINE:-dask}" = ray ]; then
        ray start --address head:6379 --num-cpus 0 --disable-usage-stats \
            --object-store-memory "${RAY_OBJECT_STORE_BYTES:-268435456}" >/tmp/ray-start.log 2>&1 \
            || { cat /tmp/ray-start.log >&2; exit 1; }
    fi
    exec dist-bench "$@"
    ;;
*)
    exec "$role" "$@"
    ;;
esac
