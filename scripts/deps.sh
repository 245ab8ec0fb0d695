#!/bin/sh
# Installs what the test fleet and the acceptance tests need, when missing:
# openssh-server (sshd), iproute2 (ip netns), sudo, busybox (script tests),
# strace (tests that watch what host scripts do, and delay them), and a
# terraform CLI. Only Debian/Ubuntu are automated; elsewhere it says
# what to install.
set -eu

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

if ! command -v terraform >/dev/null 2>&1; then
	gobin="$(go env GOPATH)/bin"
	if [ ! -x "$gobin/terraform" ]; then
		echo "deps: no terraform on PATH; building terraform v1.5.7 with go install (a few minutes, once)"
		go install github.com/hashicorp/terraform@v1.5.7
	fi
fi
