package tcpstats

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// cannedRunner returns one result and records what it was asked.
type cannedRunner struct {
	res   *sshx.Result
	err   error
	stdin []byte
	name  string
	calls int
}

func (c *cannedRunner) Run(_ context.Context, _ sshx.Target, s sshx.Script, stdin []byte) (*sshx.Result, error) {
	c.calls++
	c.stdin, c.name = stdin, s.Name
	return c.res, c.err
}

func goldenOutput(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "root.golden"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCollect(t *testing.T) {
	r := &cannedRunner{res: &sshx.Result{Stdout: []byte(goldenOutput(t))}}
	s, err := Collect(context.Background(), r, sshx.Target{Host: "h"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := "top 3\n"
	for _, k := range Sysctls {
		want += "sysctl " + k + "\n"
	}
	if string(r.stdin) != want || r.name != ScriptName || r.calls != 1 {
		t.Errorf("ran %q with %q", r.name, r.stdin)
	}
	if s.TimeWait != 64 || len(s.TimeWaitByDestination) != 3 || s.KernelRelease == "" {
		t.Errorf("snapshot %+v", s)
	}

	for _, top := range []int{-1, MaxTop + 1} {
		r := &cannedRunner{}
		if _, err := Collect(context.Background(), r, sshx.Target{}, top); err == nil || r.calls != 0 {
			t.Errorf("top %d: err %v, %d runs", top, err, r.calls)
		}
	}

	boom := errors.New("connection lost")
	if _, err := Collect(context.Background(), &cannedRunner{err: boom}, sshx.Target{}, 1); !errors.Is(err, boom) {
		t.Errorf("runner error not passed through: %v", err)
	}

	// A run that died before its end marker is not trusted; the error
	// carries its exit status and stderr.
	_, err = Collect(context.Background(), &cannedRunner{res: &sshx.Result{ExitStatus: 127, Stderr: []byte("sh: awk: not found\n")}}, sshx.Target{}, 1)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.ExitStatus != 127 || pe.Stderr != "sh: awk: not found" {
		t.Errorf("exit status: %v", err)
	}
	// The script's own error record, with "end error" and a non-zero exit.
	_, err = Collect(context.Background(), &cannedRunner{res: &sshx.Result{ExitStatus: 1, Stdout: []byte("tcpstats 1\nerror list socket listing by ss failed (status 1)\nend error\n")}}, sshx.Target{}, 1)
	var se *ScriptError
	if !errors.As(err, &se) || se.Code != "list" || se.Message != "socket listing by ss failed (status 1)" {
		t.Errorf("error record: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := goldenOutput(t)
	tests := []struct {
		name     string
		out      string
		protocol bool // *ProtocolError, else *ScriptError
	}{
		{"truncated", good[:len(good)/2], true},
		{"no end marker", strings.TrimSuffix(good, "end ok\n"), true},
		{"empty", "", true},
		{"after end", good + "tw 5\n", true},
		{"wrong version", strings.Replace(good, "tcpstats 1\n", "tcpstats 2\n", 1), true},
		{"bad count", strings.Replace(good, "tw 64\n", "tw many\n", 1), true},
		{"negative count", strings.Replace(good, "tw 64\n", "tw -1\n", 1), true},
		{"bad address", strings.Replace(good, "twdst 8 ::1 8080", "twdst 8 ::g 8080", 1), true},
		{"bad port", strings.Replace(good, "twlport 4 7000", "twlport 4 70000", 1), true},
		{"no tw line", strings.Replace(good, "tw 64\n", "", 1), true},
		{"bad listen", strings.Replace(good, "listen 6379,", "listen 6379-1,", 1), true},
		{"bad netstat pair", strings.Replace(good, "snmp Tcp: 1 ", "snmp Tcp: ", 1), true},
		{"bad sockstat", strings.Replace(good, "tw 64 alloc", "tw x alloc", 1), true},
		{"error line with end ok", strings.Replace(good, "tw 64\n", "error list socket listing by ss failed (status 1)\n", 1), false},
		{"end error without an error record", strings.Replace(good, "end ok\n", "end error\n", 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.out))
			var pe *ProtocolError
			var se *ScriptError
			if tt.protocol && !errors.As(err, &pe) {
				t.Errorf("want ProtocolError, got %v", err)
			}
			if !tt.protocol && !errors.As(err, &se) {
				t.Errorf("want ScriptError, got %v", err)
			}
		})
	}
	// Unknown records and blank lines are tolerated.
	s, err := Decode([]byte(strings.Replace(good, "tw 64\n", "tw 64\nfuture 1 2 3\n\n", 1)))
	if err != nil || s.TimeWait != 64 {
		t.Errorf("unknown record: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "root.golden"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("tcpstats 1\nsource ss\ntw 0\nend ok\n")
	f.Fuzz(func(t *testing.T, out string) {
		s, err := Decode([]byte(out))
		if err != nil {
			return
		}
		if !strings.Contains(out, "end ok") {
			t.Fatal("decoded without end marker")
		}
		_ = Analyze(s) // must not panic on anything Decode accepts
	})
}

func TestDecodeMergesSpellings(t *testing.T) {
	out := "tcpstats 1\nsource ss\ntw 9\ntwdst 5 2001:db8::2 80\ntwdst 3 10.0.0.1 6379\ntwdst 2 2001:db8:0::2 80\ntwdst 1 ::ffff:10.0.0.9 1\nend ok\n"
	s, err := Decode([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []DestinationCount{{"2001:db8::2", 80, 7}, {"10.0.0.1", 6379, 3}, {"10.0.0.9", 1, 1}}
	if !slices.Equal(s.TimeWaitByDestination, want) {
		t.Errorf("got %v, want %v", s.TimeWaitByDestination, want)
	}
}
