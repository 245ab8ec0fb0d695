# delete.sh: put original values back and remove the persisted file.
# Harmless when already done: keys already at their value are skipped, keys
# the kernel no longer has are reported as gone, a missing file is fine.
#
# Input records (stdin), terminated by "end" (without it nothing is changed):
#   marker <text>      remove the file only when its first line is exactly this
#   persist <path>     the persisted file to remove (the link itself when it is a symlink)
#   w <key> <value>    value to restore
#   x <expect>         what the kernel prints back for the preceding w
#   end
# Output records, then "end ok" (exit 0) or "end error" (exit 1 or 2):
#   restored <key> | same <key> | gone <key>
#   file removed|absent|none|foreign   (foreign: not ours by its marker, left alone)
#   fail <key>|- <errno> <msg>   (every key is still attempted)
#   error <code> <msg>           input or setup error; nothing was changed

setup_work

n=0
persist=
marker=
gotend=
inerr=
while IFS= read -r line; do
	split_first "$line"
	op=$HEAD rest=$TAIL
	case $op in
	persist | w | x)
		input_record "$op" "$rest" || break
		;;
	marker) marker=$rest ;;
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

# Fork-light: the keys are read with one awk before the writes and with one
# after them; each key's record goes to $W/s.N and they are printed in input
# order. A key that was already at its value is read again after the writes
# too (a write to another key can change it, as conf.all.* does) and then
# restored like the others.
bad=
list=
i=1
while [ "$i" -le "$n" ]; do
	IFS= read -r k <"$W/k.$i"
	key_path "$k"
	p="$P/sys$KP"
	if [ -d "$p" ] || [ ! -e "$p" ]; then
		printf 'gone %s\n' "$k" >"$W/s.$i"
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

if [ -n "$bad" ]; then
	finish error 1
fi
finish ok 0
