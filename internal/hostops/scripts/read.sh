# read.sh: kernel release, live values, the persisted file and (optionally)
# the facts host-aware rules need. Changes nothing on the host.
#
# Input records (stdin), terminated by "end":
#   key <key>          a sysctl to read (repeatable)
#   persist <path>     the persisted file to report in full
#   marker <text>      first line that marks a file as ours
#   facts              also report ports and every sysctl.d file
#   end
# Output records, then "end ok" (exit 0) or "end error" (exit 2):
#   kernel <release>
#   key <key> <r|-><w|-> [<value>]   or   key <key> absent
#   file persist|conf <path>         starts a file block; then, for it:
#     link <target>   missing   managed   name <name>
#     line <text>     noeol     (persisted file only: exact content)
#     val <key> <value>         (net.* settings in file order)
#   nofile <path>                    the persisted file does not exist
#   unpriv <n>                       net.ipv4.ip_unprivileged_port_start
#   listen <port>                    TCP port in LISTEN (IPv4 or IPv6), once each
#   error <code> <msg>

# Parses sysctl.d syntax; prints "val <key> <value>" for net.* keys that are
# in ENVIRON["TCP_TUNING_KEYS"] (" k1 k2 ", or "*" for every net.* key).
AWK_CONF='
function swap(s,   i, c, o) {
	o = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "/") c = "."; else if (c == ".") c = "/"
		o = o c
	}
	return o
}
BEGIN { want = ENVIRON["TCP_TUNING_KEYS"] }
{
	s = $0
	sub(/\r$/, "", s)
	sub(/^[ \t]+/, "", s)
	c = substr(s, 1, 1)
	if (s == "" || c == "#" || c == ";") next
	if (c == "-") s = substr(s, 2)
	eq = index(s, "=")
	if (eq == 0) next
	k = substr(s, 1, eq - 1)
	v = substr(s, eq + 1)
	sub(/^[ \t]+/, "", k); sub(/[ \t]+$/, "", k)
	sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
	sl = index(k, "/"); dt = index(k, ".")
	if (sl > 0 && (dt == 0 || sl < dt)) k = swap(k)
	if (k !~ /^net\.[a-z0-9_.-]+$/) next
	if (want != "*" && index(want, " " k " ") == 0) next
	print "val " k " " v
}'

# Prints "listen <port>" once per local port of sockets in state 0A
# (LISTEN) from /proc/net/tcp and tcp6 (ports are plain hex).
AWK_LISTEN='
function hex(s,   i, c, n) {
	n = 0
	s = toupper(s)
	for (i = 1; i <= length(s); i++) {
		c = index("0123456789ABCDEF", substr(s, i, 1))
		if (c == 0) return -1
		n = n * 16 + c - 1
	}
	return n
}
$4 == "0A" {
	m = split($2, a, ":")
	p = hex(a[m])
	if (p >= 0 && !(p in seen)) { seen[p] = 1; print "listen " p }
}'

rd_fail() {
	printf 'error %s %s\nend error\n' "$1" "$2"
	exit 2
}

keys=
persist=
marker=
facts=
gotend=
while IFS= read -r line; do
	split_first "$line"
	op=$HEAD rest=$TAIL
	case $op in
	key)
		valid_key "$rest" || rd_fail input "invalid key: $rest"
		keys="$keys $rest"
		;;
	persist)
		valid_path "$rest" || rd_fail input "invalid persist path: $rest"
		persist=$rest
		;;
	marker) marker=$rest ;;
	facts) facts=1 ;;
	end)
		gotend=1
		break
		;;
	*) rd_fail input "unknown record: $op" ;;
	esac
done
[ -n "$gotend" ] || rd_fail input "input truncated: no end record"

# emit_file ROLE HOSTPATH PATH WANT: one file block. WANT is the key filter
# for AWK_CONF. Reads only regular files (never a FIFO or a device).
emit_file() {
	printf 'file %s %s\n' "$1" "$2"
	if ! resolve "$3"; then
		printf 'missing\n'
		return 0
	fi
	[ -z "$LT" ] || printf 'link %s\n' "$LT"
	if [ ! -e "$RT" ]; then
		printf 'missing\n'
		return 0
	fi
	[ -f "$RT" ] || return 0
	ef_1=
	ef_2=
	{
		IFS= read -r ef_1
		IFS= read -r ef_2
	} <"$RT"
	if [ -n "$marker" ] && [ "$ef_1" = "$marker" ]; then
		printf 'managed\n'
		case $ef_2 in
		"# name: "*) printf 'name %s\n' "${ef_2#"# name: "}" ;;
		esac
	fi
	if [ "$1" = persist ]; then
		ef_l=
		while IFS= read -r ef_l; do
			printf 'line %s\n' "$ef_l"
			ef_l=
		done <"$RT"
		if [ -n "$ef_l" ]; then
			printf 'line %s\nnoeol\n' "$ef_l"
		fi
	fi
	TCP_TUNING_KEYS=$4 awk "$AWK_CONF" <"$RT" || printf 'error awk cannot parse %s\n' "$2"
}

if [ -r "$P/sys/kernel/osrelease" ] && rel=$(cat "$P/sys/kernel/osrelease" 2>/dev/null) && [ -n "$rel" ]; then
	:
else
	rel=$(uname -r 2>/dev/null)
fi
oneline "$rel"
printf 'kernel %s\n' "$ONE"

uid=$(id -u 2>/dev/null)
for k in $keys; do
	key_path "$k"
	p="$P/sys$KP"
	if [ -d "$p" ] || [ ! -e "$p" ]; then
		printf 'key %s absent\n' "$k"
		continue
	fi
	# As root, /proc/sys grants what the owner bits say (busybox test -w
	# claims root can write anything), otherwise ask test -w.
	w=-
	if [ "$uid" = 0 ]; then
		case $(ls -ldL "$p" 2>/dev/null) in
		??w*) w=w ;;
		esac
	elif [ -w "$p" ]; then
		w=w
	fi
	if v=$(cat "$p" 2>/dev/null); then
		oneline "$v"
		printf 'key %s r%s %s\n' "$k" "$w" "$ONE"
	else
		printf 'key %s -%s\n' "$k" "$w"
	fi
done

if [ -n "$persist" ]; then
	if [ -L "$E$persist" ] || [ -e "$E$persist" ]; then
		emit_file persist "$persist" "$E$persist" "*"
	else
		printf 'nofile %s\n' "$persist"
	fi
fi

if [ -n "$facts" ]; then
	if v=$(cat "$P/sys/net/ipv4/ip_unprivileged_port_start" 2>/dev/null); then
		oneline "$v"
		printf 'unpriv %s\n' "$ONE"
	fi
	cat "$P/net/tcp" "$P/net/tcp6" 2>/dev/null | awk "$AWK_LISTEN"
	want="$keys "
	for d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
		set +f
		for f in "$E$d"/*.conf; do
			set -f
			[ -e "$f" ] || [ -L "$f" ] || continue
			emit_file conf "$d/${f##*/}" "$f" "$want"
		done
		set -f
	done
	if [ -e "$E/etc/sysctl.conf" ] || [ -L "$E/etc/sysctl.conf" ]; then
		emit_file conf /etc/sysctl.conf "$E/etc/sysctl.conf" "$want"
	fi
fi
printf 'end ok\n'
