# tuning.sh: helpers of read.sh, apply.sh and delete.sh
#
# Go puts the common prelude (internal/hostscript/lib.sh) before it and record.sh
# (apply and delete) and the operation's own file after it.

# valid_key KEY: net.* names made of [a-z0-9_.-] with no empty component.
# (The Go side validates the same way; this is defence in depth.)
valid_key() {
	case $1 in
	net.?*) ;;
	*) return 1 ;;
	esac
	case $1 in
	*[!abcdefghijklmnopqrstuvwxyz0123456789_.-]* | *..* | *.) return 1 ;;
	esac
	return 0
}

# valid_path PATH: absolute, ends in .conf, plain characters, and no
# component starting with a dot (so no ".", ".." or hidden names).
valid_path() {
	case $1 in
	/?*.conf) ;;
	*) return 1 ;;
	esac
	case $1 in
	*[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@+/-]* | *//* | */.*) return 1 ;;
	esac
	return 0
}

# key_path KEY: sets KP to the /proc/sys relative path ("/net/ipv4/x"),
# replacing dots by slashes with parameter expansion only.
key_path() {
	KP=
	kp_r=$1
	while :; do
		case $kp_r in
		*.*)
			KP="$KP/${kp_r%%.*}"
			kp_r=${kp_r#*.}
			;;
		*)
			KP="$KP/$kp_r"
			return 0
			;;
		esac
	done
}

# norm VALUE: sets NORM to VALUE trimmed, with every run of blanks, tabs and
# newlines collapsed to one space (globbing is off, IFS is the default).
norm() {
	# shellcheck disable=SC2086
	set -- $1
	NORM="$*"
}

# oneline VALUE: sets ONE to VALUE with newlines replaced by spaces, so a
# value always fits one output record.
oneline() {
	ONE=$1
	case $ONE in
	*"$NL"*)
		ol_o=
		ol_r=$ONE
		while :; do
			case $ol_r in
			*"$NL"*)
				ol_o="$ol_o${ol_r%%"$NL"*} "
				ol_r=${ol_r#*"$NL"}
				;;
			*)
				ONE="$ol_o$ol_r"
				return 0
				;;
			esac
		done
		;;
	esac
}

# errno_of MESSAGE: sets ERRNO from the strerror text (C locale, glibc and
# musl wording) that dd, cat, mv, ... print after the last colon.
errno_of() {
	case $1 in
	*"No such file or directory"*) ERRNO=ENOENT ;;
	*"Permission denied"*) ERRNO=EACCES ;;
	*"Operation not permitted"*) ERRNO=EPERM ;;
	*"Invalid argument"*) ERRNO=EINVAL ;;
	*"Is a directory"*) ERRNO=EISDIR ;;
	*"Not a directory"*) ERRNO=ENOTDIR ;;
	*"Read-only file system"*) ERRNO=EROFS ;;
	*"No space left on device"*) ERRNO=ENOSPC ;;
	*"Numerical result out of range"* | *"Result not representable"*) ERRNO=ERANGE ;;
	*"Device or resource busy"* | *"Resource busy"*) ERRNO=EBUSY ;;
	*"Text file busy"*) ERRNO=ETXTBSY ;;
	*"Input/output error"* | *"I/O error"*) ERRNO=EIO ;;
	*) ERRNO=EUNKNOWN ;;
	esac
}

# errmsg: sets MSG to the first line of $W/err and ERRNO from it.
errmsg() {
	MSG=
	if [ -s "$W/err" ]; then
		IFS= read -r MSG <"$W/err"
	fi
	[ -n "$MSG" ] || MSG="failed without an error message"
	errno_of "$MSG"
}

# resolve PATH: follows symbolic links (at most 8). Sets RT to the final
# path (absolute link targets are taken relative to the root prefix $E) and
# LT to the first link's target as stored ("" when PATH is not a link).
# Returns 1 on a loop or an unreadable link.
resolve() {
	RT=$1
	LT=
	rs_n=0
	while [ -L "$RT" ]; do
		rs_n=$((rs_n + 1))
		[ "$rs_n" -le 8 ] || return 1
		rs_t=$(readlink "$RT") || return 1
		[ "$rs_n" -ne 1 ] || LT=$rs_t
		case $rs_t in
		/*) RT="$E$rs_t" ;;
		*) RT="${RT%/*}/$rs_t" ;;
		esac
	done
	return 0
}

# write_value PATH VALUE: writes "VALUE\n" to PATH with exactly one write(2)
# and sets ERRNO and MSG on failure. A value under 1000 bytes goes out with
# the printf builtin (dash, busybox and bash all issue one write for it; no
# fork). The builtins do not report errno (dash says "I/O error", busybox
# nothing), so when that fails, and for longer values, dd writes the staged
# value in one block and its message carries errno. Repeating a write the
# kernel refused is harmless: it is refused again the same way.
write_value() {
	if [ "${#2}" -lt 1000 ] && printf '%s\n' "$2" 2>/dev/null >"$1"; then
		return 0
	fi
	if ! printf '%s\n' "$2" >"$W/val"; then
		ERRNO=EIO
		MSG="cannot stage the value in $W"
		return 1
	fi
	if dd if="$W/val" of="$1" bs=65536 2>"$W/err"; then
		return 0
	fi
	errmsg
	return 1
}

# AWK_VAL defines val(PATH): reads a file with getline, which, unlike the
# shells' read builtin (one byte per read(2); /proc/sys returns end of file
# at any offset but 0 for most keys), reads it in one block. It returns 0
# when the file cannot be read, else sets VAL to the content in the form
# $(cat PATH) and oneline give (trailing newlines dropped, inner ones made
# spaces) and LEN to its size in bytes. Some awks' first read is short
# (busybox: 463 bytes), so a value of LONG bytes or more may be cut: callers
# read such a value again with cat.
AWK_VAL='
function val(p,   r, l, n, v) {
	v = ""
	n = 0
	LEN = 0
	while ((r = (getline l < p)) > 0) {
		v = n++ ? v "\n" l : l
		LEN += length(l) + 1
	}
	close(p)
	if (r < 0) return 0
	sub(/\n+$/, "", v)
	gsub(/\n/, " ", v)
	VAL = v
	return 1
}
BEGIN { LONG = 256 }
'

# AWK_VALUES: input lines "N PATH"; writes "+<value>" or "-" (unreadable)
# to $W/c.N, and prints N when the value is long (left for cat).
AWK_VALUES=$AWK_VAL'
BEGIN { w = ENVIRON["W"] }
{
	i = index($0, " ")
	n = substr($0, 1, i - 1)
	f = w "/c." n
	if (!val(substr($0, i + 1))) print "-" > f
	else if (LEN >= LONG) print n
	else print "+" VAL > f
	close(f)
}'

# read_values N...: the live value of each key numbered N (key in $W/k.N)
# with one awk for all of them: afterwards $W/c.N holds "+<value>" (in
# oneline form) or "-" when the key cannot be read. Long values, and all of
# them when awk fails, are read with cat.
read_values() {
	[ "$#" -gt 0 ] || return 0
	: >"$W/paths"
	for rv_i in "$@"; do
		IFS= read -r rv_k <"$W/k.$rv_i"
		key_path "$rv_k"
		printf '%s %s\n' "$rv_i" "$P/sys$KP" >>"$W/paths"
		: >"$W/c.$rv_i"
	done
	if ! W=$W awk "$AWK_VALUES" <"$W/paths" >"$W/long" 2>/dev/null; then
		: >"$W/long"
		for rv_i in "$@"; do
			printf '%s\n' "$rv_i" >>"$W/long"
		done
	fi
	while IFS= read -r rv_i; do
		IFS= read -r rv_k <"$W/k.$rv_i"
		key_path "$rv_k"
		if rv_c=$(cat "$P/sys$KP" 2>/dev/null); then
			oneline "$rv_c"
			printf '+%s\n' "$ONE" >"$W/c.$rv_i"
		else
			printf '%s\n' - >"$W/c.$rv_i"
		fi
	done <"$W/long"
}

# value_of N: sets CUR to the value read_values found for key N and
# returns 0, or returns 1 when it could not be read.
value_of() {
	CUR=
	IFS= read -r CUR <"$W/c.$1" || :
	case $CUR in
	+*)
		CUR=${CUR#+}
		return 0
		;;
	esac
	return 1
}

# read_error PATH: sets ERRNO and MSG for a key read_values could not read,
# from cat's message (only on this failure path).
read_error() {
	cat "$1" >/dev/null 2>"$W/err"
	errmsg
}

# same_value CURRENT EXPECTED: true when equal after norm.
same_value() {
	norm "$1"
	sv_a=$NORM
	norm "$2"
	[ "$sv_a" = "$NORM" ]
}

# same_file A B: true when both files have identical bytes.
same_file() {
	if command -v cmp >/dev/null 2>&1; then
		cmp -s "$1" "$2"
		return
	fi
	if command -v diff >/dev/null 2>&1; then
		diff "$1" "$2" >/dev/null 2>&1
		return
	fi
	return 1
}

# sync_path PATH...: flushes PATH (a file's data, or a directory's entries)
# and nothing else; never a global sync, which on a busy host would wait
# for every dirty page of every filesystem. busybox's fsync applet when
# there is one (busybox's sync before 1.27 ignores its arguments and flushes
# everything); else sync -d (coreutils >= 8.24, busybox sync with FILE
# support; coreutils < 8.24 rejects -d and flushes nothing rather than all).
# Best effort: it always returns 0.
sync_path() {
	if command -v fsync >/dev/null 2>&1; then
		fsync "$@" 2>/dev/null
	else
		sync -d "$@" 2>/dev/null
	fi
	return 0
}

# setup_work: private temp dir $W, output buffered in $W/out until finish
# (a dropped connection can then never stop the script halfway: SIGHUP and
# SIGPIPE are ignored and nothing is printed before the work is done).
setup_work() {
	W=
	for wd_base in "${TMPDIR:-/tmp}" /tmp /dev/shm /run /var/tmp; do
		W=$(mktemp -d "$wd_base/tcp-tuning.XXXXXX" 2>/dev/null) && [ -d "$W" ] && break
		W=
	done
	if [ -z "$W" ]; then
		fail_output tmp "cannot create a temporary directory"
	fi
	trap 'lock_release; rm -rf "$W"' EXIT
	trap '' HUP PIPE
	INTR=
	trap 'INTR=1' INT TERM
	exec 3>&1 >"$W/out"
}

# finish ok|error STATUS: prints the buffered records (every one ends with a
# newline), the end marker, exits.
finish() {
	exec 1>&3 3>&-
	while IFS= read -r fi_l; do
		printf '%s\n' "$fi_l"
	done <"$W/out"
	end_output "$1" "$2"
}

# input_error MESSAGE: rejects the input before anything was changed.
input_error() {
	printf 'error input %s\n' "$1"
	finish error 2
}

# split_first S sets HEAD to S up to its first space and TAIL to the rest
# ("" when S has no space): how every input record is read.
split_first() {
	HEAD=${1%% *}
	case $1 in
	*" "*) TAIL=${1#* } ;;
	*) TAIL= ;;
	esac
}

# input_record OP REST handles the input records apply and delete share:
# "persist PATH", "w KEY VALUE" (a write, numbered n in $W, its kind in
# $W/t.N), "r KEY VALUE" (a key to give back: VALUE is used only when the
# record has no entry for KEY), "x EXPECT" (what the kernel should print back
# for the last w or r), "owner NAME" (the resource), "from NAME" (a resource
# this one replaces, whose keys it may take over) and "lockwait SECONDS".
# It returns non-zero with inerr set on invalid input.
input_record() {
	case $1 in
	persist)
		valid_path "$2" || {
			inerr="invalid persist path: $2"
			return 1
		}
		persist=$2
		;;
	w | r)
		split_first "$2"
		k=$HEAD v=$TAIL
		valid_key "$k" || {
			inerr="invalid key: $k"
			return 1
		}
		n=$((n + 1))
		printf '%s\n' "$k" >"$W/k.$n"
		printf '%s\n' "$v" >"$W/v.$n"
		printf '%s\n' "$v" >"$W/x.$n"
		printf '%s\n' "$1" >"$W/t.$n"
		;;
	owner | from)
		valid_owner "$2" || {
			inerr="invalid $1: $2"
			return 1
		}
		if [ "$1" = owner ]; then owner=$2; else from=$2; fi
		;;
	lockwait)
		case $2 in
		"" | *[!0123456789]*)
			inerr="invalid lockwait: $2"
			return 1
			;;
		esac
		lockwait=$2
		;;
	x)
		[ "$n" -gt 0 ] || {
			inerr="x record before any w record"
			return 1
		}
		printf '%s\n' "$2" >"$W/x.$n"
		;;
	esac
}

# The host's record and lock (see record.sh), beside the persisted files.
SD="$E/etc/sysctl.d"
RECF="$SD/.tcp-tuning.record"
LOCKF="$SD/.tcp-tuning.lock"
LOCKED=
lock_release() { :; }
