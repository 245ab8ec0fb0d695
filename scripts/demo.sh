#!/usr/bin/env bash
# make demo: the TIME_WAIT story on a local 3-host test fleet.
#
#   1. three "web" hosts (network namespaces with real sshd) whose clients
#      reconnect to Redis for every request, with a badly tuned kernel;
#   2. tcp_stats shows TIME_WAIT piling up and connect() failing;
#   3. terraform plan refuses the copy-pasted tcp_tw_recycle advice;
#   4. terraform apply of tcp_tuning fixes all three hosts;
#   5. the same load runs clean and tcp_stats shows the headroom.
#
# It then destroys the tuning (original values return) and removes the
# fleet. KEEP=1 keeps everything up to explore; `scripts/demo.sh clean`
# (make demo-clean) destroys and removes everything. `scripts/demo.sh
# preflight` only checks what `make deps` cannot fix (Linux, root, network
# namespaces, Go); `make demo` runs it before installing or building anything.
# The demo dies when its own story does not hold: no EADDRNOTAVAIL before the
# tuning, any failure after it, or a tcp_tw_recycle plan that is not refused.
#
# TCP_DEMO_BIN (default bin/), TCP_DEMO_WORK (default .lab/demo) and
# TCP_DEMO_STATE (default .lab/demo-state.json) move the binaries, the
# terraform working directory and the fleet state; demo_test.go uses them.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${TCP_DEMO_BIN:-$ROOT/bin}"
WORK="${TCP_DEMO_WORK:-$ROOT/.lab/demo}"
STATE="${TCP_DEMO_STATE:-$ROOT/.lab/demo-state.json}"
TF="${TCP_TERRAFORM:-$(command -v terraform || echo "$(go env GOPATH 2>/dev/null)/bin/terraform")}"

bold=$'\e[1m'; dim=$'\e[2m'; off=$'\e[0m'
[ -t 1 ] || { bold=; dim=; off=; }
step=0
headline() { step=$((step + 1)); printf '\n%s== %d. %s%s\n' "$bold" "$step" "$*" "$off"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

export TF_CLI_CONFIG_FILE="$WORK/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_INPUT=0
tf() { (cd "$WORK" && "$TF" "$@"); }

clean() {
	if [ -f "$STATE" ]; then
		if [ -f "$WORK/terraform.tfstate" ]; then
			tf destroy -auto-approve -no-color -var apply_tuning=true >/dev/null 2>&1 || true
		fi
		"$BIN/tcplab" down -state "$STATE" >/dev/null 2>&1 || true
	fi
	# The fleet server's log (tcplab writes it beside the state) goes too,
	# except after a failure, when it may say why.
	rm -rf "$WORK" "$STATE"
	[ "${1:-}" = keep-log ] || rm -f "${STATE%.*}.log"
}

if [ "${1:-}" = clean ]; then
	[ -x "$BIN/tcplab" ] || (cd "$ROOT" && go build -o "$BIN/tcplab" ./cmd/tcplab)
	clean
	echo "demo: cleaned up"
	exit 0
fi

# Where the demo cannot run, say why: what `make deps` cannot fix.
netns_probe() {
	probe="tcpdemo-probe-$$"
	ip netns add "$probe" 2>/dev/null || die "cannot create network namespaces here (a container without CAP_SYS_ADMIN?)"
	ip netns del "$probe"
}
preflight() {
	os="$(uname -s)"
	[ "$os" = Linux ] || die "needs Linux (network namespaces); this is $os"
	[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces and runs sshd): sudo make demo"
	[ -e /proc/self/ns/net ] || die "this kernel has no network namespaces (CONFIG_NET_NS)"
	if command -v ip >/dev/null 2>&1; then
		netns_probe
	elif command -v unshare >/dev/null 2>&1; then
		# iproute2 is not installed yet (make deps installs it); unshare
		# tells already whether this machine lets us make a namespace.
		unshare -n "$BASH" -c : 2>/dev/null || die "cannot create network namespaces here (a container without CAP_SYS_ADMIN?)"
	fi # neither: make deps installs both, and the check below runs after it
	command -v go >/dev/null 2>&1 || die "needs Go (1.26) on PATH to build the provider: https://go.dev/dl/"
}

if [ "${1:-}" = preflight ]; then
	preflight
	exit 0
fi

preflight
command -v ip >/dev/null || die "needs iproute2 (ip netns): apt-get install -y iproute2"
[ -x /usr/sbin/sshd ] || die "needs OpenSSH server: apt-get install -y openssh-server"
[ -x "$TF" ] || die "no terraform: put one on PATH or run make deps"
[ -x "$BIN/terraform-provider-tcp" ] && [ -x "$BIN/tcplab" ] || die "run make build first (make demo does)"

clean
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "demo failed; cleaning up" >&2; clean keep-log; fi' EXIT
mkdir -p "$WORK"
started=$(date +%s)

headline "A local fleet: 3 hosts, each a network namespace with its own OpenSSH server"
"$BIN/tcplab" up -n 3 -state "$STATE" | sed 's/^/   /'
mkdir -p "$WORK/recycle"
cp "$ROOT/examples/demo/main.tf" "$WORK/"
cp "$ROOT/examples/demo/recycle/main.tf" "$WORK/recycle/"
"$BIN/tcplab" tfvars -state "$STATE" > "$WORK/terraform.tfvars.json"
cp "$WORK/terraform.tfvars.json" "$WORK/recycle/"
cat > "$WORK/terraformrc" <<EOF
provider_installation {
  dev_overrides {
    "tcptune/tcp" = "$BIN"
  }
  direct {}
}
EOF
note "provider: $BIN/terraform-provider-tcp through dev_overrides (no registry); config: examples/demo/main.tf"

headline "The hosts as they are: ephemeral range 40000-40999 (1,000 ports), tcp_tw_reuse = 0"
for i in 1 2 3; do
	"$BIN/tcplab" exec -state "$STATE" -host "$i" -- sh -c \
		'echo 40000 40999 > /proc/sys/net/ipv4/ip_local_port_range; echo 0 > /proc/sys/net/ipv4/tcp_tw_reuse'
done
note "(a narrow range so the demo is quick; the arithmetic is the same with the default 28,232 ports)"
note "(tcp_tw_reuse = 0 on purpose: on Linux 4.18+ the default 2 already reuses TIME_WAIT ports for"
note " loopback destinations, so this loopback Redis would not run out; 0 is what a Redis on another"
note " host gets with that default, and the default itself before Linux 4.18)"

# load HOST: 1300 new connections to 127.0.0.1:6379 from inside web-HOST,
# each closed by the client; sets attempted, succeeded, failed, eaddrnotavail.
load() {
	local out
	out=$("$BIN/tcplab" churn -state "$STATE" -host "$1" -port 6379 -n 1300 -client-closes -timeout 60s | tr -d '\n')
	for f in attempted succeeded failed eaddrnotavail; do
		v=$(printf '%s' "$out" | sed -nE "s/.*\"$f\": *([0-9]+).*/\1/p")
		[ -n "$v" ] || die "web-$1: no \"$f\" in the churn result: $out"
		printf -v "$f" '%s' "$v"
	done
}

headline "Load: each host's app opens a new connection to Redis (127.0.0.1:6379) per request"
for i in 1 2 3; do
	load "$i"
	printf '   web-%d: %s connects, %s ok, %s failed with EADDRNOTAVAIL (Cannot assign requested address)\n' \
		"$i" "$attempted" "$succeeded" "$eaddrnotavail"
	[ "$eaddrnotavail" -gt 0 ] || die "web-$i: the load before the tuning had no EADDRNOTAVAIL failures ($succeeded of $attempted connects succeeded), so there is nothing for the tuning to fix; is the ephemeral range still 40000-40999 and tcp_tw_reuse 0?"
done

headline "tcp_stats: the TIME_WAIT picture, read over SSH in one round trip per host"
tf apply -auto-approve -no-color >"$WORK/stats-before.log" 2>&1 ||
	die "reading tcp_stats failed: $(tail -20 "$WORK/stats-before.log")"
sed -n '/^Outputs:/,$p' "$WORK/stats-before.log" | sed 's/^/   /'
note "   and the check block of main.tf warns:"
grep -q 'Check block assertion failed' "$WORK/stats-before.log" ||
	die "tcp_stats did not show the ports running out: the check block of examples/demo/main.tf did not warn"
grep -h -A8 'Check block assertion failed' "$WORK/stats-before.log" | grep -E 'Check block|more than' | head -2 | sed 's/^/   /' || true

headline "terraform plan refuses the copy-pasted tcp_tw_recycle = 1 (before touching any host)"
if (cd "$WORK/recycle" && "$TF" plan -no-color >"$WORK/recycle.log" 2>&1); then
	die "the tcp_tw_recycle plan was not rejected"
fi
grep -q 'Error: TIME_WAIT Recycling' "$WORK/recycle.log" ||
	die "the tcp_tw_recycle plan failed, but not with the TIME_WAIT Recycling error: $(tail -20 "$WORK/recycle.log")"
grep -A12 'Error: TIME_WAIT Recycling' "$WORK/recycle.log" | sed 's/^/   /'

headline "terraform plan: the tuning for all 3 hosts"
tf plan -no-color -var apply_tuning=true 2>&1 | sed -n '/will be created/,/^$/p' | head -28 | sed 's/^/   /'
note "   ... (the same for web-2 and web-3)"

headline "terraform apply: all-or-nothing per host, persisted in /etc/sysctl.d, read back"
tf apply -auto-approve -no-color -var apply_tuning=true 2>&1 | grep -E 'Creation complete|Apply complete|Error' | sed 's/^/   /'
for i in 1 2 3; do
	printf '   web-%d: %s\n' "$i" "$("$BIN/tcplab" exec -state "$STATE" -host "$i" -- sh -c \
		'printf "range %s, tw_reuse %s, file %s" "$(tr "\t" " " < /proc/sys/net/ipv4/ip_local_port_range)" "$(cat /proc/sys/net/ipv4/tcp_tw_reuse)" "$(ls /etc/sysctl.d)"')"
done

headline "The same load again, right away: no EADDRNOTAVAIL"
for i in 1 2 3; do
	load "$i"
	printf '   web-%d: %s connects, %s ok, %s failed with EADDRNOTAVAIL\n' "$i" "$attempted" "$succeeded" "$eaddrnotavail"
	[ "$failed" -eq 0 ] && [ "$succeeded" -eq "$attempted" ] ||
		die "web-$i: the load still fails after the tuning: $failed of $attempted connects failed ($eaddrnotavail with EADDRNOTAVAIL)"
done

headline "tcp_stats after: headroom per destination, and a second plan that changes nothing"
tf apply -auto-approve -no-color -var apply_tuning=true 2>&1 | sed -n '/^Outputs:/,$p' | sed 's/^/   /'
note "   rate_without_reuse: usable ports / 60 s of TIME_WAIT, what one destination sustains without reuse"
note "   (when this host closes first, from one source address); port_reuse_ceiling: usable ports / the"
note "   reuse delay of this kernel (reuse_delay), a theoretical ceiling now that tcp_tw_reuse = 1, not a"
note "   rate the host will sustain; time_wait_taken_over (TcpExt TWRecycled) counts TIME_WAIT takeovers"
rc=0
tf plan -detailed-exitcode -no-color -var apply_tuning=true >"$WORK/replan.txt" 2>&1 || rc=$?
case $rc in
0) echo "   terraform plan again: No changes (every host already holds every value; nothing would be written)" ;;
2) sed 's/^/   /' "$WORK/replan.txt"; die "the plan after the apply is not empty: the tuning did not converge" ;;
*) sed 's/^/   /' "$WORK/replan.txt"; die "terraform plan after the apply failed (exit $rc)" ;;
esac

trap - EXIT
if [ "${KEEP:-0}" = 1 ]; then
	printf '\n%sDone in %ss.%s The fleet is still up (KEEP=1): explore with\n' "$bold" "$(( $(date +%s) - started ))" "$off"
	echo "   cd $WORK && TF_CLI_CONFIG_FILE=$WORK/terraformrc terraform plan -var apply_tuning=true"
	echo "   $BIN/tcplab ssh -state $STATE -host 1"
	echo "then run: make demo-clean   (destroys the tuning, restoring the original values, and removes the fleet)"
	exit 0
fi

headline "terraform destroy: original values back on every host, files removed; fleet removed"
tf destroy -auto-approve -no-color -var apply_tuning=true 2>&1 | grep -E 'Destruction complete|Destroy complete|Error' | sed 's/^/   /'
for i in 1 2 3; do
	printf '   web-%d: %s\n' "$i" "$("$BIN/tcplab" exec -state "$STATE" -host "$i" -- sh -c \
		'printf "range %s, tw_reuse %s, files: %s" "$(tr "\t" " " < /proc/sys/net/ipv4/ip_local_port_range)" "$(cat /proc/sys/net/ipv4/tcp_tw_reuse)" "$(ls /etc/sysctl.d | tr "\n" " ")"')"
done
clean
printf '\n%sDone in %ss.%s Nothing is left running. (KEEP=1 make demo keeps the fleet up to explore.)\n' "$bold" "$(( $(date +%s) - started ))" "$off"
