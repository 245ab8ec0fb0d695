package hostops

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/hostscript"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// Read reports the kernel release, the live value of every requested key,
// the persisted file and, with Facts, the listening ports and every
// sysctl.d file. It changes nothing on the host. Transport errors are
// returned unchanged.
func Read(ctx context.Context, r Runner, t sshx.Target, req ReadRequest) (*ReadResult, error) {
	return do(ctx, r, t, ReadScript, req, encodeRead, readResult)
}

// Apply applies live values and the persisted file all-or-nothing: it
// records the current values and the old file, replaces the file
// atomically (only when its bytes change), writes each live value (only
// when it differs from Expect) and reads it back. On any failure it
// restores every written value and the previous file and returns a
// *WriteError. Unparsable or truncated output is a *ProtocolError (outcome
// unknown); transport errors are returned unchanged.
func Apply(ctx context.Context, r Runner, t sshx.Target, req ApplyRequest) (*ApplyResult, error) {
	return do(ctx, r, t, ApplyScript, req, encodeApply, applyResult)
}

// Delete restores the given values (skipping keys already at their value
// and keys the kernel lacks) and removes the persisted file; running it
// twice is harmless. Every key is attempted; on failures it returns the
// result together with a *WriteError for the first failure (RolledBack is
// false: nothing is undone).
func Delete(ctx context.Context, r Runner, t sshx.Target, req DeleteRequest) (*DeleteResult, error) {
	return do(ctx, r, t, DeleteScript, req, encodeDelete, deleteResult)
}

// do is every operation: encode the request, run the script (one exec),
// check its records against the request.
func do[Req, Res any](ctx context.Context, r Runner, t sshx.Target, s sshx.Script, req Req,
	encode func(Req) ([]byte, error), check func(*result, Req) (Res, error)) (Res, error) {
	var none Res
	in, err := encode(req)
	if err != nil {
		return none, err
	}
	res, err := r.Run(ctx, t, s, in)
	if err != nil {
		return none, err // transport errors unchanged
	}
	return parseAs(s.Name, req, res, check)
}

// parseAs parses res as script's output (parse) and checks its records
// against req; tests feed it forged results.
func parseAs[Req, Res any](script string, req Req, res *sshx.Result, check func(*result, Req) (Res, error)) (Res, error) {
	out, err := parse(script, res)
	if err != nil {
		var none Res
		return none, err
	}
	return check(out, req)
}

// readResult checks a read's records: every key asked about, a kernel
// release, and only records read.sh prints, each where it belongs.
func readResult(out *result, req ReadRequest) (*ReadResult, error) {
	if !out.OK {
		return nil, out.perr("end error without an error record")
	}
	p := readParser{out: &ReadResult{Keys: map[string]KeyState{}, UID: -1}, seenPorts: map[int64]bool{}}
	if req.Facts {
		p.out.UnprivilegedPortStart = 1024
	}
	for _, rec := range out.Records {
		if reason := p.record(rec); reason != "" {
			return nil, out.perr(reason)
		}
	}
	p.closeFile()
	slices.Sort(p.out.ListeningPorts)
	for _, k := range req.Keys {
		if _, ok := p.out.Keys[k]; !ok {
			return nil, out.perr("no record for key " + k)
		}
	}
	if p.out.KernelRelease == "" {
		return nil, out.perr("no kernel record")
	}
	return p.out, nil
}

// readParser holds a read's result while its records are taken in order;
// a file block (file, then its link, missing, managed, name, val, line and
// noeol records) ends at the next record of another kind.
type readParser struct {
	out       *ReadResult
	cur       *SysctlFile // file block being filled
	inPersist bool        // cur is the persisted file
	content   strings.Builder
	seenPorts map[int64]bool
}

// record takes one record; it returns why the record cannot be trusted,
// or "".
func (p *readParser) record(rec hostscript.Record) string {
	switch rec.Op {
	case "kernel":
		p.out.KernelRelease = rec.Rest
		return ""
	case "key":
		return p.key(rec)
	case "file":
		p.closeFile()
		return p.file(rec)
	case "link", "missing", "managed", "name", "val":
		return p.fileAttr(rec)
	case "line", "noeol":
		return p.fileLine(rec)
	}
	p.closeFile()
	return p.fact(rec)
}

// key takes "key <key> absent" or "key <key> <r|-><w|-> [<value>]".
func (p *readParser) key(rec hostscript.Record) string {
	k, st := rec.Field()
	if !ValidKey(k) {
		return "bad key record"
	}
	var ks KeyState
	switch {
	case st == "absent":
	case len(st) >= 2 && (st[0] == 'r' || st[0] == '-') && (st[1] == 'w' || st[1] == '-') && (len(st) == 2 || st[2] == ' '):
		ks = KeyState{Exists: true, Readable: st[0] == 'r', Writable: st[1] == 'w'}
		if ks.Readable {
			if len(st) < 3 {
				return "key record without a value"
			}
			ks.Value = st[3:]
		}
	default:
		return "bad key state " + strconv.Quote(st)
	}
	p.out.Keys[k] = ks
	return ""
}

// file starts a file block: "file persist|conf <path>".
func (p *readParser) file(rec hostscript.Record) string {
	role, path := rec.Field()
	if path == "" {
		return "file record without a path"
	}
	switch role {
	case "persist":
		p.inPersist = true
		p.content.Reset()
	case "conf":
	default:
		return "bad file role " + strconv.Quote(role)
	}
	p.cur = &SysctlFile{Path: path, Values: map[string]string{}}
	return ""
}

func (p *readParser) fileAttr(rec hostscript.Record) string {
	if p.cur == nil {
		return rec.Op + " record outside a file block"
	}
	switch rec.Op {
	case "link":
		p.cur.Target = rec.Rest
	case "missing":
		p.cur.Missing = true
	case "managed":
		p.cur.Managed = true
	case "name":
		p.cur.Name = rec.Rest
	case "val":
		k, v := rec.Field()
		if !ValidKey(k) {
			return "bad val record"
		}
		p.cur.Values[k] = v
	}
	return ""
}

// fileLine takes the persisted file's exact content: "line <text>" per
// line, "noeol" when the last one has no newline.
func (p *readParser) fileLine(rec hostscript.Record) string {
	if p.cur == nil || !p.inPersist {
		return rec.Op + " record outside the persisted file"
	}
	if rec.Op == "line" {
		p.content.WriteString(rec.Rest)
		p.content.WriteByte('\n')
		return ""
	}
	s := strings.TrimSuffix(p.content.String(), "\n")
	p.content.Reset()
	p.content.WriteString(s)
	return ""
}

func (p *readParser) closeFile() {
	if p.cur == nil {
		return
	}
	if p.inPersist {
		p.cur.Content = p.content.String()
		p.out.File = p.cur
	} else {
		p.out.SysctlFiles = append(p.out.SysctlFiles, *p.cur)
	}
	p.cur = nil
	p.inPersist = false
}

// fact takes the records outside file blocks other than kernel and key.
func (p *readParser) fact(rec hostscript.Record) string {
	switch rec.Op {
	case "uid":
		n, err := strconv.Atoi(rec.Rest)
		if err != nil {
			return "bad uid record"
		}
		p.out.UID = n
	case "procro":
		p.out.ProcReadOnly = true
	case "own":
		k, rest := rec.Field()
		owner, v, _ := strings.Cut(rest, " ")
		if !ValidKey(k) || !ValidOwner(owner) {
			return "bad own record"
		}
		p.out.Record = append(p.out.Record, RecordEntry{Key: k, Owner: owner, Value: v})
	case "nofile":
	case "unpriv":
		n, err := strconv.ParseInt(strings.TrimSpace(rec.Rest), 10, 64)
		if err != nil {
			return "bad unpriv record"
		}
		p.out.UnprivilegedPortStart = n
	case "listen":
		n, err := strconv.ParseInt(rec.Rest, 10, 64)
		if err != nil || n < 0 || n > 65535 {
			return "bad listen record"
		}
		if !p.seenPorts[n] {
			p.seenPorts[n] = true
			p.out.ListeningPorts = append(p.out.ListeningPorts, n)
		}
	default:
		return "unknown record " + strconv.Quote(rec.Op)
	}
	return ""
}

// applyRecords are an apply's records before they are checked against the
// request: the single-valued ones by name.
type applyRecords struct {
	out                             *ApplyResult
	werr                            *WriteError
	rollback, file, record, oldfile string
}

// applyResult checks an apply's records: a fail record exactly when it
// ended in error, and before, orig and released (or gone, or other)
// records for every key of the request.
func applyResult(out *result, req ApplyRequest) (*ApplyResult, error) {
	a := applyRecords{out: &ApplyResult{Before: map[string]string{}, Originals: map[string]string{}, Other: map[string]string{}}}
	for _, rec := range out.Records {
		if reason := a.take(rec, req); reason != "" {
			return nil, out.perr(reason)
		}
	}
	if !out.OK {
		return nil, applyFailure(a.werr, a.rollback, out.perr)
	}
	if a.werr != nil {
		return nil, out.perr("fail record with end ok")
	}
	if reason := a.check(req); reason != "" {
		return nil, out.perr(reason)
	}
	if len(a.out.Other) == 0 {
		a.out.Other = nil
	}
	return a.out, nil
}

func (a *applyRecords) take(rec hostscript.Record, req ApplyRequest) string {
	switch rec.Op {
	case "before", "orig", "other":
		k, v := rec.Field()
		if !ValidKey(k) {
			return "bad " + rec.Op + " record"
		}
		map[string]map[string]string{"before": a.out.Before, "orig": a.out.Originals, "other": a.out.Other}[rec.Op][k] = v
	case "wrote":
		a.out.Wrote = append(a.out.Wrote, rec.Rest)
	case "released":
		a.out.Released = append(a.out.Released, rec.Rest)
	case "gone":
		a.out.Gone = append(a.out.Gone, rec.Rest)
	case "file", "record", "rollback", "oldfile":
		return once(map[string]*string{"file": &a.file, "record": &a.record, "rollback": &a.rollback, "oldfile": &a.oldfile}[rec.Op], rec)
	case "fail":
		if a.werr != nil {
			return "two fail records"
		}
		a.werr = failRecord(rec, req.Writes, req.PersistPath)
	default:
		return "unknown record " + strconv.Quote(rec.Op)
	}
	return ""
}

// once stores a record that may appear once into dst.
func once(dst *string, rec hostscript.Record) string {
	if *dst != "" {
		return "two " + rec.Op + " records"
	}
	*dst = rec.Rest
	return ""
}

// check reads the file, record and oldfile records of a successful apply
// and checks that every key of the request is accounted for.
func (a *applyRecords) check(req ApplyRequest) string {
	switch a.file {
	case "written":
		a.out.FileWritten = true
	case "removed":
		a.out.FileRemoved = true
	case "none", "unchanged", "absent":
	default:
		return "bad file record " + strconv.Quote(a.file)
	}
	kept, ok := recordState(a.record)
	if !ok {
		return "bad record record " + strconv.Quote(a.record)
	}
	a.out.RecordKept = kept
	moved := req.OldPersistPath != "" && req.OldPersistPath != req.PersistPath
	switch {
	case moved && a.oldfile == "removed":
		a.out.OldFileRemoved = true
	case moved && a.oldfile == "absent", !moved && a.oldfile == "":
	default:
		return "bad oldfile record " + strconv.Quote(a.oldfile)
	}
	for _, w := range req.Writes {
		if _, ok := a.out.Before[w.Key]; !ok {
			return "no before record for " + w.Key
		}
		if _, ok := a.out.Originals[w.Key]; !ok {
			return "no orig record for " + w.Key
		}
	}
	for _, w := range req.Release {
		_, other := a.out.Other[w.Key]
		if !other && !slices.Contains(a.out.Released, w.Key) && !slices.Contains(a.out.Gone, w.Key) {
			return "no released, gone or other record for " + w.Key
		}
	}
	return ""
}

// recordState reads the "record" record of apply and delete: unchanged,
// written, or "kept <error>" (the record could not be shrunk).
func recordState(rec string) (kept string, ok bool) {
	switch {
	case rec == "unchanged" || rec == "written":
		return "", true
	case strings.HasPrefix(rec, "kept "):
		return strings.TrimPrefix(rec, "kept "), true
	}
	return "", false
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
func failRecord(rec hostscript.Record, writes []Write, persist string) *WriteError {
	key, rest := rec.Field()
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

// deleteRecords are a delete's records while they are taken: each key is
// accounted for once.
type deleteRecords struct {
	out          *DeleteResult
	seen         map[string]bool
	first        *WriteError
	file, record string
}

// deleteResult checks a delete's records: one record per key asked about,
// the file and record state, and "end ok" exactly when nothing failed.
func deleteResult(out *result, req DeleteRequest) (*DeleteResult, error) {
	d := deleteRecords{out: &DeleteResult{Other: map[string]string{}}, seen: map[string]bool{}}
	for _, rec := range out.Records {
		if reason := d.take(rec, req); reason != "" {
			return nil, out.perr(reason)
		}
	}
	if len(d.out.Other) == 0 {
		d.out.Other = nil
	}
	if err := deleteFileState(d.out, d.file, req.PersistPath != ""); err != nil {
		return nil, out.perr(err.Error())
	}
	kept, ok := recordState(d.record)
	if !ok {
		return nil, out.perr("bad record record " + strconv.Quote(d.record))
	}
	d.out.RecordKept = kept
	for _, w := range req.Restore {
		if !d.seen[w.Key] {
			return nil, out.perr("no record for key " + w.Key)
		}
	}
	if out.OK != (d.first == nil) {
		return nil, out.perr(fmt.Sprintf("end %v does not match %d fail records", out.OK, len(d.out.Failed)))
	}
	if d.first != nil {
		return d.out, d.first
	}
	return d.out, nil
}

// account records that key k was reported, once.
func (d *deleteRecords) account(k string) string {
	if !ValidKey(k) || d.seen[k] {
		return "bad or repeated key record for " + strconv.Quote(k)
	}
	d.seen[k] = true
	return ""
}

func (d *deleteRecords) take(rec hostscript.Record, req DeleteRequest) string {
	switch rec.Op {
	case "restored", "same", "gone", "kept":
		dst := map[string]*[]string{"restored": &d.out.Restored, "same": &d.out.Same, "gone": &d.out.Gone, "kept": &d.out.Kept}[rec.Op]
		*dst = append(*dst, rec.Rest)
		return d.account(rec.Rest)
	case "other":
		k, owner := rec.Field()
		d.out.Other[k] = owner
		return d.account(k)
	case "file", "record":
		return once(map[string]*string{"file": &d.file, "record": &d.record}[rec.Op], rec)
	case "fail":
		e := failRecord(rec, req.Restore, req.PersistPath)
		if d.first == nil {
			d.first = e
		}
		if e.Key == "" {
			d.out.Failed = append(d.out.Failed, "file")
			return ""
		}
		d.out.Failed = append(d.out.Failed, e.Key)
		return d.account(e.Key)
	}
	return "unknown record " + strconv.Quote(rec.Op)
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
