# lib.sh: prelude shared by read.sh, apply.sh and delete.sh; Go prepends it
# to each of them, so every operation is still one self-contained sh -c body.
# POSIX sh only (dash, busybox ash, bash). No eval, no command is ever built
# from input: input values are data in variables and files, always quoted.
#
# Input (stdin) and output (stdout) are line records "<op> <rest-of-line>".
# The last output line is "end ok" or "end error".
#
# Every host path is prefixed so that tests can use a fake root. On a real
# host these variables are unset and the prefixes are empty.
#   TCP_TUNING_ROOT      prefix of every path              (default "")
#   TCP_TUNING_PROC      where proc is mounted             (default "$TCP_TUNING_ROOT/proc")
#   TCP_TUNING_ETC_ROOT  prefix of /etc, /run, /usr, /lib  (default "$TCP_TUNING_ROOT")

LC_ALL=C
export LC_ALL
umask 022
PATH="${PATH:+$PATH:}/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
set -f
NL='
'
TAB=$(printf '\t')
IFS=" $TAB$NL"
R="${TCP_TUNING_ROOT:-}"
P="${TCP_TUNING_PROC:-$R/proc}"
E="${TCP_TUNING_ETC_ROOT:-$R}"

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
# (dd reads the staged file in one block) and reports errno from dd's
# message, which, unlike the printf/echo builtins, always carries it.
write_value() {
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

# sync_path PATH: fsync PATH when sync accepts files (coreutils >= 8.24,
# busybox), else flush everything.
sync_path() {
	sync "$1" 2>/dev/null || sync
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
		printf 'error tmp cannot create a temporary directory\nend error\n'
		exit 2
	fi
	trap 'rm -rf "$W"' EXIT
	trap '' HUP PIPE
	INTR=
	trap 'INTR=1' INT TERM
	exec 3>&1 >"$W/out"
}

# finish ok|error STATUS: prints the buffered records, the end marker, exits.
finish() {
	exec 1>&3 3>&-
	cat "$W/out"
	printf 'end %s\n' "$1"
	exit "$2"
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
# "persist PATH", "w KEY VALUE" (a write, numbered n in $W) and "x EXPECT"
# (what the kernel should print back for the last write). It returns
# non-zero with inerr set on invalid input.
input_record() {
	case $1 in
	persist)
		valid_path "$2" || {
			inerr="invalid persist path: $2"
			return 1
		}
		persist=$2
		;;
	w)
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
