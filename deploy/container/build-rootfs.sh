#!/usr/bin/env bash
# Builds the runtime stage of deploy/container/Containerfile without a
# container engine: a Debian 12 root filesystem from Debian's archive made by
# mmdebstrap, with runtime-packages.txt, the caseline user (uid/gid 999), the
# given caselined and caseline binaries in /usr/local/bin and /var/lib/caseline.
#
#   deploy/container/build-rootfs.sh OUT_DIR CASELINED CASELINE
#
# Writes OUT_DIR/rootfs.tar (the file system) and OUT_DIR/oci/, an OCI image
# layout holding it as one layer with the Containerfile's user, entrypoint,
# command, volume, ports and health check (`skopeo copy oci:OUT_DIR/oci
# ...` or `podman load`, where an engine exists; none was used to test it).
# Fails if `ldd` inside the root file system finds a library missing.
#
# Packages come from the mirror apt on this machine uses (the deb822 or
# one-line sources files under /etc/apt naming the Debian archive), or from
# CASELINE_APT_SOURCES, a sources file to use instead. Needs root (mmdebstrap's
# root mode), mmdebstrap and python3. Takes one to five minutes;
# docs/deployment.md has the measured times.
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 OUT_DIR CASELINED CASELINE" >&2; exit 2; }
out=$1
caselined=$(readlink -f "$2")
caseline=$(readlink -f "$3")
here=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) -eq 0 ]] || { echo "$0: run as root (mmdebstrap's root mode)" >&2; exit 1; }
command -v mmdebstrap > /dev/null ||
  { echo "$0: mmdebstrap is missing (deploy/install_deps.sh)" >&2; exit 1; }
for binary in "$caselined" "$caseline"; do
  [[ -x $binary ]] || { echo "$0: $binary is not an executable" >&2; exit 1; }
done

# The machine's own Debian sources: the same mirror (and snapshot, if any)
# apt uses here, never a host written into this script.
sources=${CASELINE_APT_SOURCES:-}
if [[ -z $sources ]]; then
  for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [[ -s $candidate ]] && grep -q '^[^#]*debian' "$candidate"; then
      sources=$candidate
      break
    fi
  done
fi
[[ -n $sources ]] || { echo "$0: no Debian sources under /etc/apt; set CASELINE_APT_SOURCES" >&2; exit 1; }

packages=$(sed -e 's/#.*//' "$here/runtime-packages.txt" | xargs | tr ' ' ',')
mkdir -p "$out"
rm -rf "$out/rootfs.tar" "$out/oci"

# --variant=essential: Essential: yes packages (bash, coreutils, dpkg, libc
# ...) plus the runtime libraries; no apt in the image. The merged-usr hook
# lays out /usr as Debian 12 does without installing usrmerge (and with it
# perl). The dpkg excludes are debian:12-slim's (documentation and
# translations). Hooks run outside the root file system with it as "$1".
mmdebstrap --quiet --mode=root --variant=essential --format=tar \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='echo "caseline:x:999:" >> "$1/etc/group"' \
  --customize-hook='echo "caseline:!::" >> "$1/etc/gshadow"' \
  --customize-hook='echo "caseline:x:999:999:Caseline server:/var/lib/caseline:/usr/sbin/nologin" >> "$1/etc/passwd"' \
  --customize-hook='echo "caseline:!:19000::::::" >> "$1/etc/shadow"' \
  --customize-hook='install -d -o 999 -g 999 -m 0700 "$1/var/lib/caseline"' \
  --customize-hook="install -s -m 0755 '$caselined' \"\$1/usr/local/bin/caselined\"" \
  --customize-hook="install -s -m 0755 '$caseline' \"\$1/usr/local/bin/caseline\"" \
  --customize-hook='for b in caselined caseline; do
      if chroot "$1" ldd /usr/local/bin/$b | grep "not found"; then
        echo "runtime-packages.txt misses the libraries above (ldd /usr/local/bin/$b)" >&2; exit 1
      fi
    done' \
  --customize-hook='rm -rf "$1/var/cache/apt"/*.bin "$1/var/lib/apt/lists"/* "$1/var/log"/*' \
  bookworm "$out/rootfs.tar" "$sources"

/usr/bin/python3 "$here/oci_layout.py" "$out/rootfs.tar" "$out/oci"
echo "rootfs: $out/rootfs.tar ($(du -h "$out/rootfs.tar" | cut -f1)); OCI layout: $out/oci"
