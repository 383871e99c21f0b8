#!/usr/bin/env bash
# Offline runtime image: another CPython (Debian sid's python3.14 by default) with dist-bench's
# dependencies in a venv, for `dist-bench run --python 3.14`. Root builds it once per machine
# (debootstrap needs root); any user in the docker group then runs dist-bench inside it: the
# project's own wheel is put on that interpreter's path at each run, so the numbers come from
# dist-bench running in that interpreter (see docs/runtimes.md).
#
#   runtimes/build-runtime.sh [VERSION]      default VERSION: 3.14; tag dist-bench-runtime:pythonVERSION
#   runtimes/build-runtime.sh --if-stale [VERSION]   only when missing or its dependencies changed
#   MIRROR=http://… runtimes/build-runtime.sh  to name the Debian mirror yourself
#
# The dependency wheels are downloaded on the host for that interpreter (pip inside a container
# cannot reach the index where TLS is intercepted), then installed in the root with --no-index.
set -euo pipefail
cd "$(dirname "$0")/.."

if_stale=false
if [[ "${1:-}" == --if-stale ]]; then
    if_stale=true
    shift
fi
version="${1:-3.14}"
suite="${SUITE:-sid}"
tag="dist-bench-runtime:python$version"
abi="cp${version/./}"

# dist-bench's dependencies (from pyproject.toml) and the test runner: the image is labelled with
# their digest, so a change to them makes it stale.
requirements="$(python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))'
printf 'pytest>=8\npytest-timeout>=2.3')"
digest="$(printf '%s' "$requirements" | sha256sum | cut -c1-16)"
label='{{ index .Config.Labels "dist-bench.requirements" }}'
if $if_stale && [[ "$(docker image inspect --format "$label" "$tag" 2>/dev/null)" == "$digest" ]]; then
    exit 0
fi

if [[ $EUID -ne 0 ]]; then
    echo "build-runtime.sh: debootstrap needs root; run it with sudo" >&2
    exit 1
fi
# apt's own list of the host's repositories: a site's mirror or proxy needs no extra setting.
mirror="${MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null \
    | grep -v security | head -1)}"
mirror="${mirror:-http://deb.debian.org/debian/}"
if ! command -v debootstrap >/dev/null; then
    apt-get install -y debootstrap >/dev/null || { apt-get update >/dev/null && apt-get install -y debootstrap >/dev/null; }
fi

rootfs="$(mktemp -d /tmp/dist-bench-runtime.XXXXXX)"
trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT

echo "build-runtime.sh: debootstrap $suite with python$version from $mirror" >&2
debootstrap --variant=minbase --include="python$version,python$version-venv" \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; exit 1; }

printf '%s\n' "$requirements" >"$rootfs/requirements.txt"
platforms=()
for platform in manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
    platforms+=(--platform "${platform/x86_64/$(uname -m)}")
done
python3 -m pip download --quiet --only-binary=:all: --python-version "$version" \
    --implementation cp --abi "$abi" --abi abi3 --abi none "${platforms[@]}" \
    --dest "$rootfs/wheels" --requirement "$rootfs/requirements.txt"

chroot "$rootfs" "/usr/bin/python$version" -m venv /opt/dist-bench
# A clean environment: the host's pip settings (find-links, certificates) mean nothing in the root.
chroot "$rootfs" env -i PATH=/usr/bin:/bin HOME=/root /opt/dist-bench/bin/pip install --quiet \
    --no-cache-dir --no-index --find-links /wheels --requirement /requirements.txt
rm -rf "$rootfs/wheels" "$rootfs/requirements.txt" "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL dist-bench.requirements=$digest" \
    --change 'CMD ["/opt/dist-bench/bin/python"]' \
    - "$tag" >/dev/null
echo "$tag"
