package hostops

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// Read reports the kernel release, the live value of every requested key,
// the persisted file and, with Facts, the listening ports and every
// sysctl.d file. It changes nothing on the host. Transport errors are
// returned unchanged.
func Read(ctx context.Context, r Runner, t sshx.Target, req ReadRequest) (*ReadResult, error) {
	in, err := encodeRead(req)
	if err != nil {
		return nil, err
	}
	res, err := r.Run(ctx, t, ReadScript, in)
	if err != nil {
		return nil, err
	}
	return parseRead(ReadScript.Name, req, res)
}

func parseRead(script string, req ReadRequest, res *sshx.Result) (*ReadResult, error) {
	recs, ok, err := parseRecords(script, res)
	if err != nil {
		return nil, err
	}
	if err := scriptError(script, recs); err != nil {
		return nil, err
	}
	if !ok {
		return nil, &ProtocolError{Script: script, Reason: "end error without an error record", ExitStatus: res.ExitStatus, Stderr: tail(res.Stderr, 500)}
	}
	perr := func(reason string) error {
		return &ProtocolError{Script: script, Reason: reason, ExitStatus: res.ExitStatus}
	}
	out := &ReadResult{Keys: map[string]KeyState{}, UID: -1}
	if req.Facts {
		out.UnprivilegedPortStart = 1024
	}
	var cur *SysctlFile // file block being filled
	var content strings.Builder
	var persistFile SysctlFile
	inPersist := false
	closeFile := func() {
		if cur == nil {
			return
		}
		if inPersist {
			cur.Content = content.String()
			f := *cur
			out.File = &f
		} else {
			out.SysctlFiles = append(out.SysctlFiles, *cur)
		}
		cur = nil
		inPersist = false
	}
	seenPorts := map[int64]bool{}
	for _, rec := range recs {
		switch rec.op {
		case "kernel":
			out.KernelRelease = rec.rest
		case "key":
			k, st := rec.field()
			if !ValidKey(k) {
				return nil, perr("bad key record")
			}
			var ks KeyState
			switch {
			case st == "absent":
			case len(st) >= 2 && (st[0] == 'r' || st[0] == '-') && (st[1] == 'w' || st[1] == '-') && (len(st) == 2 || st[2] == ' '):
				ks.Exists = true
				ks.Readable = st[0] == 'r'
				ks.Writable = st[1] == 'w'
				if ks.Readable {
					if len(st) < 3 {
						return nil, perr("key record without a value")
					}
					ks.Value = st[3:]
				}
			default:
				return nil, perr("bad key state " + strconv.Quote(st))
			}
			out.Keys[k] = ks
		case "file":
			closeFile()
			role, p := rec.field()
			if p == "" {
				return nil, perr("file record without a path")
			}
			switch role {
			case "persist":
				inPersist = true
				persistFile = SysctlFile{}
				cur = &persistFile
				content.Reset()
			case "conf":
				cur = &SysctlFile{}
			default:
				return nil, perr("bad file role " + strconv.Quote(role))
			}
			cur.Path = p
			cur.Values = map[string]string{}
		case "link", "missing", "managed", "name", "val":
			if cur == nil {
				return nil, perr(rec.op + " record outside a file block")
			}
			switch rec.op {
			case "link":
				cur.Target = rec.rest
			case "missing":
				cur.Missing = true
			case "managed":
				cur.Managed = true
			case "name":
				cur.Name = rec.rest
			case "val":
				k, v := rec.field()
				if !ValidKey(k) {
					return nil, perr("bad val record")
				}
				cur.Values[k] = v
			}
		case "line", "noeol":
			if cur == nil || !inPersist {
				return nil, perr(rec.op + " record outside the persisted file")
			}
			if rec.op == "line" {
				content.WriteString(rec.rest)
				content.WriteByte('\n')
			} else {
				s := strings.TrimSuffix(content.String(), "\n")
				content.Reset()
				content.WriteString(s)
			}
		case "uid":
			closeFile()
			n, err := strconv.Atoi(rec.rest)
			if err != nil {
				return nil, perr("bad uid record")
			}
			out.UID = n
		case "procro":
			closeFile()
			out.ProcReadOnly = true
		case "own":
			closeFile()
			k, rest := rec.field()
			owner, v, _ := strings.Cut(rest, " ")
			if !ValidKey(k) || !ValidOwner(owner) {
				return nil, perr("bad own record")
			}
			out.Record = append(out.Record, RecordEntry{Key: k, Owner: owner, Value: v})
		case "nofile":
			closeFile()
		case "unpriv":
			closeFile()
			n, err := strconv.ParseInt(strings.TrimSpace(rec.rest), 10, 64)
			if err != nil {
				return nil, perr("bad unpriv record")
			}
			out.UnprivilegedPortStart = n
		case "listen":
			closeFile()
			n, err := strconv.ParseInt(rec.rest, 10, 64)
			if err != nil || n < 0 || n > 65535 {
				return nil, perr("bad listen record")
			}
			if !seenPorts[n] {
				seenPorts[n] = true
				out.ListeningPorts = append(out.ListeningPorts, n)
			}
		default:
			return nil, perr("unknown record " + strconv.Quote(rec.op))
		}
	}
	closeFile()
	slices.Sort(out.ListeningPorts)
	for _, k := range req.Keys {
		if _, ok := out.Keys[k]; !ok {
			return nil, perr("no record for key " + k)
		}
	}
	if out.KernelRelease == "" {
		return nil, perr("no kernel record")
	}
	return out, nil
}

// Apply applies live values and the persisted file all-or-nothing: it
// records the current values and the old file, replaces the file
// atomically (only when its bytes change), writes each live value (only
// when it differs from Expect) and reads it back. On any failure it
// restores every written value and the previous file and returns a
// *WriteError. Unparsable or truncated output is a *ProtocolError (outcome
// unknown); transport errors are returned unchanged.
func Apply(ctx context.Context, r Runner, t sshx.Target, req ApplyRequest) (*ApplyResult, error) {
	in, err := encodeApply(req)
	if err != nil {
		return nil, err
	}
	res, err := r.Run(ctx, t, ApplyScript, in)
	if err != nil {
		return nil, err
	}
	return parseApply(ApplyScript.Name, req, res)
}

func parseApply(script string, req ApplyRequest, res *sshx.Result) (*ApplyResult, error) {
	writes, persist := req.Writes, req.PersistPath
	recs, ok, err := parseRecords(script, res)
	if err != nil {
		return nil, err
	}
	if err := scriptError(script, recs); err != nil {
		return nil, err
	}
	perr := func(reason string) error {
		return &ProtocolError{Script: script, Reason: reason, ExitStatus: res.ExitStatus, Stderr: tail(res.Stderr, 500)}
	}
	out := &ApplyResult{Before: map[string]string{}, Originals: map[string]string{}, Other: map[string]string{}}
	var werr *WriteError
	rollback, file, record, oldfile := "", "", "", ""
	for _, rec := range recs {
		switch rec.op {
		case "before", "orig", "other":
			k, v := rec.field()
			if !ValidKey(k) {
				return nil, perr("bad " + rec.op + " record")
			}
			map[string]map[string]string{"before": out.Before, "orig": out.Originals, "other": out.Other}[rec.op][k] = v
		case "wrote":
			out.Wrote = append(out.Wrote, rec.rest)
		case "released":
			out.Released = append(out.Released, rec.rest)
		case "gone":
			out.Gone = append(out.Gone, rec.rest)
		case "file", "record", "rollback", "oldfile":
			dst := map[string]*string{"file": &file, "record": &record, "rollback": &rollback, "oldfile": &oldfile}[rec.op]
			if *dst != "" {
				return nil, perr("two " + rec.op + " records")
			}
			*dst = rec.rest
		case "fail":
			if werr != nil {
				return nil, perr("two fail records")
			}
			werr = failRecord(rec, writes, persist)
		default:
			return nil, perr("unknown record " + strconv.Quote(rec.op))
		}
	}
	if !ok {
		return nil, applyFailure(werr, rollback, perr)
	}
	if werr != nil {
		return nil, perr("fail record with end ok")
	}
	switch file {
	case "written":
		out.FileWritten = true
	case "removed":
		out.FileRemoved = true
	case "none", "unchanged", "absent":
	default:
		return nil, perr("bad file record " + strconv.Quote(file))
	}
	switch {
	case record == "unchanged" || record == "written":
	case strings.HasPrefix(record, "kept "):
		out.RecordKept = strings.TrimPrefix(record, "kept ")
	default:
		return nil, perr("bad record record " + strconv.Quote(record))
	}
	moved := req.OldPersistPath != "" && req.OldPersistPath != req.PersistPath
	switch {
	case moved && oldfile == "removed":
		out.OldFileRemoved = true
	case moved && oldfile == "absent", !moved && oldfile == "":
	default:
		return nil, perr("bad oldfile record " + strconv.Quote(oldfile))
	}
	for _, w := range writes {
		if _, ok := out.Before[w.Key]; !ok {
			return nil, perr("no before record for " + w.Key)
		}
		if _, ok := out.Originals[w.Key]; !ok {
			return nil, perr("no orig record for " + w.Key)
		}
	}
	if len(out.Other) == 0 {
		out.Other = nil
	}
	for _, w := range req.Release {
		_, other := out.Other[w.Key]
		if !other && !slices.Contains(out.Released, w.Key) && !slices.Contains(out.Gone, w.Key) {
			return nil, perr("no released, gone or other record for " + w.Key)
		}
	}
	return out, nil
}

// applyFailure is the error of an apply that ended with "end error": its
// fail record with what the rollback achieved, or the owner of a key that
// another resource holds.
func applyFailure(werr *WriteError, rollback string, perr func(string) error) error {
	if werr == nil {
		return perr("end error without a fail record")
	}
	switch {
	case rollback == "ok":
		werr.RolledBack = true
	case strings.HasPrefix(rollback, "failed"):
		werr.RollbackFailures = strings.Fields(strings.TrimPrefix(rollback, "failed"))
	default:
		return perr("fail without a rollback record")
	}
	if werr.Errno == "EOWNED" && werr.RolledBack {
		return &OwnedError{Key: werr.Key, Owner: werr.Message}
	}
	return werr
}

// failRecord turns "fail <key>|- <errno> <message>" into a WriteError.
func failRecord(rec record, writes []Write, persist string) *WriteError {
	key, rest := rec.field()
	errno, msg, _ := strings.Cut(rest, " ")
	e := &WriteError{Errno: errno, Message: msg}
	switch key {
	case "-":
		e.Path = persist
		return e
	case "@record":
		e.Path = RecordPath
		return e
	}
	e.Key = key
	for _, w := range writes {
		if w.Key == key {
			e.Value = w.Value
			break
		}
	}
	return e
}

// Delete restores the given values (skipping keys already at their value
// and keys the kernel lacks) and removes the persisted file; running it
// twice is harmless. Every key is attempted; on failures it returns the
// result together with a *WriteError for the first failure (RolledBack is
// false: nothing is undone).
func Delete(ctx context.Context, r Runner, t sshx.Target, req DeleteRequest) (*DeleteResult, error) {
	in, err := encodeDelete(req)
	if err != nil {
		return nil, err
	}
	res, err := r.Run(ctx, t, DeleteScript, in)
	if err != nil {
		return nil, err
	}
	return parseDelete(DeleteScript.Name, req, res)
}

func parseDelete(script string, req DeleteRequest, res *sshx.Result) (*DeleteResult, error) {
	recs, ok, err := parseRecords(script, res)
	if err != nil {
		return nil, err
	}
	if err := scriptError(script, recs); err != nil {
		return nil, err
	}
	perr := func(reason string) error {
		return &ProtocolError{Script: script, Reason: reason, ExitStatus: res.ExitStatus, Stderr: tail(res.Stderr, 500)}
	}
	out := &DeleteResult{Other: map[string]string{}}
	seen := map[string]bool{}
	account := func(k string) error {
		if !ValidKey(k) || seen[k] {
			return perr("bad or repeated key record for " + strconv.Quote(k))
		}
		seen[k] = true
		return nil
	}
	var first *WriteError
	file, record := "", ""
	for _, rec := range recs {
		switch rec.op {
		case "restored", "same", "gone", "kept":
			if err := account(rec.rest); err != nil {
				return nil, err
			}
			dst := map[string]*[]string{"restored": &out.Restored, "same": &out.Same, "gone": &out.Gone, "kept": &out.Kept}[rec.op]
			*dst = append(*dst, rec.rest)
		case "other":
			k, owner := rec.field()
			if err := account(k); err != nil {
				return nil, err
			}
			out.Other[k] = owner
		case "file", "record":
			dst := map[string]*string{"file": &file, "record": &record}[rec.op]
			if *dst != "" {
				return nil, perr("two " + rec.op + " records")
			}
			*dst = rec.rest
		case "fail":
			e := failRecord(rec, req.Restore, req.PersistPath)
			if e.Key != "" {
				if err := account(e.Key); err != nil {
					return nil, err
				}
				out.Failed = append(out.Failed, e.Key)
			} else {
				out.Failed = append(out.Failed, "file")
			}
			if first == nil {
				first = e
			}
		default:
			return nil, perr("unknown record " + strconv.Quote(rec.op))
		}
	}
	if len(out.Other) == 0 {
		out.Other = nil
	}
	if err := deleteFileState(out, file, req.PersistPath != ""); err != nil {
		return nil, perr(err.Error())
	}
	switch {
	case record == "unchanged" || record == "written":
	case strings.HasPrefix(record, "kept "):
		out.RecordKept = strings.TrimPrefix(record, "kept ")
	default:
		return nil, perr("bad record record " + strconv.Quote(record))
	}
	for _, w := range req.Restore {
		if !seen[w.Key] {
			return nil, perr("no record for key " + w.Key)
		}
	}
	if ok != (first == nil) {
		return nil, perr(fmt.Sprintf("end %v does not match %d fail records", ok, len(out.Failed)))
	}
	if first != nil {
		return out, first
	}
	return out, nil
}

// deleteFileState reads the delete script's file record: exactly one, and
// "none" only when no file was asked about. A failed removal has only its
// fail record.
func deleteFileState(out *DeleteResult, file string, asked bool) error {
	switch file {
	case "removed":
		out.FileRemoved = true
	case "foreign":
		out.FileForeign = true
	case "absent":
	case "none":
		if asked {
			return fmt.Errorf("file none, but a persisted file was named")
		}
	case "":
		if !slices.Contains(out.Failed, "file") {
			return fmt.Errorf("no file record")
		}
	default:
		return fmt.Errorf("bad file record %q", file)
	}
	return nil
}
