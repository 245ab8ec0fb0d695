package hostops

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/hostscript"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// ValidKey reports whether key is a sysctl name the scripts accept:
// "net." followed by [a-z0-9_.-], no empty component, no "/" and no "..".
func ValidKey(key string) bool {
	if !strings.HasPrefix(key, "net.") || len(key) == len("net.") {
		return false
	}
	if strings.Contains(key, "..") || strings.HasSuffix(key, ".") {
		return false
	}
	for _, c := range key {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// ValidPersistPath reports whether p is a persisted-file path the scripts
// accept: absolute, ending in ".conf", made of [A-Za-z0-9_.@+/-], without
// "//" and without components starting with a dot.
func ValidPersistPath(p string) bool {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, ".conf") || len(p) < len("/x.conf") {
		return false
	}
	if strings.Contains(p, "//") || strings.Contains(p, "/.") {
		return false
	}
	for _, c := range p {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("_.@+/-", c):
		default:
			return false
		}
	}
	return true
}

// ValidOwner reports whether name is a resource name the scripts accept as
// an owner: [a-z0-9][a-z0-9_.-]*, at most 64 bytes.
func ValidOwner(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// encodeLock writes the owner, from and lockwait records.
func encodeLock(b *bytes.Buffer, owner, from string, wait time.Duration) error {
	if !ValidOwner(owner) {
		return fmt.Errorf("invalid owner %q", owner)
	}
	fmt.Fprintf(b, "owner %s\n", owner)
	if from != "" {
		if !ValidOwner(from) {
			return fmt.Errorf("invalid previous owner %q", from)
		}
		fmt.Fprintf(b, "from %s\n", from)
	}
	fmt.Fprintf(b, "lockwait %d\n", max(int64(wait/time.Second), 0))
	return nil
}

// oneLine rejects text that would break a line record.
func oneLine(what, s string) error {
	if strings.ContainsAny(s, "\n\x00") {
		return fmt.Errorf("%s contains a newline or NUL byte: %q", what, s)
	}
	return nil
}

// encodeMarker writes the marker record: one line, no carriage return
// (a file's first line is compared without its line ending).
func encodeMarker(b *bytes.Buffer, marker string) error {
	if strings.ContainsAny(marker, "\n\r\x00") {
		return fmt.Errorf("invalid marker %q: it must be one line", marker)
	}
	fmt.Fprintf(b, "marker %s\n", marker)
	return nil
}

func encodeRead(req ReadRequest) ([]byte, error) {
	var b bytes.Buffer
	marker := req.Marker
	if marker == "" {
		marker = DefaultMarker
	}
	if err := encodeMarker(&b, marker); err != nil {
		return nil, err
	}
	if req.PersistPath != "" {
		if !ValidPersistPath(req.PersistPath) {
			return nil, fmt.Errorf("invalid persist path %q", req.PersistPath)
		}
		fmt.Fprintf(&b, "persist %s\n", req.PersistPath)
	}
	for _, k := range req.Keys {
		if !ValidKey(k) {
			return nil, fmt.Errorf("invalid sysctl key %q", k)
		}
		fmt.Fprintf(&b, "key %s\n", k)
	}
	if req.Facts {
		b.WriteString("facts\n")
	}
	b.WriteString("end\n")
	return b.Bytes(), nil
}

func encodeWrites(b *bytes.Buffer, op string, ws []Write) error {
	for _, w := range ws {
		if !ValidKey(w.Key) {
			return fmt.Errorf("invalid sysctl key %q", w.Key)
		}
		if err := oneLine("value of "+w.Key, w.Value); err != nil {
			return err
		}
		if err := oneLine("expected value of "+w.Key, w.Expect); err != nil {
			return err
		}
		fmt.Fprintf(b, "%s %s %s\nx %s\n", op, w.Key, w.Value, expectOf(w))
	}
	return nil
}

func expectOf(w Write) string {
	if w.Expect == "" {
		return w.Value
	}
	return w.Expect
}

func encodeApply(req ApplyRequest) ([]byte, error) {
	var b bytes.Buffer
	if req.FileContent != nil && req.RemoveFile {
		return nil, fmt.Errorf("FileContent and RemoveFile are exclusive")
	}
	if err := encodeLock(&b, req.Owner, req.From, req.LockWait); err != nil {
		return nil, err
	}
	if req.PersistPath != "" || req.FileContent != nil || req.RemoveFile {
		if !ValidPersistPath(req.PersistPath) {
			return nil, fmt.Errorf("invalid persist path %q", req.PersistPath)
		}
		fmt.Fprintf(&b, "persist %s\n", req.PersistPath)
	}
	if err := encodeWrites(&b, "w", req.Writes); err != nil {
		return nil, err
	}
	if err := encodeWrites(&b, "r", req.Release); err != nil {
		return nil, err
	}
	if req.FileContent != nil {
		c := *req.FileContent
		if strings.ContainsRune(c, 0) {
			return nil, fmt.Errorf("file content contains a NUL byte")
		}
		b.WriteString("content\n")
		if c != "" {
			body, eol := strings.CutSuffix(c, "\n")
			for _, l := range strings.Split(body, "\n") {
				fmt.Fprintf(&b, "l %s\n", l)
			}
			if !eol {
				b.WriteString("noeol\n")
			}
		}
	}
	if req.RemoveFile {
		b.WriteString("rm\n")
	}
	if req.OldPersistPath != "" {
		if !ValidPersistPath(req.OldPersistPath) {
			return nil, fmt.Errorf("invalid old persist path %q", req.OldPersistPath)
		}
		fmt.Fprintf(&b, "oldpersist %s\n", req.OldPersistPath)
	}
	b.WriteString("end\n")
	return b.Bytes(), nil
}

func encodeDelete(req DeleteRequest) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeLock(&b, req.Owner, "", req.LockWait); err != nil {
		return nil, err
	}
	if req.NoRestore {
		b.WriteString("norestore\n")
	}
	if req.FileOnly {
		b.WriteString("fileonly\n")
	}
	if req.Marker != "" {
		if err := encodeMarker(&b, req.Marker); err != nil {
			return nil, err
		}
	}
	if req.PersistPath != "" {
		if !ValidPersistPath(req.PersistPath) {
			return nil, fmt.Errorf("invalid persist path %q", req.PersistPath)
		}
		fmt.Fprintf(&b, "persist %s\n", req.PersistPath)
	}
	if err := encodeWrites(&b, "r", req.Restore); err != nil {
		return nil, err
	}
	b.WriteString("end\n")
	return b.Bytes(), nil
}

// result is a parsed script run: its records, whether it ended ok, and
// what perr needs to report a record the parser cannot trust.
type result struct {
	*hostscript.Output
	script string
	res    *sshx.Result
}

// parse splits res as script's output (hostscript.Parse) and turns its
// error record, if any, into the error it stands for (scriptError).
func parse(script string, res *sshx.Result) (*result, error) {
	out, err := hostscript.Parse(script, res)
	if err != nil {
		return nil, err
	}
	if rec, ok := out.Error(); ok {
		return nil, scriptError(script, rec)
	}
	return &result{Output: out, script: script, res: res}, nil
}

// perr is the *ProtocolError for reason in this run.
func (r *result) perr(reason string) error {
	return hostscript.NewProtocolError(r.script, reason, r.res)
}

// scriptError is the error of an "error" record: a *WriteError for a lock
// that could not be taken ("error lockfail <errno> <message>"), a
// *LockError for "error lock <holder> <since> <pid>", else a *ScriptError.
func scriptError(script string, r hostscript.Record) error {
	code, msg := r.Field()
	switch code {
	case "lockfail":
		errno, m, _ := strings.Cut(msg, " ")
		return &WriteError{Path: LockPath, Errno: errno, Message: m, RolledBack: true}
	case "lock":
		f := strings.Fields(msg)
		for len(f) < 3 {
			f = append(f, "unknown")
		}
		return &LockError{Script: script, Holder: f[0], Since: f[1], PID: f[2]}
	}
	return hostscript.NewScriptError(script, r)
}
