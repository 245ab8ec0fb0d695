# lib.sh: the prelude of every host script (internal/hostscript)
#
# Every host script (tcp_tuning read, apply, delete and tcp_stats) starts
# with it; Go puts the host facts before it (facts.go) and the script's own
# parts after it, so every operation is one self-contained
# sh -c body. POSIX sh only (dash, busybox ash, bash --posix). No eval, no
# command is ever built from input: input values are data in variables and
# files, always quoted.
#
# Input (stdin) and output (stdout) are line records "<op> <rest-of-line>".
# The last output line is "end ok" (exit 0) or "end error" (non-zero exit);
# a failure is reported as "error <code> <message>" before "end error".
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

# AWK_HEX defines hex(S): the value of the hex digits S (either case), -1
# when S has another character. For the awk programs of every script.
AWK_HEX='
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
'

# end_output ok|error STATUS: the end marker, then exit with STATUS.
end_output() {
	printf 'end %s\n' "$1"
	exit "$2"
}

# fail_output CODE MESSAGE: the error record, then "end error", exit 2.
fail_output() {
	printf 'error %s %s\n' "$1" "$2"
	end_output error 2
}
