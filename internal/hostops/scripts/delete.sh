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

bad=
i=1
while [ "$i" -le "$n" ]; do
	IFS= read -r k <"$W/k.$i"
	IFS= read -r v <"$W/v.$i"
	IFS= read -r x <"$W/x.$i"
	i=$((i + 1))
	key_path "$k"
	p="$P/sys$KP"
	if [ -d "$p" ] || [ ! -e "$p" ]; then
		printf 'gone %s\n' "$k"
		continue
	fi
	if ! cur=$(cat "$p" 2>"$W/err"); then
		errmsg
		printf 'fail %s %s read: %s\n' "$k" "$ERRNO" "$MSG"
		bad=1
		continue
	fi
	oneline "$cur"
	if same_value "$ONE" "$x"; then
		printf 'same %s\n' "$k"
		continue
	fi
	if ! write_value "$p" "$v"; then
		printf 'fail %s %s %s\n' "$k" "$ERRNO" "$MSG"
		bad=1
		continue
	fi
	if ! cur=$(cat "$p" 2>"$W/err"); then
		errmsg
		printf 'fail %s %s read back: %s\n' "$k" "$ERRNO" "$MSG"
		bad=1
		continue
	fi
	oneline "$cur"
	if ! same_value "$ONE" "$x"; then
		printf 'fail %s MISMATCH read back "%s", expected "%s"\n' "$k" "$ONE" "$x"
		bad=1
		continue
	fi
	printf 'restored %s\n' "$k"
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
