package hostscript_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/hostscript"
	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
	"github.com/tcptune/terraform-provider-tcp/internal/rules"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
	"github.com/tcptune/terraform-provider-tcp/internal/tcpstats"
	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		res    *sshx.Result
		ok     bool
		recs   int
		reason string // "" = parsed
	}{
		{"ok", &sshx.Result{Stdout: []byte("kernel 6.1\nkey net.a r- 1\nend ok\n")}, true, 2, ""},
		{"error", &sshx.Result{Stdout: []byte("error input bad\nend error\n"), ExitStatus: 2}, false, 1, ""},
		{"blank line is a record", &sshx.Result{Stdout: []byte("a 1\n\nend ok\n")}, true, 2, ""},
		{"nil", nil, false, 0, "no result"},
		{"empty", &sshx.Result{ExitStatus: 127, Stderr: []byte("sh: awk: not found")}, false, 0, "no output"},
		{"no final newline", &sshx.Result{Stdout: []byte("a 1\nend ok")}, false, 0, "output cut short (no final newline)"},
		{"cut short", &sshx.Result{Stdout: []byte("a 1\nb 2\n")}, false, 0, "missing end marker"},
		{"ok with exit 1", &sshx.Result{Stdout: []byte("end ok\n"), ExitStatus: 1}, false, 0, "end ok with a non-zero exit status"},
		{"error with exit 0", &sshx.Result{Stdout: []byte("end error\n")}, false, 0, "end error with exit status 0"},
		{"two ends", &sshx.Result{Stdout: []byte("end ok\nend ok\n")}, false, 0, "end marker before the last line"},
		{"old stats ending", &sshx.Result{Stdout: []byte("tcpstats 1\nend tcpstats\n")}, false, 0, "missing end marker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := hostscript.Parse("s", tt.res)
			if tt.reason != "" {
				var pe *hostscript.ProtocolError
				if !errors.As(err, &pe) || pe.Reason != tt.reason || pe.Script != "s" {
					t.Fatalf("got %v, want a ProtocolError %q", err, tt.reason)
				}
				if tt.res != nil && (pe.ExitStatus != tt.res.ExitStatus || pe.Stderr != strings.TrimSpace(string(tt.res.Stderr))) {
					t.Errorf("exit status and stderr not kept: %+v", pe)
				}
				return
			}
			if err != nil || out.OK != tt.ok || len(out.Records) != tt.recs {
				t.Fatalf("got %+v, %v; want ok %v with %d records", out, err, tt.ok, tt.recs)
			}
		})
	}
	out, err := hostscript.Parse("s", &sshx.Result{Stdout: []byte("key net.a r- 1 2\nerror input bad key\nend error\n"), ExitStatus: 2})
	if err != nil {
		t.Fatal(err)
	}
	if k, v := out.Records[0].Field(); k != "net.a" || v != "r- 1 2" {
		t.Errorf("Field: %q %q", k, v)
	}
	rec, ok := out.Error()
	se := hostscript.NewScriptError("s", rec)
	if !ok || se.Code != "input" || se.Message != "bad key" {
		t.Errorf("error record: %+v %v", se, ok)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	if got := hostscript.Tail([]byte("  abcdef \n"), 3); got != "…def" {
		t.Errorf("Tail: %q", got)
	}
	if got := hostscript.Tail([]byte("ab\n"), 3); got != "ab" {
		t.Errorf("Tail: %q", got)
	}
}

// TestPreludeCarriesTheGoFacts runs the prelude under every shell and
// compares what each fact variable holds with the Go source it comes from:
// the catalogue's default port range, the boot directories of the rules,
// procnet's state names.
func TestPreludeCarriesTheGoFacts(t *testing.T) {
	var ss []string
	for _, p := range procnet.SSStates {
		ss = append(ss, p[0], p[1])
	}
	var codes []string
	for c := 1; c <= 12; c++ {
		codes = append(codes, procnet.StateName(uint8(c)))
	}
	want := map[string]string{
		"DEF_PORT_LO": "32768",
		"DEF_PORT_HI": "60999",
		"BOOT_DIRS":   strings.Join(rules.BootDirs, " "),
		"SYSCTL_CONF": rules.SysctlConf,
		"PROC_STATES": strings.Join(codes, " "),
		"SS_STATES":   strings.Join(ss, " "),
	}
	if r := catalog.DefaultPortRange; r.String() != want["DEF_PORT_LO"]+" "+want["DEF_PORT_HI"] {
		t.Fatalf("catalog default range %s", r)
	}
	if len(hostscript.Facts()) != len(want) {
		t.Fatalf("Facts has %d entries, the test knows %d", len(hostscript.Facts()), len(want))
	}
	var prog strings.Builder
	for _, f := range hostscript.Facts() {
		prog.WriteString("printf '%s=%s\\n' " + f[0] + ` "$` + f[0] + `"` + "\n")
	}
	s := hostscript.New("facts", prog.String()+"end_output ok 0\n")
	for _, sh := range testenv.Shells(t) {
		r := hostscript.LocalRunner{Shell: strings.Join(sh.Argv, " ")}
		if sh.PATH != "" {
			r.Env = []string{"PATH=" + sh.PATH}
		}
		res, err := r.Run(context.Background(), sshx.Target{}, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := hostscript.Parse(s.Name, res)
		if err != nil || !out.OK {
			t.Fatalf("%s: %v %s", sh.Name, err, res.Stderr)
		}
		for _, rec := range out.Records {
			line := rec.Op
			if rec.Rest != "" {
				line += " " + rec.Rest
			}
			name, value, _ := strings.Cut(line, "=")
			if want[name] != value {
				t.Errorf("%s: %s = %q, want %q", sh.Name, name, value, want[name])
			}
		}
	}
}

// TestScriptsUseThePrelude: every script starts with the prelude, ends its
// output the same way, and carries no copy of a fact or helper the prelude
// defines.
func TestScriptsUseThePrelude(t *testing.T) {
	copies := []string{"32768", "60999", "/usr/lib/sysctl.d", "/run/sysctl.d", "ESTABLISHED", "TIME-WAIT",
		"function hex(", "LC_ALL=C", "end tcpstats", "printf 'end ", `echo "error`}
	for _, s := range []sshx.Script{hostops.ReadScript, hostops.ApplyScript, hostops.DeleteScript, tcpstats.Script()} {
		body, ok := strings.CutPrefix(s.Body, hostscript.Prelude())
		if !ok {
			t.Errorf("%s does not start with the prelude", s.Name)
			continue
		}
		if !strings.Contains(body, "end_output ") {
			t.Errorf("%s never ends its output with end_output", s.Name)
		}
		for _, c := range copies {
			if strings.Contains(body, c) {
				t.Errorf("%s carries its own %q", s.Name, c)
			}
		}
	}
	if n := strings.Count(hostscript.Prelude(), "function hex("); n != 1 {
		t.Errorf("the prelude defines hex %d times", n)
	}
}
