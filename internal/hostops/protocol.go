package hostops

import (
	"bytes"
	"fmt"
	"strings"
	"time"

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

func encodeRead(req ReadRequest) ([]byte, error) {
	var b bytes.Buffer
	marker := req.Marker
	if marker == "" {
		marker = DefaultMarker
	}
	if err := oneLine("marker", marker); err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "marker %s\n", marker)
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
		if strings.ContainsAny(req.Marker, "\n\r") {
			return nil, fmt.Errorf("invalid marker %q", req.Marker)
		}
		fmt.Fprintf(&b, "marker %s\n", req.Marker)
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

// record is one output line split at its first space.
type record struct {
	op, rest string
}

// field splits rest at its first space: "key value..." -> "key", "value...".
func (r record) field() (string, string) {
	a, b, _ := strings.Cut(r.rest, " ")
	return a, b
}

// parseRecords checks the end marker and the exit status and splits the
// output into records. ok reports "end ok".
func parseRecords(script string, res *sshx.Result) (recs []record, ok bool, err error) {
	if res == nil {
		return nil, false, &ProtocolError{Script: script, Reason: "no result"}
	}
	perr := func(reason string) error {
		return &ProtocolError{Script: script, Reason: reason, ExitStatus: res.ExitStatus, Stderr: tail(res.Stderr, 500)}
	}
	out := string(res.Stdout)
	if out == "" {
		return nil, false, perr("no output")
	}
	if !strings.HasSuffix(out, "\n") {
		return nil, false, perr("output cut short (no final newline)")
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	switch last {
	case "end ok":
		ok = true
		if res.ExitStatus != 0 {
			return nil, false, perr("end ok with a non-zero exit status")
		}
	case "end error":
		if res.ExitStatus == 0 {
			return nil, false, perr("end error with exit status 0")
		}
	default:
		return nil, false, perr("missing end marker")
	}
	for _, l := range lines[:len(lines)-1] {
		op, rest, _ := strings.Cut(l, " ")
		if op == "end" {
			return nil, false, perr("end marker before the last line")
		}
		recs = append(recs, record{op: op, rest: rest})
	}
	return recs, ok, nil
}

func tail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// scriptError returns the first "error" record as a *ScriptError, or a
// *LockError for "error lock <holder> <since> <pid>".
func scriptError(script string, recs []record) error {
	for _, r := range recs {
		if r.op == "error" {
			code, msg := r.field()
			if code == "lockfail" {
				errno, m, _ := strings.Cut(msg, " ")
				return &WriteError{Path: LockPath, Errno: errno, Message: m, RolledBack: true}
			}
			if code == "lock" {
				f := strings.Fields(msg)
				for len(f) < 3 {
					f = append(f, "unknown")
				}
				return &LockError{Script: script, Holder: f[0], Since: f[1], PID: f[2]}
			}
			return &ScriptError{Script: script, Code: code, Message: msg}
		}
	}
	return nil
}
