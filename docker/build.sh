#!/usr/bin/env bash
# Build the serving image, with Docker where an engine runs, else with podman on a registry-free base.
#
#   bash docker/build.sh            # CPU image:  localhost/nsmckit:cpu
#   bash docker/build.sh --gpu      # GPU image:  localhost/nsmckit:gpu (onnxruntime-gpu + CUDA 13 wheels)
#   bash docker/build.sh --tag my/nsmckit:1 --gpu
#
# With a Docker engine this is `docker build` on python:3.12-slim. Without one (no daemon, no registry, as
# on our build machines), it builds with podman (apt: podman runc netavark aardvark-dns iptables
# debootstrap) on a base made once by debootstrap from this machine's own apt mirror, with the host's
# locally added CA certificates (pip inside the build goes through the same TLS proxy the host does).
# The base is reused on later runs; delete it (`podman rmi localhost/python-base:<release>`) to rebuild.
# Prints the image's size when done.
set -euo pipefail
cd "$(dirname "$0")/.."

flavor=cpu
tag=
while [ $# -gt 0 ]; do
    case "$1" in
        --gpu) flavor=gpu ;;
        --tag) tag=$2; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "docker/build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
tag=${tag:-localhost/nsmckit:$flavor}

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    docker build --build-arg FLAVOR="$flavor" -t "$tag" .
    docker image inspect --format "$tag: {{.Size}} bytes" "$tag"
    exit 0
fi
if ! command -v podman >/dev/null; then
    echo "docker/build.sh: no Docker engine answers and podman is not installed;" \
        "apt-get install podman runc netavark aardvark-dns iptables debootstrap" >&2
    exit 1
fi
# Our sandbox's podman needs runc and lower ulimits (docker/podman/containers.conf says why).
if [ -z "${CONTAINERS_CONF:-}" ] && command -v runc >/dev/null; then
    export CONTAINERS_CONF=$PWD/docker/podman/containers.conf
fi

release=$(. /etc/os-release && echo "${VERSION_CODENAME:?this machine does not say its Debian release}")
base=localhost/python-base:$release
if ! podman image exists "$base"; then
    # The archive this machine's apt uses for its release: deb822 .sources, then one-line .list files.
    mirror=$(python3 - "$release" <<'EOF'
import glob, os, re, sys

suite = sys.argv[1]
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in open(path).read().split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+):\s*(.*)$", stanza, re.M))
        if suite in fields.get("Suites", "").split() and "deb" in fields.get("Types", "").split():
            sys.exit(print(fields["URIs"].split()[0]))
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    for line in open(path).read().splitlines() if os.path.exists(path) else []:
        found = re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if found and found.group(2) == suite:
            sys.exit(print(found.group(1)))
sys.exit(f"no apt source for {suite} in /etc/apt")
EOF
)
    rootfs=$(mktemp -d /tmp/nsmckit-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    echo "building $base with debootstrap from this machine's apt mirror (a few minutes, once)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$release" "$rootfs" "$mirror" \
        > "$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; exit 1; }
    rm -f "$rootfs.log"
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$rootfs" update-ca-certificates >/dev/null
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$base" >/dev/null
fi

# Docker's format keeps the SHELL and HEALTHCHECK instructions, which OCI images drop.
podman build --format docker --build-arg BASE="$base" --build-arg FLAVOR="$flavor" -t "$tag" .
podman image inspect --format "$tag: {{.Size}} bytes" "$tag"
