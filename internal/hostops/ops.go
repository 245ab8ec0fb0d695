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
	out := &ReadResult{Keys: map[string]KeyState{}}
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
	return parseApply(ApplyScript.Name, req.Writes, req.PersistPath, res)
}

func parseApply(script string, writes []Write, persist string, res *sshx.Result) (*ApplyResult, error) {
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
	out := &ApplyResult{Before: map[string]string{}}
	var werr *WriteError
	rollback := ""
	file := ""
	for _, rec := range recs {
		switch rec.op {
		case "before":
			k, v := rec.field()
			out.Before[k] = v
		case "wrote":
			out.Wrote = append(out.Wrote, rec.rest)
		case "file":
			file = rec.rest
		case "fail":
			if werr != nil {
				return nil, perr("two fail records")
			}
			werr = failRecord(rec, writes, persist)
		case "rollback":
			rollback = rec.rest
		default:
			return nil, perr("unknown record " + strconv.Quote(rec.op))
		}
	}
	if !ok {
		if werr == nil {
			return nil, perr("end error without a fail record")
		}
		switch {
		case rollback == "ok":
			werr.RolledBack = true
		case strings.HasPrefix(rollback, "failed"):
			werr.RollbackFailures = strings.Fields(strings.TrimPrefix(rollback, "failed"))
		default:
			return nil, perr("fail without a rollback record")
		}
		return nil, werr
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
	for _, w := range writes {
		if _, ok := out.Before[w.Key]; !ok {
			return nil, perr("no before record for " + w.Key)
		}
	}
	return out, nil
}

// failRecord turns "fail <key>|- <errno> <message>" into a WriteError.
func failRecord(rec record, writes []Write, persist string) *WriteError {
	key, rest := rec.field()
	errno, msg, _ := strings.Cut(rest, " ")
	e := &WriteError{Errno: errno, Message: msg}
	if key == "-" {
		e.Path = persist
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
	out := &DeleteResult{}
	var first *WriteError
	for _, rec := range recs {
		switch rec.op {
		case "restored":
			out.Restored = append(out.Restored, rec.rest)
		case "gone":
			out.Gone = append(out.Gone, rec.rest)
		case "same":
		case "file":
			switch rec.rest {
			case "removed":
				out.FileRemoved = true
			case "foreign":
				out.FileForeign = true
			case "absent", "none":
			default:
				return nil, perr("bad file record " + strconv.Quote(rec.rest))
			}
		case "fail":
			e := failRecord(rec, req.Restore, req.PersistPath)
			if e.Key != "" {
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
	if ok != (first == nil) {
		return nil, perr(fmt.Sprintf("end %v does not match %d fail records", ok, len(out.Failed)))
	}
	if first != nil {
		return out, first
	}
	return out, nil
}
