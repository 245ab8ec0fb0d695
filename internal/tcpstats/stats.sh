# stats.sh: one host's TIME_WAIT picture, aggregated on the host.
#
# POSIX sh (dash, busybox sh), after the common prelude
# (internal/hostscript/lib.sh: environment, AWK_HEX, the default port range
# and the socket state names). Input on stdin, one "key value" per line:
#   top N       top entries per list, 0..1000 (default 10)
#   sysctl NAME a setting under net.ipv4 to report (repeatable; [a-z0-9_])
#   nss 1       do not use ss; read /proc/net/tcp{,6} (tests force the fallback)
#   endian le|be  byte order of /proc/net/tcp words (default: this machine's)
#   sample N    read the counters twice, N seconds apart (1..10; default 0:
#               once), in this one run
# Env TCP_TUNING_ROOT prefixes every /proc path (a fake root for tests); a
# fake root implies the /proc fallback, since ss cannot read it.
# TCP_TUNING_PROC, as in every script, names /proc itself.
#
# Output, one record per line (counts before keys so one sort orders them):
#   tcpstats 1 | source ss|proc | kernel R | sockstat <TCP: line>
#   netstat <TcpExt: pair line> | snmp <Tcp: pair line>
#   with sample N, after those: uptime1 SECONDS, then N seconds later
#   uptime2 SECONDS, sockstat2, netstat2, snmp2 (the second reading; SECONDS
#   from /proc/uptime, or the epoch when it is missing)
#   sysctl NAME VALUE | nosysctl NAME
#   listen PORTLIST            listening TCP ports, kernel list format
#   state COUNT NAME           sockets per state (kernel names)
#   tw COUNT                   exact TIME_WAIT, IPv4 + IPv6
#   distinct KIND COUNT        entries of a list before the top N cut
#   twdst COUNT ADDR PORT      client-side TIME_WAIT per destination (top N)
#   twlport COUNT PORT         server-side TIME_WAIT per local port (top N)
#   use COUNT ADDR PORT        client-side sockets of every state but LISTEN
#                              per destination (top max(N,1))
#   error input|list MESSAGE   then "end error" (exit 1 or 2)
#   end ok                     last line: the output is complete
#
# A socket is client-side when its local port could have been chosen by
# connect(): inside ip_local_port_range, not in ip_local_reserved_ports and
# not a listening port. Every other socket is server-side (accepted on a
# listening port, or bound to a fixed port by its program).

top=10
nss=0
endian=
sample=0
keys=
while IFS=' ' read -r k v rest || [ -n "$k" ]; do
	case $k in
	'') ;;
	top)
		case $v in '' | *[!0-9]*) fail_output input "top must be a number" ;; esac
		if [ "${#v}" -gt 4 ] || [ "$v" -gt 1000 ]; then fail_output input "top must be at most 1000"; fi
		top=$v ;;
	sysctl)
		case $v in '' | *[!abcdefghijklmnopqrstuvwxyz0123456789_]*) fail_output input "invalid sysctl name" ;; esac
		keys="$keys $v" ;;
	nss)
		case $v in 0 | 1) nss=$v ;; *) fail_output input "nss must be 0 or 1" ;; esac ;;
	endian)
		case $v in le | be) endian=$v ;; *) fail_output input "endian must be le or be" ;; esac ;;
	sample)
		case $v in [0-9] | 10) sample=$v ;; *) fail_output input "sample must be 0 to 10 seconds" ;; esac ;;
	*) fail_output input "unknown input key" ;;
	esac
	k=
done

echo "tcpstats 1"

if [ -r "$P/sys/kernel/osrelease" ]; then
	echo "kernel $(cat "$P/sys/kernel/osrelease")"
else
	echo "kernel $(uname -r)"
fi

# counters SUFFIX: the sockstat TCP line and the TcpExt and Tcp counters.
counters() {
	if [ -r "$P/net/sockstat" ]; then
		awk -v s="$1" '$1 == "TCP:" { print "sockstat" s, $0 }' "$P/net/sockstat"
	fi
	if [ -r "$P/net/netstat" ]; then
		awk -v s="$1" '$1 == "TcpExt:" { print "netstat" s, $0 }' "$P/net/netstat"
	fi
	if [ -r "$P/net/snmp" ]; then
		awk -v s="$1" '$1 == "Tcp:" { print "snmp" s, $0 }' "$P/net/snmp"
	fi
}
clock() {
	if [ -r "$P/uptime" ]; then
		awk -v s="$1" 'NR == 1 { print "uptime" s, $1 }' "$P/uptime"
	else
		echo "uptime$1 $(date +%s)"
	fi
}
if [ "$sample" -gt 0 ]; then
	clock 1
	counters ""
	sleep "$sample"
	clock 2
	counters 2
else
	counters ""
fi

lo=$DEF_PORT_LO
hi=$DEF_PORT_HI
res=
# shellcheck disable=SC2086 # keys: validated names, split on spaces
for k in $keys; do
	f=$P/sys/net/ipv4/$k
	if [ -r "$f" ] && v=$(tr '\t\n' '  ' <"$f" 2>/dev/null); then
		# shellcheck disable=SC2086
		set -- $v
		echo "sysctl $k $*"
		case $k in
		ip_local_port_range) [ $# -eq 2 ] && lo=$1 && hi=$2 ;;
		ip_local_reserved_ports) res=${1:-} ;;
		esac
	else
		echo "nosysctl $k"
	fi
done

src=proc
if [ "$nss" != 1 ] && [ -z "$R" ] && command -v ss >/dev/null 2>&1 &&
	ss -Htln >/dev/null 2>&1; then
	src=ss
fi
echo "source $src"

if [ -z "$endian" ]; then
	endian=$(printf '\001\002' | od -x 2>/dev/null | awk 'NR == 1 { print ($2 == "0201") ? "le" : (($2 == "0102") ? "be" : "") }')
fi
if [ -z "$endian" ]; then
	case $(uname -m) in
	s390* | ppc | ppc64 | mips | mips64 | sparc* | m68k | parisc* | or1k) endian=be ;;
	*) endian=le ;;
	esac
fi

# Listening ports, comma-separated (duplicates allowed).
if [ "$src" = ss ]; then
	lis=$(ss -Htln | awk '{ a = $(NF - 1); sub(/.*:/, "", a); if (a ~ /^[0-9]+$/) printf "%s%s", sep, a; sep = "," }')
else
	# /proc/net/tcp lists the listening sockets before all others; old kernels
	# put each listener's SYN_RECV requests (03) right after it.
	lis=
	for f in "$P/net/tcp" "$P/net/tcp6"; do
		[ -r "$f" ] || continue
		l=$(awk "$AWK_HEX"'
			NR == 1 && $1 == "sl" { next }
			$4 != "0A" && $4 != "03" { exit }
			$4 == "0A" { n = split($2, a, ":"); printf "%s%d", sep, hex(a[n]); sep = "," }' <"$f")
		lis=$lis,$l
	done
fi

# The aggregation. Input: ss -Htan lines, or /proc/net/tcp{,6} lines; a last
# line "#rc N" carries the lister's exit status.
AGG=$AWK_HEX'
function portset(str, arr,   n, i, j, parts, ab, a, b) {
	n = split(str, parts, ",")
	for (i = 1; i <= n; i++) {
		if (parts[i] !~ /^[0-9]+(-[0-9]+)?$/) continue
		if (split(parts[i], ab, "-") == 2) { a = ab[1] + 0; b = ab[2] + 0 } else { a = parts[i] + 0; b = a }
		if (b > 65535) b = 65535
		for (j = a; j <= b; j++) arr[j] = 1
	}
}
function client(p) { return p >= lo && p <= hi && !(p in res) && !(p in lis) }
# One /proc word (8 hex digits) as 4 bytes in network order, hex.
function word(w) {
	if (le == 1) return substr(w, 7, 2) substr(w, 5, 2) substr(w, 3, 2) substr(w, 1, 2)
	return w
}
function v4(h) { return hex(substr(h, 1, 2)) "." hex(substr(h, 3, 2)) "." hex(substr(h, 5, 2)) "." hex(substr(h, 7, 2)) }
# "ADDRHEX:PORTHEX" of /proc/net/tcp{,6} as "address port".
function procdst(k,   i, h, g, n, bs, bl, cs, cl, out) {
	i = index(k, ":")
	h = substr(k, 1, i - 1)
	if (length(h) == 8) return v4(word(h)) " " hex(substr(k, i + 1))
	h = word(substr(h, 1, 8)) word(substr(h, 9, 8)) word(substr(h, 17, 8)) word(substr(h, 25, 8))
	h = toupper(h)
	if (substr(h, 1, 24) == "00000000000000000000FFFF") return v4(substr(h, 25, 8)) " " hex(substr(k, i + 1))
	# RFC 5952: lower case, no leading zeros, longest run (>= 2) of zero groups as "::".
	bs = -1; bl = 0; cs = -1; cl = 0
	for (n = 0; n < 8; n++) {
		g[n] = hex(substr(h, n * 4 + 1, 4))
		if (g[n] == 0) { if (cs < 0) { cs = n; cl = 0 } cl++; if (cl > bl) { bs = cs; bl = cl } }
		else cs = -1
	}
	if (bl < 2) bs = -1
	out = ""
	for (n = 0; n < 8; n++) {
		if (n == bs) { out = out "::"; n += bl - 1; continue }
		if (out != "" && substr(out, length(out)) != ":") out = out ":"
		out = out sprintf("%x", g[n])
	}
	return out " " hex(substr(k, i + 1))
}
# ss "addr:port" as "address port": brackets, zone and IPv4-mapped prefix removed.
function ssdst(s,   a, p) {
	match(s, /:[^:]*$/)
	a = substr(s, 1, RSTART - 1); p = substr(s, RSTART + 1)
	gsub(/\[/, "", a); gsub(/\]/, "", a); sub(/%.*/, "", a)
	if (a ~ /^::[fF][fF][fF][fF]:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) a = substr(a, 8)
	return a " " p
}
BEGIN {
	for (i = 0; i < 256; i++) { b = sprintf("%02X", i); H[b] = i; H[tolower(b)] = i }
	lo += 0; hi += 0
	portset(resv, res); portset(lisv, lis)
	n = split(sss, m, " ")
	for (i = 1; i < n; i += 2) ssname[m[i]] = m[i + 1]
	n = split(pss, m, " ")
	for (i = 1; i <= n; i++) procname[sprintf("%02X", i)] = m[i]
	rc = -1; tw = 0
}
$1 == "#rc" { rc = $2; next }
src == "ss" {
	if (NF < 5) next
	st = ($1 in ssname) ? ssname[$1] : $1
	gsub(/-/, "_", st)
	l = $(NF - 1); lp = l; sub(/.*:/, "", lp); lp += 0
	key = $NF
	if (key ~ /^\*/ || key ~ /:\*$/) key = ""
}
src == "proc" {
	if ($1 == "sl" || NF < 4) next
	s = $4
	if (!(s in procname)) s = toupper(s)
	st = (s in procname) ? procname[s] : "UNKNOWN_" s
	l = $2; n = length(l)
	lp = (substr(l, n - 4, 1) == ":") ? H[substr(l, n - 3, 2)] * 256 + H[substr(l, n - 1, 2)] : hex(substr(l, index(l, ":") + 1))
	key = $3
	if (key ~ /:0000$/) key = ""
}
{
	states[st]++
	if (st == "LISTEN") next
	c = client(lp)
	if (st == "TIME_WAIT") {
		tw++
		if (!c) twl[lp]++
		else if (key != "") twd[key]++
	}
	if (c && key != "") used[key]++
}
END {
	if (rc != 0) { print "error list socket listing by " src " failed (status " rc ")"; exit 1 }
	for (s in states) print "state", states[s], s
	print "tw", tw
	# Keys are raw text; merge the ones that name the same destination.
	for (k in twd) { d = (src == "ss") ? ssdst(k) : procdst(k); twd2[d] += twd[k] }
	for (k in used) { d = (src == "ss") ? ssdst(k) : procdst(k); used2[d] += used[k] }
	n = 0; for (k in twd2) { n++; print "twdst", twd2[k], k }; print "distinct twdst", n
	n = 0; for (k in used2) { n++; print "use", used2[k], k }; print "distinct use", n
	n = 0; for (k in twl) { n++; print "twlport", twl[k], k }; print "distinct twlport", n
	out = ""; a = -1
	for (p = 0; p <= 65536; p++) {
		if (p in lis) { if (a < 0) a = p; continue }
		if (a < 0) continue
		out = out (out == "" ? "" : ",") a (p - 1 > a ? "-" (p - 1) : ""); a = -1
	}
	print "listen", out
}'

TOPN='
$1 == "twdst" || $1 == "twlport" || $1 == "use" {
	lim = ($1 == "use" && top < 1) ? 1 : top
	if (++n[$1] > lim) next
}
{ print }
$1 == "error" { err = 1 }
$1 == "tw" { done = 1 }
END {
	if (!err && !done) { print "error list socket aggregation failed"; err = 1 }
	if (err) exit 1
}'

le=0
[ "$endian" = le ] && le=1
if [ "$src" = ss ]; then
	{ ss -Htan; echo "#rc $?"; }
else
	for f in "$P/net/tcp" "$P/net/tcp6"; do
		[ -r "$f" ] && cat "$f"
	done
	echo "#rc 0"
fi | awk -v src="$src" -v lo="$lo" -v hi="$hi" -v resv="$res" -v lisv="$lis" -v le="$le" \
	-v sss="$SS_STATES" -v pss="$PROC_STATES" "$AGG" |
	sort -k1,1 -k2,2nr -k3,3 -k4,4n | awk -v top="$top" "$TOPN" || end_output error 1

end_output ok 0
