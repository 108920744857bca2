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
	# make check: sparse over the module (make C=2, tools/check)
	sparse
	# the debug kernel's headers (objtool) need it and do not say so
	libelf1
	# the I/O tests: an ext4 image on a loop device (mkfs.ext4, losetup)
	e2fsprogs mount
	# the fio engine: apt-get source unpacks fio's source with dpkg-source
	dpkg-dev
	# make check's install test (tools/install-test): man pages, DKMS
	mandoc dkms
	# the Debian packages (debian/: dpkg-buildpackage -us -uc -b, lintian)
	debhelper dh-dkms lintian fakeroot
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

# Sources, for code built against exactly the installed package: fio's for
# the fio engine (tools/fio/build.mk compiles it against the headers of
# exactly the installed fio), liburing's for liburing's own tests
# (tests/liburing: make liburing-tests); the builds run `apt-get source`.
# That needs a deb-src entry for the archive the installed package came
# from: added in a file of its own unless one exists (fio's and liburing's
# are one archive on Debian 12, so one entry serves both), with the
# Signed-By of that archive's deb entry (apt refuses two different keys for
# one archive).
src_known() {
	# No grep -q: with pipefail an early exit would fail apt-cache.
	apt-cache showsrc "$1" 2>/dev/null | grep -x "Version: $2" >/dev/null
}
# need_source PACKAGE SOURCES-FILE WHY
need_source() {
	local pkg=$1 src_file=$2 why=$3 ver uri dist suite comp have entry src signed
	ver=$(dpkg-query -W -f='${Version}' "$pkg")
	if src_known "$pkg" "$ver"; then
		echo "deps: source of $pkg $ver already known to apt"
		return
	fi
	# "500 URI SUITE/COMPONENT ARCH Packages" under the installed version.
	read -r uri dist < <(apt-cache policy "$pkg" | awk -v v="$ver" '
		$1 == "***" { $1 = ""; $0 = $0 }
		NF == 2 && $1 == v { in_v = 1; next }
		NF == 2 && $2 ~ /^[0-9]+$/ { in_v = 0 }
		in_v && $NF == "Packages" { print $2, $3; exit }') || true
	[[ -n ${dist:-} ]] || {
		echo "deps: cannot tell which archive $pkg $ver comes from (apt-cache policy $pkg)" >&2
		exit 1
	}
	suite=${dist%/*} comp=${dist##*/}
	have=$(apt-get indextargets 'Identifier: Sources' \
		--format '$(SITE) $(RELEASE) $(COMPONENT)' 2>/dev/null |
		grep -Fx "${uri%/} $suite $comp" || true)
	if [[ -z $have ]]; then
		entry=$(apt-get indextargets 'Identifier: Packages' \
			--format '$(SITE) $(RELEASE) $(SOURCESENTRY)' |
			awk -v s="${uri%/}" -v r="$suite" \
				'$1 == s && $2 == r { print $3; exit }')
		src=${entry%:*}
		[[ -f $src ]] || {
			echo "deps: no sources entry found for $uri $suite" >&2
			exit 1
		}
		# The deb entry's key: the Signed-By field (value and any
		# continuation lines) of its stanza in a deb822 file, or the
		# signed-by= option of its line in a one-line file.
		if [[ $src == *.sources ]]; then
			signed=$(awk -v u="${uri%/}" -v r="$suite" '
				function has(line, word,   a, n, i) {
					n = split(line, a, /[ \t]+/)
					for (i = 2; i <= n; i++)
						if (a[i] == word || a[i] == word "/") return 1
					return 0
				}
				BEGIN { RS = "" }
				{
					n = split($0, l, "\n"); t = 0; su = 0; ur = 0
					for (i = 1; i <= n; i++) {
						if (l[i] ~ /^Types:/) t = has(l[i], "deb")
						if (l[i] ~ /^URIs:/) ur = has(l[i], u)
						if (l[i] ~ /^Suites:/) su = has(l[i], r)
					}
					if (!(t && ur && su)) next
					on = 0
					for (i = 1; i <= n; i++) {
						if (l[i] ~ /^Signed-By:/) on = 1
						else if (l[i] !~ /^[ \t]/) on = 0
						if (on) print l[i]
					}
					exit
				}' "$src")
		else
			signed=$(sed -n "${entry##*:}p" "$src" |
				sed -n 's/.*\[[^]]*signed-by=\([^] ]*\).*/Signed-By: \1/p')
		fi
		echo "deps: adding deb-src $uri $suite $comp in $src_file (for $pkg's source)"
		printf '%s\n' "# Added by ring's tools/deps.sh: $why." \
			'Types: deb-src' "URIs: $uri" "Suites: $suite" \
			"Components: $comp" ${signed:+"$signed"} |
			as_root tee "$src_file" >/dev/null
	fi
	as_root apt-get update -q
	src_known "$pkg" "$ver" || {
		echo "deps: apt still has no source of $pkg $ver (apt-cache showsrc $pkg)" >&2
		exit 1
	}
	echo "deps: source of $pkg $ver now known to apt"
}
need_source fio /etc/apt/sources.list.d/ring-deb-src.sources "fio's source for tools/fio"
need_source liburing-dev /etc/apt/sources.list.d/ring-deb-src-liburing.sources \
	"liburing's source for tests/liburing"

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
