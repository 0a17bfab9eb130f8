#!/bin/sh
# Install devboot.
#
#   ./install.sh                       from a checkout: cargo install --path . --locked
#   ./install.sh --from-url URL        a release tarball (devboot-<version>-<target>.tar.gz),
#                                      checked against --sha256 HEX or URL.sha256
#
# Options: --prefix DIR (default $HOME/.local; the binary goes to DIR/bin), --help.
# Safe to run again: it replaces the installed binary in one step.
set -eu

say() { printf 'install.sh: %s\n' "$*"; }
err() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
usage_err() { printf 'install.sh: %s\n' "$*" >&2; printf "Try 'install.sh --help'.\n" >&2; exit 2; }
need() { command -v "$1" >/dev/null 2>&1 || err "need '$1' (command not found)${2:+; $2}"; }

usage() {
	cat <<'EOF'
Install devboot.

Usage:
  ./install.sh [--prefix DIR]
      From a checkout of the devboot repository: builds and installs with
      `cargo install --path <checkout> --locked --root DIR`.
  install.sh --from-url URL [--sha256 HEX] [--prefix DIR]
      Downloads a release tarball (https only), checks its SHA-256 against HEX
      or against URL.sha256, and installs the devboot binary in it.

Options:
  --prefix DIR     install into DIR/bin (default: $HOME/.local)
  --from-url URL   release tarball devboot-<version>-<target>.tar.gz
  --sha256 HEX     expected SHA-256 of the tarball (default: fetched from URL.sha256)
  -h, --help       show this help
EOF
}

prefix=${HOME:?HOME is not set}/.local
url=
sha256=

while [ "$#" -gt 0 ]; do
	case $1 in
		-h | --help) usage; exit 0 ;;
		--prefix | --from-url | --sha256)
			if [ "$#" -lt 2 ] || [ -z "$2" ]; then usage_err "$1 needs a value"; fi
			case $1 in
				--prefix) prefix=$2 ;;
				--from-url) url=$2 ;;
				--sha256) sha256=$2 ;;
			esac
			shift 2 ;;
		--prefix=*) prefix=${1#*=}; [ -n "$prefix" ] || usage_err "--prefix needs a value"; shift ;;
		--from-url=*) url=${1#*=}; shift ;;
		--sha256=*) sha256=${1#*=}; shift ;;
		*) usage_err "unknown argument: $1" ;;
	esac
done

if [ -n "$url" ]; then
	case $url in
		https://*) ;;
		*) usage_err "--from-url must be an https:// URL: $url" ;;
	esac
fi
if [ -n "$sha256" ]; then
	[ -n "$url" ] || usage_err "--sha256 only goes with --from-url"
	sha256=$(printf '%s' "$sha256" | tr 'A-F' 'a-f')
	case $sha256 in
		*[!0-9a-f]*) usage_err "--sha256 must be 64 hex digits" ;;
	esac
	[ "${#sha256}" -eq 64 ] || usage_err "--sha256 must be 64 hex digits"
fi

# The checkout this script belongs to, if any (not when piped into sh).
src=
if [ -f "$0" ]; then
	src=$(cd -- "$(dirname -- "$0")" && pwd)
	[ -f "$src/Cargo.toml" ] || src=
fi
if [ -z "$url" ] && [ -z "$src" ]; then
	usage_err "not run from a devboot checkout; pass --from-url URL of a release tarball"
fi

mkdir -p -- "$prefix/bin" || err "cannot create $prefix/bin"
prefix=$(cd -- "$prefix" && pwd)
bindir=$prefix/bin

download() { # URL FILE
	if command -v curl >/dev/null 2>&1; then
		curl --proto '=https' --proto-redir '=https' --tlsv1.2 -fsSL -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget --https-only --secure-protocol=TLSv1_2 -q -O "$2" "$1"
	else
		err "need curl or wget to download $1"
	fi
}

sha256_of() { # FILE
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
	else
		err "need sha256sum, shasum or openssl to verify the download"
	fi
}

install_from_url() {
	need tar
	tmp=$(mktemp -d 2>/dev/null || mktemp -d -t devboot-install)
	trap 'rm -rf -- "$tmp"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	name=${url%%\?*}
	name=${name##*/}
	case $name in
		*.tar.gz | *.tgz) ;;
		*) err "expected a .tar.gz release tarball, got: $name" ;;
	esac

	say "downloading $url"
	download "$url" "$tmp/$name" || err "could not download $url"
	if [ -z "$sha256" ]; then
		download "$url.sha256" "$tmp/$name.sha256" ||
			err "could not download $url.sha256; pass the checksum with --sha256 HEX"
		sha256=$(cut -d ' ' -f 1 <"$tmp/$name.sha256" | head -n 1 | tr 'A-F' 'a-f')
		[ "${#sha256}" -eq 64 ] || err "$url.sha256 does not hold a SHA-256"
	fi
	actual=$(sha256_of "$tmp/$name")
	[ "$actual" = "$sha256" ] ||
		err "checksum mismatch for $name: expected $sha256, got $actual (download not installed)"
	say "checksum ok ($sha256)"

	mkdir "$tmp/x"
	tar -xzf "$tmp/$name" -C "$tmp/x" || err "could not unpack $name"
	bin=$(find "$tmp/x" -type f -name devboot | head -n 1)
	[ -n "$bin" ] || err "$name holds no devboot binary"
	replace_binary "$bin"
}

# replace_binary NEW : installs NEW as $bindir/devboot only if it runs here; the devboot already
# installed stays until then. Copied next to the target, then renamed: replaced in one step.
replace_binary() {
	mkdir -p -- "$bindir" || err "cannot create $bindir"
	staged="$bindir/.devboot.install.$$"
	cp -- "$1" "$staged" || err "cannot write to $bindir"
	chmod 0755 "$staged"
	if ! "$staged" --version >/dev/null 2>&1; then
		rm -f -- "$staged"
		err "the new devboot does not run on this machine; the installed one is unchanged"
	fi
	mv -f -- "$staged" "$bindir/devboot" || { rm -f -- "$staged"; err "cannot install into $bindir"; }
}

install_from_checkout() {
	need cargo "install Rust from https://rustup.rs, then run ./install.sh again"
	tmp=$(mktemp -d 2>/dev/null || mktemp -d -t devboot-install)
	trap 'rm -rf -- "$tmp"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	say "building devboot from $src (cargo install --locked)"
	# Built into a scratch root, test-run, then put in place.
	cargo install --path "$src" --locked --root "$tmp/build" ||
		err "cargo install failed (see the messages above)"
	replace_binary "$tmp/build/bin/devboot"
}

if [ -n "$url" ]; then
	install_from_url
else
	install_from_checkout
fi

version=$("$bindir/devboot" --version) || err "$bindir/devboot does not run"
say "installed $version at $bindir/devboot"

case ":${PATH:-}:" in
	*":$bindir:"*) ;;
	*)
		case $bindir in
			"$HOME"/*) shown="\$HOME/${bindir#"$HOME"/}" ;;
			*) shown=$bindir ;;
		esac
		case ${SHELL:-} in
			*/zsh) profile=$HOME/.zshrc ;;
			*/bash) profile=$HOME/.bashrc ;;
			*) profile=$HOME/.profile ;;
		esac
		say "$bindir is not on your PATH; add this line to $profile and open a new shell:"
		# shellcheck disable=SC2016 # $PATH belongs in the profile line, unexpanded
		printf '\n    export PATH="%s:$PATH"\n\n' "$shown"
		;;
esac
