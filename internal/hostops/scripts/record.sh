# record.sh: the host's own record and the host-wide lock, prepended (after
# lib.sh) to apply.sh and delete.sh.
#
# Both live in /etc/sysctl.d beside the persisted files (names starting with
# a dot and not ending in .conf, so neither systemd-sysctl nor sysctl(8)
# reads them; a test host's /etc/netns bind mount isolates them too):
#   .tcp-tuning.record  one line "o <key> <owner> <original value>" per key a
#                       tcp_tuning resource manages: the value before its
#                       owner (the resource's name) first changed it.
#                       Replaced atomically, written before any live write,
#                       shrunk only after the value is back.
#   the lock           taken by apply and delete: flock(1) on the directory
#                       /etc/sysctl.d where flock exists (released by the
#                       kernel when the holder dies), else a directory
#                       .tcp-tuning.lock.d whose holder is checked for life.
#   .tcp-tuning.lock    the holder's note "holder <owner> <pid>", written
#                       before its first change (its mtime says since
#                       when), for the error of a waiter that gives up.
# Fork-light: the record is held in the variable REC (REC0: as loaded) and
# walked with IFS set to a newline; the lock costs one flock.

# valid_owner NAME: a resource name as the provider validates it.
valid_owner() {
	case $1 in
	"" | [!abcdefghijklmnopqrstuvwxyz0123456789]* | *[!abcdefghijklmnopqrstuvwxyz0123456789_.-]*) return 1 ;;
	esac
	[ "${#1}" -le 64 ]
}

# lock_take OWNER WAIT: the host-wide lock, waiting at most WAIT seconds.
# On a timeout it reports "error lock <owner> <since> <pid>" and ends the
# script; on a setup failure "error lockfail <errno> <message>".
lock_take() {
	if [ ! -d "$SD" ]; then
		mkdir -p "$SD" 2>"$W/err" || {
			errmsg
			lock_error "lockfail $ERRNO mkdir $SD: $MSG"
		}
	fi
	LOCKOWNER=$1
	if [ -z "${TCP_TUNING_NO_FLOCK:-}" ] && command -v flock >/dev/null 2>&1; then
		# The lock is flock(2) on the directory itself: taking it writes
		# nothing, so an apply with nothing to change writes nothing.
		if ! { command exec 9<"$SD"; } 2>"$W/err"; then
			errmsg
			lock_error "lockfail $ERRNO open $SD: $MSG"
		fi
		if ! flock -w "$2" 9 2>/dev/null; then
			lock_busy "$LOCKF"
		fi
		LOCKED=flock
		return 0
	fi
	lk_n=0
	while ! mkdir "$LOCKF.d" 2>/dev/null; do
		if lock_stale; then
			mv -f "$LOCKF.d" "$LOCKF.d.stale.$$" 2>/dev/null && rm -rf "$LOCKF.d.stale.$$"
			continue
		fi
		[ "$lk_n" -lt "$2" ] || lock_busy "$LOCKF.d/holder"
		lk_n=$((lk_n + 1))
		sleep 1
	done
	LOCKED=dir
	bi=
	[ ! -r /proc/sys/kernel/random/boot_id ] || IFS= read -r bi </proc/sys/kernel/random/boot_id
	printf 'holder %s %s\nboot %s\n' "$1" "$$" "$bi" >"$LOCKF.d/holder"
}

# lock_note: names this holder in .tcp-tuning.lock, for a waiter's error;
# called before the first change on the host (a holder with nothing to
# change holds the lock for a moment and writes nothing).
LOCKNOTED=
lock_note() {
	[ "$LOCKED" = flock ] && [ -z "$LOCKNOTED" ] || return 0
	LOCKNOTED=1
	printf 'holder %s %s\n' "$LOCKOWNER" "$$" 2>/dev/null >"$LOCKF" || :
}

# lock_stale: the lock directory's holder is gone (its process does not
# exist, or it took the lock in an earlier boot). A holder still writing
# its line is not stale.
lock_stale() {
	[ -f "$LOCKF.d/holder" ] || return 1
	ls_pid=
	ls_boot=
	while IFS=' ' read -r ls_a ls_b ls_c; do
		case $ls_a in
		holder) ls_pid=$ls_c ;;
		boot) ls_boot=$ls_b ;;
		esac
	done <"$LOCKF.d/holder"
	[ -n "$ls_pid" ] || return 1
	bi=
	[ ! -r /proc/sys/kernel/random/boot_id ] || IFS= read -r bi </proc/sys/kernel/random/boot_id
	[ "$bi" = "$ls_boot" ] || return 0
	[ ! -d "/proc/$ls_pid" ]
}

# lock_busy FILE: reports the holder named in FILE, and since when (the
# file's mtime), and ends the script.
lock_busy() {
	lb_o=unknown
	lb_p=0
	if [ -f "$1" ]; then
		IFS=' ' read -r lb_a lb_b lb_c <"$1" || :
		# A note whose process is gone is an earlier holder's.
		if [ "$lb_a" = holder ] && valid_owner "$lb_b" && [ -d "/proc/$lb_c" ]; then
			lb_o=$lb_b
			lb_p=$lb_c
		fi
	fi
	lb_s=$(date -u -r "$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) || lb_s=unknown
	lock_error "lock $lb_o ${lb_s:-unknown} ${lb_p:-0}"
}

# lock_error TEXT: prints "error TEXT" and ends the script (nothing changed).
lock_error() {
	printf 'error %s\n' "$1"
	finish error 2
}

lock_release() {
	case $LOCKED in
	flock) [ -z "$LOCKNOTED" ] || : >"$LOCKF" 2>/dev/null ;;
	dir) rm -rf "$LOCKF.d" ;;
	esac
	LOCKED=
}

# rec_load: the record's entries into REC and REC0 ("o KEY OWNER VALUE"
# lines; anything else in the file is dropped).
rec_load() {
	REC=
	if [ -f "$RECF" ]; then
		while IFS= read -r rl_l; do
			case $rl_l in
			"o "*) REC="$REC$rl_l$NL" ;;
			esac
		done <"$RECF"
	fi
	REC0=$REC
}

# rec_get KEY: sets RO (owner) and RV (original value) and returns 0, or
# returns 1 when the record has no entry for KEY.
rec_get() {
	RO=
	RV=
	IFS=$NL
	for rg_l in $REC; do
		split_first "${rg_l#o }"
		[ "$HEAD" = "$1" ] || continue
		split_first "$TAIL"
		RO=$HEAD
		RV=$TAIL
		IFS=" $TAB$NL"
		return 0
	done
	IFS=" $TAB$NL"
	return 1
}

# rec_put KEY OWNER VALUE: sets KEY's entry. rec_del KEY: drops it.
rec_put() {
	rec_del "$1"
	REC="${REC}o $1 $2 $3$NL"
}
rec_del() {
	rd_n=
	IFS=$NL
	for rd_l in $REC; do
		split_first "${rd_l#o }"
		[ "$HEAD" = "$1" ] || rd_n="$rd_n$rd_l$NL"
	done
	IFS=" $TAB$NL"
	REC=$rd_n
}

# rec_mine OWNER: sets MINE to the keys whose entry OWNER holds.
rec_mine() {
	MINE=
	IFS=$NL
	for rm_l in $REC; do
		split_first "${rm_l#o }"
		rm_k=$HEAD
		split_first "$TAIL"
		[ "$HEAD" != "$1" ] || MINE="$MINE $rm_k"
	done
	IFS=" $TAB$NL"
}

# rec_write TEXT: replaces the record with TEXT (temp file in the same
# directory, flushed, renamed; removed when TEXT is empty). Sets ERRNO and
# MSG and returns 1 on failure, with the record as it was.
rec_write() {
	if [ -d "$RECF" ] || { [ -e "$RECF" ] && [ ! -f "$RECF" ]; }; then
		ERRNO=EISDIR
		MSG="not a regular file"
		return 1
	fi
	if [ -z "$1" ]; then
		[ ! -e "$RECF" ] || rm -f "$RECF" 2>"$W/err" || {
			errmsg
			return 1
		}
	else
		rw_t="$SD/.tcp-tuning.record.new.$$"
		if ! printf '%s\n%s' "# tcp-tuning host record (terraform-provider-tcp): each key's value before the tcp_tuning resource that owns it first changed it. Do not edit." "$1" 2>"$W/err" >"$rw_t" ||
			! sync_path "$rw_t" || ! mv -f "$rw_t" "$RECF" 2>"$W/err"; then
			errmsg
			rm -f "$rw_t"
			return 1
		fi
	fi
	sync_path "$SD"
}

# rec_save: writes REC when it differs from what the host holds; the
# previous content stays in RECPREV for rec_undo.
RECPREV=
RECSAVED=
rec_save() {
	[ "$REC" != "$REC0" ] || return 0
	rec_write "$REC" || return 1
	[ -n "$RECSAVED" ] || RECPREV=$REC0
	RECSAVED=1
	REC0=$REC
}

# rec_undo: puts the record back as it was before the first rec_save.
rec_undo() {
	[ -n "$RECSAVED" ] || return 0
	rec_write "$RECPREV" && REC0=$RECPREV
	RECSAVED=
}

# rec_commit: the saved record stays (rec_undo does nothing after it).
rec_commit() {
	RECSAVED=
}
