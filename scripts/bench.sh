#!/usr/bin/env bash
# Fleet benchmark: this provider vs Ansible (ansible.posix.sysctl, defaults
# and pipelining) vs terraform_data + remote-exec, on a local test fleet.
#
#   ./scripts/bench.sh [HOSTS]            (make bench HOSTS=50)
#
# Environment:
#   LATENCY=20ms       latency added each way on every SSH connection (default 0)
#   PARALLELISM=10     terraform -parallelism, and forks of the pipelined Ansible run
#   TOOLS=floor,terraform-only,provider,ansible,ansible-pipelining,remote-exec
#   PROVIDER=bin/terraform-provider-tcp
#   OUT=.lab/bench     where the Markdown and JSON reports (and the work dir) go
#
# Needs root, terraform, and for the Ansible rows ansible-playbook (Debian
# package ansible, installed with apt-get when missing on Debian). The
# fleet lives in the fleetbench process and is removed when it exits, also
# on Ctrl-C; leftovers of a killed run are removed by `tcplab gc` on the way
# out.
set -euo pipefail
cd "$(dirname "$0")/.."

HOSTS=${1:-${HOSTS:-20}}
LATENCY=${LATENCY:-0s}
PARALLELISM=${PARALLELISM:-10}
TOOLS=${TOOLS:-floor,terraform-only,provider,ansible,ansible-pipelining,remote-exec}
PROVIDER=${PROVIDER:-bin/terraform-provider-tcp}
OUT=${OUT:-.lab/bench}
GO=${GO:-go}

if [ "$(id -u)" != 0 ]; then
	echo "bench: the test fleet needs root (network namespaces, sshd)" >&2
	exit 1
fi
[ -x "$PROVIDER" ] || { echo "bench: $PROVIDER missing: run make build (make bench does)" >&2; exit 1; }
case ",$TOOLS," in
*,ansible*)
	# The Ansible rows need the Debian package ansible (it ships
	# ansible.posix): install it when missing, on Debian (we are root).
	if ! command -v ansible-playbook >/dev/null && command -v apt-get >/dev/null && [ -r /etc/debian_version ]; then
		echo "bench: installing the Debian package ansible (for the Ansible rows; TOOLS=provider,remote-exec skips them)" >&2
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ansible >&2; then
			DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ansible >&2 || true
		fi
	fi
	command -v ansible-playbook >/dev/null || { echo "bench: ansible-playbook missing (apt-get install ansible), or set TOOLS=provider,remote-exec" >&2; exit 1; }
	ansible-doc ansible.posix.sysctl >/dev/null 2>&1 || { echo "bench: the ansible.posix collection is missing (the Debian package ansible ships it)" >&2; exit 1; }
	;;
esac

mkdir -p "$OUT" bin
$GO build -o bin/fleetbench ./internal/bench/cmd/fleetbench
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$OUT/$stamp-hosts$HOSTS-latency$LATENCY"
work="$name.work"

pid=
cleanup() {
	status=$?
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	# Fleets whose owner process is gone (a killed fleetbench).
	if [ -x bin/tcplab ]; then bin/tcplab gc >/dev/null 2>&1 || true; fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench: $HOSTS hosts, latency $LATENCY, parallelism $PARALLELISM, tools $TOOLS"
bin/fleetbench -hosts "$HOSTS" -latency "$LATENCY" -parallelism "$PARALLELISM" -tools "$TOOLS" \
	-provider "$PROVIDER" -workdir "$work" -md "$name.md" -json "$name.json" &
pid=$!
wait "$pid"
pid=
echo
echo "bench: report in $name.md and $name.json; configurations and logs in $work"
