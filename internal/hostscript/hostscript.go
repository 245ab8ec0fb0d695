// Package hostscript is the one way this provider runs code on a host: an
// embedded POSIX sh script, run as one SSH exec with its input as line
// records on stdin, printing line records on stdout and ending with
// "end ok" (exit 0) or "end error" (non-zero exit). Every script starts
// with lib.sh, the prelude that fixes the environment and carries the
// helpers and host facts the scripts share; the facts (default port range,
// boot directories, socket state names) are written into the prelude from
// the Go source, so they exist once.
//
// hostops (the tcp_tuning operations) and tcpstats (the tcp_stats
// collector) build their scripts with New, run them through a Runner and
// split the output with Parse; the errors of a run that cannot be trusted
// (ProtocolError) or that the script reported (ScriptError) are this
// package's.
package hostscript

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// Runner runs one script on one host with stdin as its input. *sshx.Pool
// satisfies it; hostops.LocalRunner runs scripts on this machine.
type Runner interface {
	Run(ctx context.Context, t sshx.Target, s sshx.Script, stdin []byte) (*sshx.Result, error)
}

//go:embed lib.sh
var libSh string

// New is the script named name: the prelude (the facts, then lib.sh)
// followed by parts, each compacted (sshx.Compact).
func New(name string, parts ...string) sshx.Script {
	var b strings.Builder
	b.WriteString(Prelude())
	for _, p := range parts {
		b.WriteString(sshx.Compact(p))
	}
	return sshx.Script{Name: name, Body: b.String()}
}

// Prelude is what New puts before a script's own parts.
func Prelude() string { return prelude }

var prelude = factsSh() + sshx.Compact(libSh)

// Record is one output line split at its first space.
type Record struct {
	Op, Rest string
}

// Field splits Rest at its first space: "key value..." -> "key", "value...".
func (r Record) Field() (string, string) {
	a, b, _ := strings.Cut(r.Rest, " ")
	return a, b
}

// Output is a script's result, split into records. OK reports "end ok".
type Output struct {
	Records []Record
	OK      bool
}

// Error returns the first "error <code> <message>" record, if any.
func (o *Output) Error() (Record, bool) {
	for _, r := range o.Records {
		if r.Op == "error" {
			return r, true
		}
	}
	return Record{}, false
}

// Parse checks that res is complete (a final newline and the end marker as
// the last line, matching the exit status) and splits its stdout into
// records. Anything else is a *ProtocolError naming script.
func Parse(script string, res *sshx.Result) (*Output, error) {
	if res == nil {
		return nil, &ProtocolError{Script: script, Reason: "no result"}
	}
	perr := func(reason string) error { return NewProtocolError(script, reason, res) }
	out := string(res.Stdout)
	if out == "" {
		return nil, perr("no output")
	}
	if !strings.HasSuffix(out, "\n") {
		return nil, perr("output cut short (no final newline)")
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	o := &Output{}
	switch lines[len(lines)-1] {
	case "end ok":
		if res.ExitStatus != 0 {
			return nil, perr("end ok with a non-zero exit status")
		}
		o.OK = true
	case "end error":
		if res.ExitStatus == 0 {
			return nil, perr("end error with exit status 0")
		}
	default:
		return nil, perr("missing end marker")
	}
	o.Records = make([]Record, 0, len(lines)-1)
	for _, l := range lines[:len(lines)-1] {
		op, rest, _ := strings.Cut(l, " ")
		if op == "end" {
			return nil, perr("end marker before the last line")
		}
		o.Records = append(o.Records, Record{Op: op, Rest: rest})
	}
	return o, nil
}

// ProtocolError means the script's output could not be understood or was
// cut short (no end marker): what the script did on the host is unknown.
type ProtocolError struct {
	Script     string
	Reason     string
	ExitStatus int
	Stderr     string // last part of stderr, for diagnostics
}

// stderrTail is how much of stderr a ProtocolError keeps.
const stderrTail = 500

// NewProtocolError is the ProtocolError of script's result res for reason,
// with the exit status and the end of stderr.
func NewProtocolError(script, reason string, res *sshx.Result) *ProtocolError {
	e := &ProtocolError{Script: script, Reason: reason}
	if res != nil {
		e.ExitStatus = res.ExitStatus
		e.Stderr = Tail(res.Stderr, stderrTail)
	}
	return e
}

func (e *ProtocolError) Error() string {
	s := fmt.Sprintf("%s: unreadable script output (%s), exit status %d; the outcome on the host is unknown", e.Script, e.Reason, e.ExitStatus)
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

// ScriptError is a structured "error <code> <message>" from a script that
// stopped before changing anything (code "input": rejected input, "tmp":
// no temporary directory, "awk": a file could not be parsed, "list": the
// sockets could not be listed).
type ScriptError struct {
	Script  string
	Code    string
	Message string
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("%s: %s error: %s", e.Script, e.Code, e.Message)
}

// NewScriptError is the ScriptError of an "error" record.
func NewScriptError(script string, r Record) *ScriptError {
	code, msg := r.Field()
	return &ScriptError{Script: script, Code: code, Message: msg}
}

// Tail is the last n bytes of b, trimmed, with "…" when cut.
func Tail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
