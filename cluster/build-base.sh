#!/usr/bin/env bash
# Offline base image: a minimal Debian 12 root filesystem with Debian's Python, made with
# debootstrap from the host's own apt mirror and imported into Docker. It is the base for hosts
# that cannot pull python:3.11-slim (no registry, an air-gapped site); everything else in the
# cluster image then comes from wheels prepared on the host (see docs/cluster.md).
#
#   cluster/build-base.sh [TAG]          default TAG: dist-bench-base:bookworm
#   MIRROR=http://… cluster/build-base.sh  to name the Debian mirror yourself
set -euo pipefail

tag="${1:-dist-bench-base:bookworm}"
suite="bookworm"

if [[ $EUID -ne 0 ]]; then
    echo "build-base.sh: debootstrap needs root; run it with sudo" >&2
    exit 1
fi

# The mirror the host's apt already uses (deb822 .sources first, then the one-line format), so a
# site with its own mirror or proxy needs no extra setting.
host_mirror() {
    local uri
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    if [[ -z "$uri" ]]; then
        uri=$(awk '$1 == "deb" && $0 ~ /'"$suite"'/ && $0 !~ /security/ {print $2; exit}' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}
mirror="${MIRROR:-$(host_mirror)}"

if ! command -v debootstrap >/dev/null; then
    echo "build-base.sh: installing debootstrap" >&2
    apt-get install -y debootstrap >/dev/null || { apt-get update >/dev/null && apt-get install -y debootstrap >/dev/null; }
fi

rootfs="$(mktemp -d /tmp/dist-bench-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "build-base.sh: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
# Apt's package lists and caches are of no use in an image that installs nothing from apt.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/usr/bin/python3"]' \
    - "$tag" >/dev/null
echo "$tag"
