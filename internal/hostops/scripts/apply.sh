# apply.sh: all-or-nothing apply of live sysctl values and the persisted file,
# under the host-wide lock, with every original value in the host's record
# before the first live write.
#
# Input records (stdin), terminated by "end" (without it nothing is changed):
#   owner <name>       the resource (required): owner of the keys it writes
#   from <name>        the name this resource had before (a rename): its
#                      keys are taken over, or given back when not written
#   oldpersist <path>  the previous persisted file, removed (a rename or a
#                      new priority moves the file)
#   lockwait <s>       seconds to wait for the lock (default 30)
#   persist <path>     the persisted file (absolute host path, *.conf)
#   w <key> <value>    write <value> to /proc/sys/<key> (value: rest of line)
#   r <key> <value>    give <key> back: its recorded original, else <value>
#   x <expect>         what the kernel prints back for the preceding w or r
#   content            a new file text follows (absent: leave the file alone)
#   l <text>           one line of the new file text
#   noeol              the new text does not end with a newline
#   rm                 remove the persisted file
#   end
# Keys of the record that the owner (or "from") holds and that are neither
# written nor given back here are given back too (left by an interrupted
# run, or no longer set after a rename).
# Output records, then "end ok" (exit 0) or "end error" (exit 1 or 2):
#   before <key> <value>        value of every key read before any change
#   orig <key> <value>          the recorded original of every w key
#   wrote <key>                 written (only on success)
#   released <key>              given back and dropped from the record
#   gone <key>                  given back: the kernel lacks it (dropped)
#   other <key> <owner>         not given back: another resource owns it now
#   file none|unchanged|written|removed|absent
#   oldfile removed|absent      (with oldpersist)
#   record unchanged|written|kept <errno>   (kept: the final shrink failed)
#   fail <key>|-|@record <errno> <msg>  the failing step (EOWNED: <msg> is
#                               the owner; "-" = the persisted file)
#   rollback ok | rollback failed <key|file>...
#   error <code> <msg>          input, setup or lock error; nothing was changed
#
# Steps: validate all input; take the lock; load the record; read every key
# (fail on ENOENT of a w key before any change); refuse a w key another
# resource owns; record the original of every w key not recorded yet and
# write the record; replace the file atomically when its bytes differ (temp
# in the target's directory, fsync, rename; a symlink's target is replaced
# and the link kept); write each live value, then read all of them back (so
# a later write that changed an earlier key is caught too); drop the given
# back keys from the record last. Any failure restores every written key,
# the previous file and the previous record before reporting.
#
# Fork-light: the keys are read with one awk (read_values), values are
# written with the printf builtin, and nothing runs per key on success.

setup_work

n=0
owner=
from=
lockwait=30
persist=
content=
pend=
haspend=
noeol=
rmfile=
oldpersist=
gotend=
inerr=
while IFS= read -r line; do
	split_first "$line"
	op=$HEAD rest=$TAIL
	case $op in
	persist | w | r | x | owner | from | lockwait)
		input_record "$op" "$rest" || break
		;;
	content)
		content=1
		: >"$W/new"
		;;
	l)
		[ -n "$content" ] || {
			inerr="l record before the content record"
			break
		}
		[ -z "$haspend" ] || printf '%s\n' "$pend" >>"$W/new"
		pend=$rest
		haspend=1
		;;
	noeol) noeol=1 ;;
	rm) rmfile=1 ;;
	oldpersist)
		valid_path "$rest" || {
			inerr="invalid oldpersist path: $rest"
			break
		}
		oldpersist=$rest
		;;
	end)
		gotend=1
		break
		;;
	*)
		inerr="unknown record: $op"
		break
		;;
	esac
done
if [ -n "$haspend" ]; then
	if [ -n "$noeol" ]; then
		printf '%s' "$pend" >>"$W/new"
	else
		printf '%s\n' "$pend" >>"$W/new"
	fi
fi
[ -z "$inerr" ] || input_error "$inerr"
[ -n "$gotend" ] || input_error "input truncated: no end record"
if [ -n "$content" ] && [ -n "$rmfile" ]; then
	input_error "content and rm are exclusive"
fi
if { [ -n "$content" ] || [ -n "$rmfile" ]; } && [ -z "$persist" ]; then
	input_error "no persist path"
fi
[ -n "$owner" ] || input_error "no owner record"

lock_take "$owner" "$lockwait"
rec_load
# The owner's other recorded keys are given back too, and the previous
# name's.
rec_mine "$owner"
mine=$MINE
MINE=
[ -z "$from" ] || rec_mine "$from"
for k in $mine $MINE; do
	i=1
	while [ "$i" -le "$n" ]; do
		IFS= read -r ik <"$W/k.$i"
		[ "$ik" != "$k" ] || break
		i=$((i + 1))
	done
	[ "$i" -gt "$n" ] || continue
	n=$((n + 1))
	printf '%s\n' "$k" >"$W/k.$n"
	printf 'r\n' >"$W/t.$n"
	: >"$W/v.$n"
	: >"$W/x.$n"
done

JOURNAL=
WROTE=
FSTATE=
FILE=none
TMPF=
BAK=
F=
T=
D=

# rollback: restore every journaled key (newest first) and the old file.
# Sets RBFAIL to what could not be restored (in journal order).
rollback() {
	RBFAIL=
	rb_w=
	rb_bad=
	if [ -n "$JOURNAL" ]; then
		# shellcheck disable=SC2086
		read_values $JOURNAL
		for rb_i in $JOURNAL; do
			IFS= read -r rb_b <"$W/b.$rb_i"
			if value_of "$rb_i" && same_value "$CUR" "$rb_b"; then
				continue
			fi
			IFS= read -r rb_k <"$W/k.$rb_i"
			key_path "$rb_k"
			if write_value "$P/sys$KP" "$rb_b"; then
				rb_w="$rb_w $rb_i"
			else
				rb_bad="$rb_bad $rb_i "
			fi
		done
	fi
	if [ -n "$rb_w" ]; then
		# shellcheck disable=SC2086
		read_values $rb_w
		for rb_i in $rb_w; do
			IFS= read -r rb_b <"$W/b.$rb_i"
			value_of "$rb_i" && same_value "$CUR" "$rb_b" && continue
			rb_bad="$rb_bad $rb_i "
		done
	fi
	for rb_i in $JOURNAL; do
		case $rb_bad in
		*" $rb_i "*)
			IFS= read -r rb_k <"$W/k.$rb_i"
			RBFAIL="$RBFAIL $rb_k"
			;;
		esac
	done
	JOURNAL=
	if [ -z "$RBFAIL" ]; then
		rec_undo
	else
		rec_commit
	fi
	case $FSTATE in
	replaced) mv -f "$BAK" "$T" 2>/dev/null || RBFAIL="$RBFAIL file" ;;
	created) rm -f "$T" 2>/dev/null || RBFAIL="$RBFAIL file" ;;
	removed) mv -f "$BAK" "$F" 2>/dev/null || RBFAIL="$RBFAIL file" ;;
	esac
	[ -z "$FSTATE" ] || sync_path "$D"
	if [ -n "$OLDBAK" ]; then
		mv -f "$OLDBAK" "$OLDF" 2>/dev/null || RBFAIL="$RBFAIL file"
		OLDBAK=
	fi
	FSTATE=
	BAK=
	[ -z "$TMPF" ] || rm -f "$TMPF"
	TMPF=
}

# fail KEY|- ERRNO MESSAGE: roll back, report, exit 1.
fail() {
	rollback
	printf 'fail %s %s %s\n' "$1" "$2" "$3"
	if [ -z "$RBFAIL" ]; then
		printf 'rollback ok\n'
	else
		printf 'rollback failed%s\n' "$RBFAIL"
	fi
	finish error 1
}

chk_intr() {
	[ -z "$INTR" ] || fail - EINTR "interrupted by a signal"
}

# 1. Current values of every key, before any change: the keys up to the
# first w key that is a directory or missing, read together (a missing r key
# is gone: nothing to give back); then, in input order, "before" for each
# and the failure at the first bad key. A given-back key takes its recorded
# original when the owner holds it, and is left alone when another
# resource owns it now.
todo=
list=
bad=
gone=
rel=
i=1
while [ "$i" -le "$n" ]; do
	IFS= read -r k <"$W/k.$i"
	IFS= read -r t <"$W/t.$i"
	key_path "$k"
	p="$P/sys$KP"
	if [ -d "$p" ] || [ ! -e "$p" ]; then
		if [ "$t" = r ]; then
			if rec_get "$k" && [ "$RO" != "$owner" ] && [ "$RO" != "$from" ]; then
				printf 'other %s %s\n' "$k" "$RO" >>"$W/other"
			else
				gone="$gone $i"
			fi
			i=$((i + 1))
			continue
		fi
		bad=$i
		break
	fi
	if [ "$t" = r ] && rec_get "$k"; then
		if [ "$RO" != "$owner" ] && [ "$RO" != "$from" ]; then
			printf 'other %s %s\n' "$k" "$RO" >>"$W/other"
			i=$((i + 1))
			continue
		fi
		printf '%s\n' "$RV" >"$W/v.$i"
		printf '%s\n' "$RV" >"$W/x.$i"
	fi
	list="$list $i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
read_values $list
for i in $list; do
	IFS= read -r k <"$W/k.$i"
	IFS= read -r t <"$W/t.$i"
	if ! value_of "$i"; then
		key_path "$k"
		read_error "$P/sys$KP"
		fail "$k" "$ERRNO" "read: $MSG"
	fi
	printf '%s\n' "$CUR" >"$W/b.$i"
	printf 'before %s %s\n' "$k" "$CUR"
	if [ "$t" = w ]; then
		if ! rec_get "$k"; then
			rec_put "$k" "$owner" "$CUR"
			RV=$CUR
		elif [ "$RO" != "$owner" ]; then
			[ -n "$from" ] && [ "$RO" = "$from" ] || fail "$k" EOWNED "$RO"
			rec_put "$k" "$owner" "$RV"
		fi
		printf 'orig %s %s\n' "$k" "$RV"
	else
		rel="$rel $i"
	fi
	IFS= read -r x <"$W/x.$i"
	same_value "$CUR" "$x" || todo="$todo $i"
done
if [ -n "$bad" ]; then
	IFS= read -r k <"$W/k.$bad"
	key_path "$k"
	p="$P/sys$KP"
	if [ -d "$p" ]; then
		fail "$k" EISDIR "$p is a directory, not a sysctl"
	fi
	fail "$k" ENOENT "$p: No such file or directory (unknown to this kernel or not in this network namespace)"
fi
chk_intr

# The originals are on the host before anything changes.
RSTAT=unchanged
if [ "$REC" != "$REC0" ]; then
	lock_note
	rec_save || fail @record "$ERRNO" "$RECF: $MSG"
	RSTAT=written
fi
chk_intr

# 2. The persisted file.
if [ -n "$content" ]; then
	F="$E$persist"
	resolve "$F" || fail - ELOOP "$persist: too many levels of symbolic links"
	T=$RT
	D=${T%/*}
	[ -n "$D" ] || D=/
	B=${T##*/}
	if [ -d "$T" ]; then
		fail - EISDIR "$T: Is a directory"
	fi
	if [ -e "$T" ] && [ ! -f "$T" ]; then
		fail - EINVAL "$T: not a regular file"
	fi
	if [ -f "$T" ] && same_file "$W/new" "$T"; then
		FILE=unchanged
	else
		lock_note
		if [ ! -d "$D" ]; then
			mkdir -p "$D" 2>"$W/err" || {
				errmsg
				fail - "$ERRNO" "mkdir: $MSG"
			}
		fi
		TMPF=$(mktemp "$D/.$B.XXXXXX" 2>"$W/err") || {
			TMPF=
			errmsg
			fail - "$ERRNO" "mktemp: $MSG"
		}
		# conv=fsync: written and fsynced by one process; a dd without
		# it (old busybox) writes, then sync.
		if ! dd if="$W/new" of="$TMPF" bs=65536 conv=fsync 2>"$W/err"; then
			dd if="$W/new" of="$TMPF" bs=65536 2>"$W/err" || {
				errmsg
				fail - "$ERRNO" "write: $MSG"
			}
			sync_path "$TMPF"
		fi
		chmod 644 "$TMPF" 2>"$W/err" || {
			errmsg
			fail - "$ERRNO" "chmod: $MSG"
		}
		if [ -f "$T" ]; then
			BAK="$TMPF.old"
			if ! ln "$T" "$BAK" 2>/dev/null; then
				cp -p "$T" "$BAK" 2>"$W/err" || {
					BAK=
					errmsg
					fail - "$ERRNO" "backup: $MSG"
				}
			fi
			fs=replaced
		else
			fs=created
		fi
		mv -f "$TMPF" "$T" 2>"$W/err" || {
			errmsg
			[ -z "$BAK" ] || rm -f "$BAK"
			BAK=
			fail - "$ERRNO" "rename: $MSG"
		}
		FSTATE=$fs
		TMPF=
		sync_path "$D"
		FILE=written
	fi
elif [ -n "$rmfile" ]; then
	F="$E$persist"
	D=${F%/*}
	[ -n "$D" ] || D=/
	if [ -L "$F" ] || [ -e "$F" ]; then
		if [ -d "$F" ] && [ ! -L "$F" ]; then
			fail - EISDIR "$F: Is a directory"
		fi
		lock_note
		BAK="$D/.${F##*/}.tcp-tuning-old.$$"
		rm -f "$BAK"
		mv -f "$F" "$BAK" 2>"$W/err" || {
			BAK=
			errmsg
			fail - "$ERRNO" "remove: $MSG"
		}
		FSTATE=removed
		sync_path "$D"
		FILE=removed
	else
		FILE=absent
	fi
fi
# The previous persisted file, when the file moved.
OLDF=
OLDBAK=
if [ -n "$oldpersist" ] && [ "$oldpersist" != "$persist" ]; then
	OLDF="$E$oldpersist"
	if [ -f "$OLDF" ] || [ -L "$OLDF" ]; then
		lock_note
		OLDBAK="${OLDF%/*}/.${OLDF##*/}.tcp-tuning-old.$$"
		rm -f "$OLDBAK"
		mv -f "$OLDF" "$OLDBAK" 2>"$W/err" || {
			OLDBAK=
			errmsg
			fail - "$ERRNO" "remove $oldpersist: $MSG"
		}
		sync_path "${OLDF%/*}"
	fi
fi
chk_intr

# 3. Live values, then all of them read back together.
[ -z "$todo" ] || lock_note
for i in $todo; do
	chk_intr
	IFS= read -r k <"$W/k.$i"
	IFS= read -r v <"$W/v.$i"
	key_path "$k"
	JOURNAL="$i $JOURNAL"
	write_value "$P/sys$KP" "$v" || fail "$k" "$ERRNO" "$MSG"
done
chk_intr
if [ -n "$todo" ]; then
	# shellcheck disable=SC2086
	read_values $todo
fi
for i in $todo; do
	IFS= read -r k <"$W/k.$i"
	IFS= read -r x <"$W/x.$i"
	if ! value_of "$i"; then
		key_path "$k"
		read_error "$P/sys$KP"
		fail "$k" "$ERRNO" "read back: $MSG"
	fi
	same_value "$CUR" "$x" || fail "$k" MISMATCH "read back \"$CUR\", expected \"$x\""
	WROTE="$WROTE $i"
done
chk_intr

# 4. Commit: drop the backups, then the given-back keys from the record.
[ -z "$BAK" ] || rm -f "$BAK"
[ -z "$OLDBAK" ] || rm -f "$OLDBAK"
rec_commit
for i in $WROTE; do
	IFS= read -r k <"$W/k.$i"
	IFS= read -r t <"$W/t.$i"
	[ "$t" != w ] || printf 'wrote %s\n' "$k"
done
for i in $rel $gone; do
	IFS= read -r k <"$W/k.$i"
	rec_del "$k"
done
for i in $rel; do
	IFS= read -r k <"$W/k.$i"
	printf 'released %s\n' "$k"
done
for i in $gone; do
	IFS= read -r k <"$W/k.$i"
	printf 'gone %s\n' "$k"
done
[ ! -f "$W/other" ] || while IFS= read -r l; do printf '%s\n' "$l"; done <"$W/other"
if [ "$REC" != "$REC0" ]; then
	if rec_save; then
		RSTAT=written
	else
		RSTAT="kept $ERRNO"
	fi
	rec_commit
fi
printf 'file %s\n' "$FILE"
if [ -n "$OLDF" ]; then
	if [ -n "$OLDBAK" ]; then
		printf 'oldfile removed\n'
	else
		printf 'oldfile absent\n'
	fi
fi
printf 'record %s\n' "$RSTAT"
finish ok 0
