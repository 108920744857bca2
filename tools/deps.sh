#!/bin/bash
# Install what building and testing ring needs, on Debian 12 (as root, or
# through sudo).  Idempotent: it says what it installs and does nothing when
# everything is there.  Also installs the debug kernel from ../shared/kernels
# (beside the repository) when that directory has it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${RING_SHARED:-$repo/../shared}

pkgs=(
	# the VM runner: QEMU, the matrix kernels and their headers, the initramfs
	qemu-system-x86
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	busybox-static cpio kmod xz-utils coreutils
	# building the module, libring and the tests (binutils: readelf)
	build-essential binutils pkg-config libcmocka-dev liburing-dev fio
	# the debug kernel's headers (objtool) need it and do not say so
	libelf1
)

# The kernel packages' hook would build a boot initramfs for each kernel;
# the VM runner makes its own (tools/vm/mkinitramfs), so skip the slow step.
as_root() {
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || {
			echo "deps: installing needs root (or sudo)" >&2
			exit 1
		}
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive INITRD=No "$@"
}

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	# Update the package lists only when they are absent or too old to
	# know a package; a stale list can also fail the download: then update
	# and try again.
	need_update=0
	for p in "${missing[@]}"; do
		cand=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		[[ -n $cand && $cand != "(none)" ]] || need_update=1
	done
	((need_update)) && as_root apt-get update -q
	as_root apt-get install -y -q --no-install-recommends "${missing[@]}" || {
		as_root apt-get update -q
		as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
	}
else
	echo "deps: Debian packages already installed"
fi

# The debug kernel (KASAN, kmemleak, lockdep): optional, from shared/.
kdir=$shared/kernels
debs=()
if [[ -d $kdir ]]; then
	shopt -s nullglob
	debs=("$kdir"/linux-image-*-ringdebug_*.deb "$kdir"/linux-headers-*-ringdebug_*.deb)
	shopt -u nullglob
fi
todo=()
for deb in ${debs[@]+"${debs[@]}"}; do
	name=$(dpkg-deb -f "$deb" Package)
	ver=$(dpkg-deb -f "$deb" Version)
	if installed "$name" &&
		[[ $(dpkg-query -W -f='${Version}' "$name") == "$ver" ]]; then
		continue
	fi
	todo+=("$deb")
done
if ((${#todo[@]})); then
	[[ -f $kdir/SHA256SUMS ]] || { echo "deps: no $kdir/SHA256SUMS" >&2; exit 1; }
	for deb in "${todo[@]}"; do
		sum=$(awk -v f="${deb##*/}" '$2 == f' "$kdir/SHA256SUMS")
		[[ -n $sum ]] && (cd "$kdir" && sha256sum -c --quiet <<<"$sum") || {
			echo "deps: $deb does not match $kdir/SHA256SUMS" >&2
			exit 1
		}
	done
	echo "deps: installing the debug kernel: ${todo[*]##*/}"
	as_root dpkg -i "${todo[@]}"
elif ((${#debs[@]})); then
	echo "deps: debug kernel already installed"
else
	echo "deps: no debug kernel in $kdir (optional)"
fi
