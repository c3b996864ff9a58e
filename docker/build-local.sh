#!/usr/bin/env bash
# Build the octsearch image without any image registry: the base images are made from Debian's
# packages (debootstrap) and docker/Dockerfile, the same file as for the official bases, is built
# on them. For hosts that reach a Debian mirror and a Python package index but no image registry:
# air-gapped clusters with their own mirrors, and this project's CI machines. Needs root (for
# debootstrap), debootstrap and a Docker daemon; docker/README.md has the details.
#
#   docker/build-local.sh [--tag NAME] [--mirror URL] [--security-mirror URL|none]
#                         [--torch-wheel FILE] [--index-url URL] [--cert FILE] [--rebuild-base]
#
# Makes
#   octsearch-local/debian:bookworm        debootstrap --variant=minbase bookworm, docker import
#                                          (once; again with --rebuild-base or a new recipe)
#   octsearch-local/python:3.11-bookworm   + Debian's python3 and pip (local-base/python.Dockerfile)
#   octsearch-local/postgres:15-bookworm   + Debian's PostgreSQL (local-base/postgres.Dockerfile)
#   octsearch:VERSION (--tag)              docker/Dockerfile with BASE_IMAGE=octsearch-local/python Builds use
# the host's network (--network host). pip inside the build gets, through docker/local-build/:
#   - the torch wheel: --torch-wheel, else the first torch-VERSION wheel for this Python and
#     machine found in pip's find-links directories on this host; else torch comes from TORCH_INDEX
#     (the PyTorch index) as in a normal build;
#   - pip.conf: the index (--index-url, else this host's pip index-url, if it is http(s)) and the CA
#     bundle (--cert, else this host's pip `cert`: needed behind a TLS-intercepting proxy).
# None of it ends up in the octsearch image.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/pyproject.toml" | head -n 1)"
torch_version="$(sed -n 's/^ARG TORCH_VERSION=//p' "$here/Dockerfile" | head -n 1)"

tag="octsearch:${version}"
mirror="http://deb.debian.org/debian"
security=""
torch_wheel=""
index_url=""
cert=""
rebuild_base=0

usage() { sed -n '8,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,3\}//'; }
die() { echo "build-local: $*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --tag) tag="${2:?--tag NAME}"; shift 2 ;;
    --mirror) mirror="${2:?--mirror URL}"; shift 2 ;;
    --security-mirror) security="${2:?--security-mirror URL|none}"; shift 2 ;;
    --torch-wheel) torch_wheel="${2:?--torch-wheel FILE}"; shift 2 ;;
    --index-url) index_url="${2:?--index-url URL}"; shift 2 ;;
    --cert) cert="${2:?--cert FILE}"; shift 2 ;;
    --rebuild-base) rebuild_base=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument $1" ;;
  esac
done
if [[ -z "$security" ]]; then
  security="${mirror%/debian}/debian-security"
  if [[ "$security" == "$mirror/debian-security" ]]; then security="none"; fi  # not named .../debian
fi

DEBIAN_IMAGE=octsearch-local/debian:bookworm
PYTHON_IMAGE=octsearch-local/python:3.11-bookworm
POSTGRES_IMAGE=octsearch-local/postgres:15-bookworm

# Raise it when the making of $DEBIAN_IMAGE below changes: an image of an older recipe is remade.
ROOTFS_RECIPE=2

docker info >/dev/null 2>&1 || die "no Docker daemon answers (docker info failed); start dockerd first"
have_debian_image() {
  ((rebuild_base == 0)) && [[ "$(docker image inspect -f '{{index .Config.Labels "org.octsearch.rootfs-recipe"}}' \
    "$DEBIAN_IMAGE" 2>/dev/null)" == "$ROOTFS_RECIPE" ]]
}
step() { echo "build-local: $*"; }
started=$SECONDS

# -- the Debian base: debootstrap into a directory, import it as an image ----------------------
rootfs=""
cleanup() {
  if [[ -n "$rootfs" && -d "$rootfs" ]]; then
    # debootstrap mounts proc and sys inside the tree; never delete through a mount
    grep -o " $rootfs/[^ ]*" /proc/mounts | sort -r | xargs -r -n 1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$rootfs"
  fi
}
trap cleanup EXIT

if ! have_debian_image; then
  [[ "$(id -u)" == "0" ]] || die "debootstrap needs root; run as root (or build $DEBIAN_IMAGE elsewhere and docker load it)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed: apt-get install debootstrap"
  rootfs="$(mktemp -d /var/tmp/octsearch-rootfs.XXXXXX)"
  t=$SECONDS
  step "debootstrap bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
  rm -f "$rootfs.log"
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    if [[ "$security" != "none" ]]; then echo "deb $security bookworm-security main"; fi
  } >"$rootfs/etc/apt/sources.list"
  # Like the official slim images: no manuals, documentation or translations (copyrights stay).
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/octsearch-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  # Like the official images: apt keeps no downloaded packages or caches in image layers, and
  # no service starts while an image is built.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  rm -rf "${rootfs:?}"/var/cache/apt/archives/*.deb "${rootfs:?}"/var/cache/apt/*.bin "${rootfs:?}"/var/lib/apt/lists/* \
    "${rootfs:?}"/var/log/*.log
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change "LABEL org.octsearch.rootfs-recipe=$ROOTFS_RECIPE" \
    --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
  cleanup
  rootfs=""
  step "$DEBIAN_IMAGE made in $((SECONDS - t)) s"
fi

build() {  # build IMAGE DOCKERFILE CONTEXT [ARGS...]
  local image="$1" file="$2" context="$3" t=$SECONDS log
  shift 3
  log="$(mktemp /tmp/octsearch-build.XXXXXX.log)"
  step "building $image ($file)"
  if ! docker build --network host -f "$file" -t "$image" "$@" "$context" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "building $image failed (log: $log)"
  fi
  rm -f "$log"
  step "$image built in $((SECONDS - t)) s"
}

# Built every time: Docker's cache makes an unchanged one take seconds.
build "$PYTHON_IMAGE" "$here/local-base/python.Dockerfile" "$here/local-base" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
build "$POSTGRES_IMAGE" "$here/local-base/postgres.Dockerfile" "$here/local-base" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"

# -- what pip inside the build needs: docker/local-build/ ---------------------------------------
pip_setting() {  # the first value of a pip setting on this host: environment, then pip's config
  local key="$1" var
  var="PIP_$(tr 'a-z-' 'A-Z_' <<<"$key")"
  if [[ -n "${!var:-}" ]]; then
    echo "${!var}"
    return
  fi
  python3 -m pip config list 2>/dev/null | sed -n "s/^[^.]*\.$key='\(.*\)'$/\1/p" | head -n 1
}

local_build="$here/local-build"
rm -rf "$local_build/wheels" "$local_build/pip.conf" "$local_build/ca-certificates.crt"
mkdir -p "$local_build/wheels"
if [[ -z "$torch_wheel" ]]; then
  arch="$(uname -m)"
  for dir in $(pip_setting find-links); do
    [[ -d "$dir" ]] || continue
    torch_wheel="$(compgen -G "$dir/torch-${torch_version}[+-]*-cp311-cp311-*linux*_${arch}.whl" | sort | head -n 1 || true)"
    if [[ -n "$torch_wheel" ]]; then break; fi
  done
fi
if [[ -n "$torch_wheel" ]]; then
  [[ -f "$torch_wheel" ]] || die "--torch-wheel $torch_wheel: no such file"
  cp "$torch_wheel" "$local_build/wheels/"
  step "torch from $torch_wheel"
else
  step "no local torch-${torch_version} wheel found: torch comes from TORCH_INDEX"
fi
[[ -n "$index_url" ]] || index_url="$(pip_setting index-url)"
[[ -n "$cert" ]] || cert="$(pip_setting cert)"
{
  echo "[global]"
  if [[ "$index_url" == http*://* ]]; then echo "index-url = $index_url"; fi
  if [[ -n "$cert" ]]; then
    [[ -f "$cert" ]] || die "CA bundle $cert: no such file"
    cp "$cert" "$local_build/ca-certificates.crt"
    echo "cert = /tmp/local-build/ca-certificates.crt"
  fi
} >"$local_build/pip.conf"

# -- the octsearch image: docker/Dockerfile on the local python base ---------------------------
build "$tag" "$here/Dockerfile" "$repo" --build-arg "BASE_IMAGE=$PYTHON_IMAGE"
size="$(docker image inspect -f '{{.Size}}' "$tag")"
step "done in $((SECONDS - started)) s: $tag ($((size / 1000000)) MB), $POSTGRES_IMAGE"
echo "build-local: for docker compose, put POSTGRES_IMAGE=$POSTGRES_IMAGE in docker/.env and start without --build"
