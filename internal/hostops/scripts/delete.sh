# delete.sh: give every key of a resource back and remove its persisted
# file, under the host-wide lock; the host's record is shrunk last.
# Harmless when already done: keys already at their value are skipped, keys
# the kernel no longer has are reported as gone, a missing file is fine.
#
# Input records (stdin), terminated by "end" (without it nothing is changed):
#   owner <name>       the resource (required)
#   lockwait <s>       seconds to wait for the lock (default 30)
#   marker <text>      remove the file only when its first line is exactly this
#   persist <path>     the persisted file to remove (the link itself when it is a symlink)
#   r <key> <value>    a key to give back: its recorded original, else <value>
#   x <expect>         what the kernel prints back for the preceding r
#   norestore          drop the owner's record entries without writing values
#   fileonly           remove the file only: keys and record stay (the
#                      resource was superseded by a newer one of its name)
#   end
# Every key the record says the owner holds is given back too.
# Output records, then "end ok" (exit 0) or "end error" (exit 1 or 2):
#   restored <key> | same <key> | gone <key> | kept <key>   (kept: norestore)
#   other <key> <owner>          another resource owns it now: left alone
#   file removed|absent|none|foreign   (foreign: not ours by its marker, left alone)
#   record unchanged|written|kept <errno>
#   fail <key>|- <errno> <msg>   (every key is still attempted; the record
#                                is then left as it was)
#   error <code> <msg>           input, setup or lock error; nothing was changed
# Every key of the input and of the owner's record entries gets exactly
# one of the key records, in that order.

setup_work

n=0
owner=
from=
lockwait=30
persist=
marker=
norestore=
fileonly=
gotend=
inerr=
while IFS= read -r line; do
	split_first "$line"
	op=$HEAD rest=$TAIL
	case $op in
	persist | r | x | owner | lockwait)
		input_record "$op" "$rest" || break
		;;
	marker) marker=$rest ;;
	norestore) norestore=1 ;;
	fileonly) fileonly=1 ;;
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
[ -z "$inerr" ] || input_error "$inerr"
[ -n "$gotend" ] || input_error "input truncated: no end record"
[ -n "$owner" ] || input_error "no owner record"

lock_take "$owner" "$lockwait"
lock_note
rec_load
[ -z "$fileonly" ] || n=0
# The owner's recorded keys that the input lacks are given back too.
MINE=
[ -n "$fileonly" ] || rec_mine "$owner"
for k in $MINE; do
	i=1
	while [ "$i" -le "$n" ]; do
		IFS= read -r ik <"$W/k.$i"
		[ "$ik" != "$k" ] || break
		i=$((i + 1))
	done
	[ "$i" -gt "$n" ] || continue
	n=$((n + 1))
	printf '%s\n' "$k" >"$W/k.$n"
	: >"$W/v.$n"
	: >"$W/x.$n"
done

# Fork-light: the keys are read with one awk before the writes and with one
# after them; each key's record goes to $W/s.N and they are printed in input
# order. A key that was already at its value is read again after the writes
# too (a write to another key can change it, as conf.all.* does) and then
# restored like the others.
bad=
list=
mine=
i=1
while [ "$i" -le "$n" ]; do
	IFS= read -r k <"$W/k.$i"
	key_path "$k"
	p="$P/sys$KP"
	if rec_get "$k"; then
		if [ "$RO" != "$owner" ]; then
			printf 'other %s %s\n' "$k" "$RO" >"$W/s.$i"
			i=$((i + 1))
			continue
		fi
		mine="$mine $i"
		printf '%s\n' "$RV" >"$W/v.$i"
		printf '%s\n' "$RV" >"$W/x.$i"
	fi
	if [ -d "$p" ] || [ ! -e "$p" ]; then
		printf 'gone %s\n' "$k" >"$W/s.$i"
	elif [ -n "$norestore" ]; then
		printf 'kept %s\n' "$k" >"$W/s.$i"
	else
		list="$list $i"
	fi
	i=$((i + 1))
done

# restore N...: writes the value of each key N that is not at it, records
# "fail" for a key that cannot be read or written, and sets RL to the keys
# written.
restore() {
	RL=
	for i in "$@"; do
		IFS= read -r k <"$W/k.$i"
		key_path "$k"
		if ! value_of "$i"; then
			read_error "$P/sys$KP"
			printf 'fail %s %s read: %s\n' "$k" "$ERRNO" "$MSG" >"$W/s.$i"
			bad=1
			continue
		fi
		IFS= read -r x <"$W/x.$i"
		same_value "$CUR" "$x" && continue
		IFS= read -r v <"$W/v.$i"
		if ! write_value "$P/sys$KP" "$v"; then
			printf 'fail %s %s %s\n' "$k" "$ERRNO" "$MSG" >"$W/s.$i"
			bad=1
			continue
		fi
		RL="$RL $i"
	done
}

# checked N...: records the read-back of each key N written.
checked() {
	for i in "$@"; do
		IFS= read -r k <"$W/k.$i"
		IFS= read -r x <"$W/x.$i"
		if ! value_of "$i"; then
			key_path "$k"
			read_error "$P/sys$KP"
			printf 'fail %s %s read back: %s\n' "$k" "$ERRNO" "$MSG" >"$W/s.$i"
			bad=1
		elif ! same_value "$CUR" "$x"; then
			printf 'fail %s MISMATCH read back "%s", expected "%s"\n' "$k" "$CUR" "$x" >"$W/s.$i"
			bad=1
		else
			printf 'restored %s\n' "$k" >"$W/s.$i"
		fi
	done
}

# shellcheck disable=SC2086
read_values $list
restore $list
written=$RL
same=
for i in $list; do
	case "$written " in
	*" $i "*) ;;
	*) [ -s "$W/s.$i" ] || same="$same $i" ;;
	esac
done
if [ -n "$written" ]; then
	# shellcheck disable=SC2086
	read_values $written $same
	# shellcheck disable=SC2086
	checked $written
	# shellcheck disable=SC2086
	restore $same
	if [ -n "$RL" ]; then
		# shellcheck disable=SC2086
		read_values $RL
		# shellcheck disable=SC2086
		checked $RL
	fi
fi
for i in $same; do
	if [ ! -s "$W/s.$i" ]; then
		IFS= read -r k <"$W/k.$i"
		printf 'same %s\n' "$k" >"$W/s.$i"
	fi
done
i=1
while [ "$i" -le "$n" ]; do
	IFS= read -r l <"$W/s.$i"
	printf '%s\n' "$l"
	i=$((i + 1))
done

if [ -n "$persist" ]; then
	F="$E$persist"
	D=${F%/*}
	[ -n "$D" ] || D=/
	first=
	if [ -n "$marker" ] && [ -f "$F" ]; then
		IFS= read -r first <"$F" || :
	fi
	if [ -n "$marker" ] && { [ -L "$F" ] || [ -e "$F" ]; } && [ "$first" != "$marker" ]; then
		printf 'file foreign\n'
	elif [ -L "$F" ] || [ -e "$F" ]; then
		if [ -d "$F" ] && [ ! -L "$F" ]; then
			printf 'fail - EISDIR %s: Is a directory\n' "$persist"
			bad=1
		elif rm -f "$F" 2>"$W/err"; then
			sync_path "$D"
			printf 'file removed\n'
		else
			errmsg
			printf 'fail - %s remove: %s\n' "$ERRNO" "$MSG"
			bad=1
		fi
	else
		printf 'file absent\n'
	fi
else
	printf 'file none\n'
fi

# The record last: only when every key and the file are done.
if [ -n "$bad" ]; then
	printf 'record unchanged\n'
	finish error 1
fi
for i in $mine; do
	IFS= read -r k <"$W/k.$i"
	rec_del "$k"
done
if [ "$REC" = "$REC0" ]; then
	printf 'record unchanged\n'
elif rec_save; then
	rec_commit
	printf 'record written\n'
else
	printf 'record kept %s\n' "$ERRNO"
fi
finish ok 0
