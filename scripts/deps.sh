#!/bin/sh
# Installs what the test fleet and the acceptance tests need, when missing:
# openssh-server (sshd), iproute2 (ip netns), sudo, busybox (script tests),
# strace (tests that watch what host scripts do, and delay them). Only
# Debian/Ubuntu are automated; elsewhere it says what to install.
#
# Then, with the Go toolchain and the Go module proxy only, it builds what
# is not cached yet into a cache keyed by version (TCP_CLI_CACHE, default
# ~/.cache/terraform-provider-tcp; versions in scripts/versions.env), so a
# second run builds nothing:
#   terraform-$TF_MIN_VERSION/terraform   go install (also the terraform used
#                                         when none is on PATH)
#   tofu-$TOFU_VERSION/tofu               go build inside the module
#   goreleaser-<v>/goreleaser             go install
# and golangci-lint $GOLANGCI_LINT_VERSION into GOBIN (go install) when that
# version is not there.
#
#   scripts/deps.sh              system packages; terraform when none is on PATH
#   scripts/deps.sh matrix       the same, and every CLI and tool `make test` uses
#   scripts/deps.sh goreleaser   only goreleaser
#   scripts/deps.sh lint         only golangci-lint
#   scripts/deps.sh path NAME    print the cached path of NAME (terraform-min, tofu, goreleaser)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
cache="${TCP_CLI_CACHE:-${HOME:-/root}/.cache/terraform-provider-tcp}"

tf_min="$cache/terraform-$TF_MIN_VERSION/terraform"
tofu="$cache/tofu-$TOFU_VERSION/tofu"
goreleaser_path() { echo "$cache/goreleaser-$1/goreleaser"; }

# elapsed prints the seconds since $1.
elapsed() { echo $(($(date +%s) - $1)); }

build_terraform_min() {
	[ -x "$tf_min" ] && return 0
	echo "deps: building terraform $TF_MIN_VERSION with go install into $(dirname "$tf_min") (minutes, once)"
	start=$(date +%s)
	GOBIN="$(dirname "$tf_min")" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "github.com/hashicorp/terraform@v$TF_MIN_VERSION"
	echo "deps: terraform $TF_MIN_VERSION built in $(elapsed "$start") s"
}

# OpenTofu's go.mod has replace directives, so `go install mod@version`
# refuses it: download the module and build inside it. version.dev=no makes
# it report "1.10.10" as release builds do, not "1.10.10-dev".
build_tofu() {
	[ -x "$tofu" ] && return 0
	echo "deps: building OpenTofu $TOFU_VERSION from the Go module into $(dirname "$tofu") (minutes, once)"
	start=$(date +%s)
	dir="$(go mod download -json "github.com/opentofu/opentofu@v$TOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	if [ -z "$dir" ] || [ ! -d "$dir/cmd/tofu" ]; then
		echo "deps: go mod download github.com/opentofu/opentofu@v$TOFU_VERSION gave no module directory" >&2
		exit 1
	fi
	mkdir -p "$(dirname "$tofu")"
	(cd "$dir" && GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath \
		-ldflags "-X github.com/opentofu/opentofu/version.dev=no" -o "$tofu.tmp" ./cmd/tofu)
	mv "$tofu.tmp" "$tofu"
	echo "deps: OpenTofu $TOFU_VERSION built in $(elapsed "$start") s"
}

build_goreleaser() {
	for v in "$GORELEASER_VERSION" "$GORELEASER_FALLBACK_VERSION"; do
		p="$(goreleaser_path "$v")"
		[ -x "$p" ] && return 0
	done
	for v in "$GORELEASER_VERSION" "$GORELEASER_FALLBACK_VERSION"; do
		p="$(goreleaser_path "$v")"
		echo "deps: building goreleaser $v with go install into $(dirname "$p") (minutes, once)"
		start=$(date +%s)
		if GOBIN="$(dirname "$p")" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "github.com/goreleaser/goreleaser/v2@v$v"; then
			echo "deps: goreleaser $v built in $(elapsed "$start") s"
			return 0
		fi
		echo "deps: goreleaser $v did not build; trying the next version" >&2
	done
	exit 1
}

# golangci_lint_path is where go install puts golangci-lint: GOBIN, else
# GOPATH/bin.
golangci_lint_path() {
	gobin="$(go env GOBIN)"
	[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
	echo "$gobin/golangci-lint"
}

install_golangci_lint() {
	p="$(golangci_lint_path)"
	if [ -x "$p" ] && "$p" version 2>/dev/null | grep -q "version $GOLANGCI_LINT_VERSION "; then
		return 0
	fi
	echo "deps: installing golangci-lint $GOLANGCI_LINT_VERSION with go install into $(dirname "$p") (a minute, once)"
	start=$(date +%s)
	GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$GOLANGCI_LINT_VERSION"
	echo "deps: golangci-lint $GOLANGCI_LINT_VERSION installed in $(elapsed "$start") s"
}

case "${1:-}" in
path)
	case "${2:-}" in
	terraform-min) echo "$tf_min" ;;
	tofu) echo "$tofu" ;;
	goreleaser)
		for v in "$GORELEASER_VERSION" "$GORELEASER_FALLBACK_VERSION"; do
			if [ -x "$(goreleaser_path "$v")" ]; then goreleaser_path "$v"; exit 0; fi
		done
		goreleaser_path "$GORELEASER_VERSION"
		;;
	golangci-lint) golangci_lint_path ;;
	*) echo "usage: $0 path terraform-min|tofu|goreleaser|golangci-lint" >&2; exit 2 ;;
	esac
	exit 0
	;;
goreleaser)
	build_goreleaser
	exit 0
	;;
lint)
	install_golangci_lint
	exit 0
	;;
"" | matrix) ;;
*) echo "usage: $0 [matrix | goreleaser | lint | path NAME]" >&2; exit 2 ;;
esac

missing=""
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v sudo >/dev/null 2>&1 || missing="$missing sudo"
command -v busybox >/dev/null 2>&1 || missing="$missing busybox"
command -v ssh-keygen >/dev/null 2>&1 || missing="$missing openssh-client"
command -v ss >/dev/null 2>&1 || missing="$missing iproute2"
command -v unshare >/dev/null 2>&1 || missing="$missing util-linux"
command -v strace >/dev/null 2>&1 || missing="$missing strace"
[ -d /etc/sysctl.d ] || missing="$missing procps"

if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "deps: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
	else
		echo "deps: missing$missing" >&2
		echo "deps: install them with your package manager (as root), or run on Debian/Ubuntu as root" >&2
		exit 1
	fi
fi
mkdir -p /run/sshd 2>/dev/null || true

install_golangci_lint

# With no terraform on PATH, the minimum version is the one `make` and the
# scripts use (GNUmakefile falls back to it; scripts/demo.sh looks in
# GOPATH/bin).
if ! command -v terraform >/dev/null 2>&1; then
	build_terraform_min
	gobin="$(go env GOPATH)/bin"
	if [ ! -x "$gobin/terraform" ]; then
		mkdir -p "$gobin"
		ln -sf "$tf_min" "$gobin/terraform"
		echo "deps: no terraform on PATH; $gobin/terraform is terraform $TF_MIN_VERSION"
	fi
fi

if [ "${1:-}" = matrix ]; then
	# Three independent builds: run together, downloads overlap compiles.
	# Each one's output is shown when it ends (all of it when it failed).
	# Cold (empty module and build caches, 2 cores) they take about 8 minutes.
	todo=""
	[ -x "$tf_min" ] || todo="$todo terraform-$TF_MIN_VERSION"
	[ -x "$tofu" ] || todo="$todo tofu-$TOFU_VERSION"
	[ -x "$(goreleaser_path "$GORELEASER_VERSION")" ] || [ -x "$(goreleaser_path "$GORELEASER_FALLBACK_VERSION")" ] || todo="$todo goreleaser-$GORELEASER_VERSION"
	[ -z "$todo" ] || echo "deps: building$todo in parallel into $cache (minutes, once per version)"
	logs="$(mktemp -d)"
	build_terraform_min >"$logs/terraform" 2>&1 &
	p_tf=$!
	build_tofu >"$logs/tofu" 2>&1 &
	p_tofu=$!
	build_goreleaser >"$logs/goreleaser" 2>&1 &
	p_gr=$!
	failed=""
	for job in "$p_tf terraform" "$p_tofu tofu" "$p_gr goreleaser"; do
		pid="${job% *}" name="${job#* }"
		if wait "$pid"; then
			grep '^deps:' "$logs/$name" || true
		else
			cat "$logs/$name" >&2
			failed="$failed $name"
		fi
	done
	rm -rf "$logs"
	if [ -n "$failed" ]; then
		echo "deps: failed to build:$failed" >&2
		exit 1
	fi
fi
