#!/usr/bin/env bash
# Builds a minimal Debian bookworm + Python 3.11 base image locally, for machines that cannot pull
# python:3.11-slim from a public registry. Only Debian's own package mirror is used.
#
#   deploy/build-base-image.sh [IMAGE]          default IMAGE: localhost/b24rules-base:bookworm
#
# Then build the application on top of it:
#   podman build --build-arg BASE_IMAGE=localhost/b24rules-base:bookworm -t b24rules .
#
# Needs root, debootstrap and podman (apt-get install -y debootstrap podman).
# Environment: MIRROR (default http://deb.debian.org/debian), WORKDIR (default .tools/base-rootfs),
# PODMAN (default "podman"; add storage flags here, e.g. "podman --storage-driver vfs").
set -euo pipefail

IMAGE="${1:-localhost/b24rules-base:bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
cd "$(dirname "$0")/.."
WORKDIR="${WORKDIR:-$PWD/.tools/base-rootfs}"
read -r -a PODMAN <<<"${PODMAN:-podman}"

# python3-venv brings ensurepip (the builder stage creates a venv); ca-certificates for HTTPS to
# Bitrix24 and Sentry; tzdata so zoneinfo knows the portal's time zones.
PACKAGES=python3,python3-venv,ca-certificates,tzdata

for tool in debootstrap "${PODMAN[0]}"; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install -y debootstrap podman)" >&2; exit 2; }
done

echo "== debootstrap $SUITE (minbase + $PACKAGES) into $WORKDIR"
rm -rf "$WORKDIR"
mkdir -p "$WORKDIR"
start=$(date +%s)
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$WORKDIR" "$MIRROR"

echo "== trimming the root filesystem"
# The image has no apt use at run time; package lists, caches, docs and man pages are dead weight.
rm -rf "$WORKDIR"/var/lib/apt/lists/* "$WORKDIR"/var/cache/apt/* "$WORKDIR"/var/cache/debconf/*-old \
  "$WORKDIR"/usr/share/doc/* "$WORKDIR"/usr/share/man/* "$WORKDIR"/usr/share/info/* \
  "$WORKDIR"/var/log/* "$WORKDIR"/tmp/* "$WORKDIR"/root/.cache
find "$WORKDIR"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
find "$WORKDIR"/usr/lib/python3* -name '__pycache__' -type d -prune -exec rm -rf {} +
# Mark bind-mount targets a container runtime expects to find.
: >"$WORKDIR/etc/resolv.conf"
: >"$WORKDIR/etc/hostname"

python_version=$(chroot "$WORKDIR" python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
echo "== python in the base: $python_version"

echo "== importing as $IMAGE"
tar --numeric-owner --xattrs -C "$WORKDIR" -c . | "${PODMAN[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --change "LABEL org.opencontainers.image.description=Debian $SUITE minbase with Python $python_version (local b24rules base)" \
  - "$IMAGE"
rm -rf "$WORKDIR"

"${PODMAN[@]}" image inspect --format '{{.Id}} {{.Size}}' "$IMAGE" | \
  awk -v img="$IMAGE" '{printf "== built %s id=%.12s size=%.1f MB\n", img, $1, $2/1e6}'
echo "== took $(( $(date +%s) - start ))s"
