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
#   uid <n>                          the effective uid the script runs as
#   procro                           /proc/sys is mounted read-only
#   own <key> <owner> <value>        an entry of the host's record (see
#                                    record.sh); its key is read as well
#   error <code> <msg>
#
# Fork-light: the shell only tests paths and reads the (regular) sysctl.d
# files' first lines itself; it sends a list of directives to one awk, which
# reads every /proc value and parses every file and prints the records in
# order; as root one ls gives every key's owner write bit. A read is two
# execs (ls, awk) however many keys and files, plus readlink per symlink.
# mawk stops at the first read error (stable_secret gives EIO): when awk did
# not get past the keys, they are read again one by one with cat.

# AWK_READ runs the directives the shell prints, one a line, in order:
#   p <record>               print <record> as it is
#   lsbegin ... lsend        the output of ls -ldL for the keys (root only)
#   kernel <path>            "kernel <release>" (uname -r when unreadable)
#   k <key> <w|-|?> <path>   the key record; "?" = owner write bit from ls
#   unpriv <path>            "unpriv <n>" when readable
#   listen <path>            "listen <port>" per TCP port in LISTEN (state
#                            0A, IPv4 or IPv6), once each
#   want <keys>              the keys conf files are filtered on (" k1 k2 ")
#   host <hostpath>          names the next conf file in an error
#   conf *|= <path>          "val <key> <value>" for each net.* setting of a
#                            sysctl.d file (*: every key, =: only "want")
#   keysdone                 prints "keysdone" (every key was read)
#   done                     prints "done" (the input was complete)
# A key value of LONG bytes or more may be cut (see val): it prints
# "long <key> <w> <path>" instead, for the shell to read with cat.
AWK_READ=$AWK_VAL$AWK_HEX'
function swap(s,   i, c, o) {
	o = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "/") c = "."; else if (c == ".") c = "/"
		o = o c
	}
	return o
}
function lsw(p,   j, l, n) {
	n = length(p)
	for (j = 1; j <= nls; j++) {
		l = ls[j]
		if (length(l) > n && substr(l, length(l) - n) == " " p)
			return substr(l, 3, 1) == "w" ? "w" : "-"
	}
	return "-"
}
function conf(p, all,   r, l, s, c, eq, k, v, sl, dt) {
	while ((r = (getline l < p)) > 0) {
		s = l
		sub(/\r$/, "", s)
		sub(/^[ \t]+/, "", s)
		c = substr(s, 1, 1)
		if (s == "" || c == "#" || c == ";") continue
		if (c == "-") s = substr(s, 2)
		eq = index(s, "=")
		if (eq == 0) continue
		k = substr(s, 1, eq - 1)
		v = substr(s, eq + 1)
		sub(/^[ \t]+/, "", k); sub(/[ \t]+$/, "", k)
		sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
		sl = index(k, "/"); dt = index(k, ".")
		if (sl > 0 && (dt == 0 || sl < dt)) k = swap(k)
		if (k !~ /^net\.[a-z0-9_.-]+$/) continue
		if (!all && index(want, " " k " ") == 0) continue
		print "val " k " " v
	}
	close(p)
	if (r < 0) print "error awk cannot parse " host
}
inls {
	if ($0 == "lsend") inls = 0
	else ls[++nls] = $0
	next
}
{
	i = index($0, " ")
	op = i ? substr($0, 1, i - 1) : $0
	rest = i ? substr($0, i + 1) : ""
}
op == "p" { print rest; next }
op == "lsbegin" { inls = 1; next }
op == "kernel" {
	if (!val(rest) || VAL == "") {
		VAL = ""
		cmd = "uname -r 2>/dev/null"
		if ((cmd | getline l) > 0) VAL = l
		close(cmd)
	}
	print "kernel " VAL
	next
}
op == "k" {
	i = index(rest, " ")
	k = substr(rest, 1, i - 1)
	rest = substr(rest, i + 1)
	w = substr(rest, 1, 1)
	p = substr(rest, 3)
	if (w == "?") w = lsw(p)
	if (!val(p)) print "key " k " -" w
	else if (LEN >= LONG) print "long " k " " w " " p
	else print "key " k " r" w " " VAL
	next
}
op == "unpriv" { if (val(rest)) print "unpriv " VAL; next }
op == "listen" {
	while ((getline l < rest) > 0) {
		if (split(l, f) < 4 || f[4] != "0A") continue
		m = split(f[2], a, ":")
		port = hex(a[m])
		if (port >= 0 && !(port in seen)) { seen[port] = 1; print "listen " port }
	}
	close(rest)
	next
}
op == "want" { want = " " rest; next }
op == "host" { host = rest; next }
op == "conf" { conf(substr(rest, 3), substr(rest, 1, 1) == "*"); next }
op == "keysdone" || op == "done" { print op }
'

rd_fail() {
	fail_output "$1" "$2"
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

# emit_file ROLE HOSTPATH PATH *|=: the directives for one file block
# ("*|=" is the key filter of the conf directive). Reads only regular files
# (never a FIFO or a device).
emit_file() {
	printf 'p file %s %s\n' "$1" "$2"
	if ! resolve "$3"; then
		printf 'p missing\n'
		return 0
	fi
	[ -z "$LT" ] || printf 'p link %s\n' "$LT"
	if [ ! -e "$RT" ]; then
		printf 'p missing\n'
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
		printf 'p managed\n'
		case $ef_2 in
		"# name: "*) printf 'p name %s\n' "${ef_2#"# name: "}" ;;
		esac
	fi
	if [ "$1" = persist ]; then
		ef_l=
		while IFS= read -r ef_l; do
			printf 'p line %s\n' "$ef_l"
			ef_l=
		done <"$RT"
		if [ -n "$ef_l" ]; then
			printf 'p line %s\np noeol\n' "$ef_l"
		fi
	fi
	printf 'host %s\nconf %s %s\n' "$2" "$4" "$RT"
}

# As root, /proc/sys grants what the owner bits say (busybox test -w claims
# root can write anything): one ls -ldL lists them for every key. Otherwise
# test -w asks the kernel. The effective uid comes from /proc/self/status
# (the shell's own; no fork), else from id -u.
uid=
if [ -r /proc/self/status ]; then
	while read -r st_k st_r st_e st_x; do
		case $st_k in
		Uid:)
			uid=$st_e
			break
			;;
		esac
	done </proc/self/status
fi
[ -n "$uid" ] || uid=$(id -u 2>/dev/null)

# The host's record: its entries are reported, and their keys read too (a
# run interrupted after the host changed may have left keys state lacks).
own=
if [ -f "$RECF" ] && [ -r "$RECF" ]; then
	while IFS= read -r l; do
		case $l in
		"o "*) ;;
		*) continue ;;
		esac
		split_first "${l#o }"
		valid_key "$HEAD" || continue
		own="${own}p own ${l#o }$NL"
		case " $keys " in
		*" $HEAD "*) ;;
		*) keys="$keys $HEAD" ;;
		esac
	done <"$RECF"
fi

# procro: /proc/sys (or /proc) is mounted read-only, as in many containers.
procro=
if [ -r "$P/self/mounts" ]; then
	while read -r m_dev m_dir m_type m_opt m_rest; do
		case $m_dir in
		/proc | /proc/sys) ;;
		*) continue ;;
		esac
		case ",$m_opt," in
		*,ro,*) procro=1 ;;
		*,rw,*) [ "$m_dir" != /proc/sys ] || procro= ;;
		esac
	done <"$P/self/mounts"
fi

# directives fast|slow: everything AWK_READ is to do, in output order. slow
# reads the keys in the shell, one ls and one cat per key.
directives() {
	mode=$1
	if [ "$mode" = fast ] && [ "$uid" = 0 ]; then
		set --
		for k in $keys; do
			key_path "$k"
			p="$P/sys$KP"
			[ -d "$p" ] || [ ! -e "$p" ] || set -- "$@" "$p"
		done
		printf 'lsbegin\n'
		[ "$#" -eq 0 ] || ls -ldL -- "$@" 2>/dev/null
		printf 'lsend\n'
	fi
	printf 'kernel %s\n' "$P/sys/kernel/osrelease"
	for k in $keys; do
		key_path "$k"
		p="$P/sys$KP"
		if [ -d "$p" ] || [ ! -e "$p" ]; then
			printf 'p key %s absent\n' "$k"
			continue
		fi
		w=-
		if [ "$uid" != 0 ]; then
			[ ! -w "$p" ] || w=w
		elif [ "$mode" = fast ]; then
			w=?
		else
			case $(ls -ldL "$p" 2>/dev/null) in
			??w*) w=w ;;
			esac
		fi
		if [ "$mode" = fast ]; then
			printf 'k %s %s %s\n' "$k" "$w" "$p"
		elif v=$(cat "$p" 2>/dev/null); then
			oneline "$v"
			printf 'p key %s r%s %s\n' "$k" "$w" "$ONE"
		else
			printf 'p key %s -%s\n' "$k" "$w"
		fi
	done
	printf 'keysdone\n'
	printf 'p uid %s\n' "$uid"
	[ -z "$procro" ] || printf 'p procro\n'
	[ -z "$own" ] || printf '%s' "$own"

	if [ -n "$persist" ]; then
		if [ -L "$E$persist" ] || [ -e "$E$persist" ]; then
			emit_file persist "$persist" "$E$persist" "*"
		else
			printf 'p nofile %s\n' "$persist"
		fi
	fi

	if [ -n "$facts" ]; then
		printf 'unpriv %s\nlisten %s\nlisten %s\nwant%s \n' \
			"$P/sys/net/ipv4/ip_unprivileged_port_start" "$P/net/tcp" "$P/net/tcp6" "$keys"
		# shellcheck disable=SC2086 # BOOT_DIRS: the prelude's list, split on spaces
		for d in $BOOT_DIRS; do
			set +f
			for f in "$E$d"/*.conf; do
				set -f
				[ -e "$f" ] || [ -L "$f" ] || continue
				emit_file conf "$d/${f##*/}" "$f" "="
			done
			set -f
		done
		if [ -e "$E$SYSCTL_CONF" ] || [ -L "$E$SYSCTL_CONF" ]; then
			emit_file conf "$SYSCTL_CONF" "$E$SYSCTL_CONF" "="
		fi
	fi
	printf 'done\n'
}

out=$(directives fast | awk "$AWK_READ" 2>/dev/null)
case "$NL$out$NL" in
*"${NL}keysdone$NL"*) ;;
*) out=$(directives slow | awk "$AWK_READ") ;;
esac

# The records, with long values read again by cat; "done" must be there.
rc_done=
while IFS= read -r l; do
	case $l in
	"long "*)
		split_first "${l#long }"
		k=$HEAD
		w=${TAIL%% *}
		p=${TAIL#* }
		if v=$(cat "$p" 2>/dev/null); then
			oneline "$v"
			printf 'key %s r%s %s\n' "$k" "$w" "$ONE"
		else
			printf 'key %s -%s\n' "$k" "$w"
		fi
		;;
	keysdone) ;;
	done) rc_done=1 ;;
	*) printf '%s\n' "$l" ;;
	esac
done <<EOF
$out
EOF
[ -n "$rc_done" ] || rd_fail awk "awk failed or was cut short reading the host"
end_output ok 0
