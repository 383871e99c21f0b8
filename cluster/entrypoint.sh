#!/bin/sh
# Entry point of every cluster role. The first argument names the role; docker-compose.yml sets
# the environment (sizes, Dask's TLS settings, Ray's auth); secrets are files under /run/secrets.
set -eu
role="${1:?role: dask-scheduler, dask-worker, ray-head, ray-worker or driver}"
shift
scheme="${DIST_BENCH_DASK_SCHEME:-tls}"
if [ "$scheme" = tls ]; then
    # Dask reads its TLS settings from these variables in every process it starts. Set here, not
    # in docker-compose.yml, because Dask loads the files whenever they are named, TLS or not.
    export DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION=True
    export DASK_DISTRIBUTED__COMM__TLS__CA_FILE=/run/secrets/dask_ca
    for role_name in SCHEDULER WORKER CLIENT; do
        export "DASK_DISTRIBUTED__COMM__TLS__${role_name}__CERT=/run/secrets/dask_cert"
        export "DASK_DISTRIBUTED__COMM__TLS__${role_name}__KEY=/run/secrets/dask_key"
    done
fi
object_store="${RAY_OBJECT_STORE_BYTES:-268435456}"

case "$role" in
dask-scheduler)
    exec dask scheduler --protocol "$scheme" --host 0.0.0.0 --port 8786 \
        --dashboard-address :8787 "$@"
    ;;
dask-worker)
    # One single-threaded worker process per CPU, as the embedded LocalCluster has, each with
    # its share of the container's memory.
    exec dask worker "$scheme://scheduler:8786" --protocol "$scheme" \
        --nworkers "${WORKER_PROCESSES:-1}" --nthreads 1 \
        --memory-limit "${WORKER_MEMORY_LIMIT:-auto}" --no-dashboard "$@"
    ;;
ray-head)
    # Ray Client's server (port 10001) needs grpcio, there only when the client that built the
    # image has ray[client] too.
    if python3 -c 'import grpc' 2>/dev/null; then
        set -- --ray-client-server-port 10001 "$@"
    fi
    # No CPUs on the head: tasks run on the worker containers only, so N workers are N nodes.
    exec ray start --head --block --disable-usage-stats --port 6379 --num-cpus 0 \
        --include-dashboard false --object-store-memory "$object_store" "$@"
    ;;
ray-worker)
    exec ray start --address head:6379 --block --disable-usage-stats \
        --num-cpus "${WORKER_PROCESSES:-1}" --object-store-memory "$object_store" "$@"
    ;;
driver)
    # On a shaped cluster, `dist-bench cluster run` shapes this container's link from outside
    # once it runs: wait for that, so none of the driver's bytes go out unshaped.
    if [ -n "${DIST_BENCH_LINK_RATE_BITS:-}" ]; then
        python3 -m dist_bench.links wait >/dev/null || exit 1
    fi
    # A Ray driver must run on a Ray node: join as one without CPUs (it ends with the container).
    if [ "${DIST_BENCH_ENGINE:-dask}" = ray ]; then
        ray start --address head:6379 --disable-usage-stats --num-cpus 0 \
            --object-store-memory "$object_store" >/tmp/ray-start.log 2>&1 \
            || { cat /tmp/ray-start.log >&2; exit 1; }
    fi
    exec dist-bench "$@"
    ;;
*)
    # Any other command, in the role's environment (`dist-bench cluster status` runs its probe so).
    exec "$role" "$@"
    ;;
esac
