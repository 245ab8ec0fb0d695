package hostops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

func TestValidKey(t *testing.T) {
	for k, want := range map[string]bool{
		"net.ipv4.tcp_tw_reuse":               true,
		"net.core.somaxconn":                  true,
		"net.ipv4.conf.eth-0.rp_filter":       true,
		"net.":                                false,
		"net":                                 false,
		"kernel.pid_max":                      false,
		"vm.swappiness":                       false,
		"net.ipv4/../../kernel/x":             false,
		"net..ipv4":                           false,
		"net.ipv4.":                           false,
		"net.ipv4.tcp_tw_reuse x":             false,
		"net.IPV4.x":                          false,
		"net.ipv4.x;rm":                       false,
		"net.ipv4.$(id)":                      false,
		"net.ipv4.tcp\n":                      false,
		"net.ipv4.conf.eth0/100.rp_filter":    false,
		"net.ipv4.\u00e9":                     false,
		"net.ipv4.tcp_tw_reuse\x00":           false,
		"net.ipv4.tcp_fin_timeout.":           false,
		"net.ipv4.tcp_fin_timeout.-.-":        true,
		"net.ipv4.ip_local_reserved_ports-ok": true,
	} {
		if got := ValidKey(k); got != want {
			t.Errorf("ValidKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestValidPersistPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/etc/sysctl.d/90-tcp-tuning.conf":   true,
		"/etc/sysctl.d/90-web@x+y.conf":      true,
		"etc/sysctl.d/90.conf":               false,
		"/etc/sysctl.d/../passwd.conf":       false,
		"/etc/sysctl.d/.hidden.conf":         false,
		"/etc/sysctl.d//a.conf":              false,
		"/etc/sysctl.d/90 a.conf":            false,
		"/etc/sysctl.d/90-a.conf.bak":        false,
		"/etc/sysctl.d/$(id).conf":           false,
		"/.conf":                             false,
		"/etc/sysctl.d/90-a.conf\n":          false,
		"/etc/sysctl.d/./90-tcp-tuning.conf": false,
	} {
		if got := ValidPersistPath(p); got != want {
			t.Errorf("ValidPersistPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestScriptsRejectBadInput sends raw input that Go would refuse: the
// scripts must refuse it too, change nothing and still end with a marker.
func TestScriptsRejectBadInput(t *testing.T) {
	cases := []struct {
		name   string
		script sshx.Script
		stdin  string
	}{
		{"apply slash", ApplyScript, "owner x\nw net.ipv4/../../../victim 1\nend\n"},
		{"apply dotdot", ApplyScript, "owner x\nw net..ipv4.tcp_tw_reuse 1\nend\n"},
		{"apply trailing dot", ApplyScript, "owner x\nw net.ipv4. 1\nend\n"},
		{"apply kernel key", ApplyScript, "owner x\nw kernel.pid_max 1\nend\n"},
		{"apply upper", ApplyScript, "owner x\nw net.IPV4.tcp_tw_reuse 1\nend\n"},
		{"apply glob", ApplyScript, "owner x\nw net.ipv4.tcp_* 1\nend\n"},
		{"apply dollar", ApplyScript, "owner x\nw net.ipv4.$(touch${IFS}/tmp/x) 1\nend\n"},
		{"apply tab in key", ApplyScript, "owner x\nw net.ipv4.tcp_tw_reuse\t1\nend\n"},
		{"apply bad path", ApplyScript, "owner x\npersist /etc/sysctl.d/../../victim.conf\ncontent\nl x\nend\n"},
		{"apply hidden path", ApplyScript, "owner x\npersist /etc/sysctl.d/.x.conf\ncontent\nl x\nend\n"},
		{"apply content without path", ApplyScript, "owner x\ncontent\nl x\nend\n"},
		{"apply unknown record", ApplyScript, "owner x\nw net.ipv4.tcp_tw_reuse 1\nsudo rm -rf /\nend\n"},
		{"apply truncated", ApplyScript, "owner x\nw net.ipv4.tcp_tw_reuse 1\nw net.ipv4.tcp_fin_timeout 30\n"},
		{"apply truncated mid line", ApplyScript, "owner x\nw net.ipv4.tcp_tw_reuse 1\nw net.ipv4.tcp_fin_timeout 30\nen"},
		{"apply empty", ApplyScript, ""},
		{"apply no owner", ApplyScript, "w net.ipv4.tcp_tw_reuse 1\nend\n"},
		{"apply owner with a space", ApplyScript, "owner a b\nw net.ipv4.tcp_tw_reuse 1\nend\n"},
		{"apply owner with a dollar", ApplyScript, "owner $(touch${IFS}/tmp/x)\nw net.ipv4.tcp_tw_reuse 1\nend\n"},
		{"apply bad from", ApplyScript, "owner x\nfrom ../y\nw net.ipv4.tcp_tw_reuse 1\nend\n"},
		{"apply bad lockwait", ApplyScript, "owner x\nlockwait 1;reboot\nw net.ipv4.tcp_tw_reuse 1\nend\n"},
		{"apply release kernel key", ApplyScript, "owner x\nr kernel.pid_max 1\nend\n"},
		{"delete no owner", DeleteScript, "r net.ipv4.tcp_tw_reuse 0\nend\n"},
		{"delete slash", DeleteScript, "owner x\nr net.ipv4/../../victim 0\nend\n"},
		{"delete truncated", DeleteScript, "owner x\nr net.ipv4.tcp_tw_reuse 0\n"},
		{"delete empty", DeleteScript, ""},
		{"read slash", ReadScript, "key net.ipv4/../../../etc/shadow\nend\n"},
		{"read dotdot", ReadScript, "key net..x\nend\n"},
		{"read bad path", ReadScript, "persist /etc/shadow\nend\n"},
		{"read empty", ReadScript, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forShells(t, func(t *testing.T, sc shellCase) {
				root := fakeRoot(t)
				writeFile(t, filepath.Join(root, "victim"), "v\n")
				res := runRaw(t, sc.runner(root), tc.script, tc.stdin)
				if ll := lastLine(res.Stdout); ll != "end error" || res.ExitStatus != 2 {
					t.Fatalf("last line %q exit %d, want \"end error\" exit 2; stdout:\n%s\nstderr:\n%s", ll, res.ExitStatus, res.Stdout, res.Stderr)
				}
				if !strings.Contains(string(res.Stdout), "error input ") {
					t.Errorf("no error input record:\n%s", res.Stdout)
				}
				if v := procValue(t, root, "net.ipv4.tcp_tw_reuse"); v != "2" {
					t.Errorf("tcp_tw_reuse changed to %q", v)
				}
				if v := procValue(t, root, "net.ipv4.tcp_fin_timeout"); v != "60" {
					t.Errorf("tcp_fin_timeout changed to %q", v)
				}
				if b := readFile(t, filepath.Join(root, "victim")); b != "v\n" {
					t.Errorf("victim changed to %q", b)
				}
				if es := dirEntries(t, filepath.Join(root, "etc/sysctl.d")); len(es) != 0 {
					t.Errorf("sysctl.d holds %v", es)
				}
			})
		})
	}
}

// TestEndMarker: every script ends every run with an end marker whose word
// matches the exit status, including on empty input (no hang).
func TestEndMarker(t *testing.T) {
	cases := []struct {
		script sshx.Script
		stdin  string
		want   string
	}{
		{ReadScript, "end\n", "end ok"},
		{ReadScript, "key net.ipv4.tcp_tw_reuse\nfacts\nend\n", "end ok"},
		{ApplyScript, "owner x\nend\n", "end ok"},
		{ApplyScript, "owner x\nw net.ipv4.tcp_tw_reuse 2\nend\n", "end ok"},
		{ApplyScript, "owner x\nw net.ipv4.nope 2\nend\n", "end error"},
		{DeleteScript, "owner x\nend\n", "end ok"},
		{DeleteScript, "owner x\npersist /etc/sysctl.d/90-x.conf\nr net.ipv4.nope 1\nend\n", "end ok"},
		{ReadScript, "", "end error"},
		{ApplyScript, "", "end error"},
		{DeleteScript, "", "end error"},
	}
	for _, tc := range cases {
		forShells(t, func(t *testing.T, sc shellCase) {
			res := runRaw(t, sc.runner(fakeRoot(t)), tc.script, tc.stdin)
			if ll := lastLine(res.Stdout); ll != tc.want {
				t.Errorf("%s %q: last line %q, want %q\n%s", tc.script.Name, tc.stdin, ll, tc.want, res.Stderr)
			}
			if (res.ExitStatus == 0) != (tc.want == "end ok") {
				t.Errorf("%s %q: exit %d with %q", tc.script.Name, tc.stdin, res.ExitStatus, tc.want)
			}
			if n := strings.Count("\n"+string(res.Stdout), "\nend "); n != 1 {
				t.Errorf("%s: more than one end marker:\n%s", tc.script.Name, res.Stdout)
			}
		})
	}
}

// TestScriptsHaveNoTempLeftovers: apply and delete clean their temp dir.
func TestScriptsHaveNoTempLeftovers(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		tmp := t.TempDir()
		r := sc.runner(fakeRoot(t))
		r.Env = append(append([]string{}, r.Env...), "TMPDIR="+tmp)
		runRaw(t, r, ApplyScript, "owner x\nw net.ipv4.tcp_tw_reuse 1\nend\n")
		runRaw(t, r, ApplyScript, "owner x\nw net.ipv4.nope 1\nend\n")
		runRaw(t, r, DeleteScript, "owner x\nr net.ipv4.tcp_tw_reuse 2\nend\n")
		if es := dirEntries(t, tmp); len(es) != 0 {
			t.Errorf("TMPDIR holds %v", es)
		}
	})
}

// fakeRunner returns a canned result or error.
type fakeRunner struct {
	res *sshx.Result
	err error
}

func (f fakeRunner) Run(context.Context, sshx.Target, sshx.Script, []byte) (*sshx.Result, error) {
	return f.res, f.err
}

func TestProtocolErrors(t *testing.T) {
	ctx := context.Background()
	okApply := "before net.ipv4.tcp_tw_reuse 2\norig net.ipv4.tcp_tw_reuse 2\nwrote net.ipv4.tcp_tw_reuse\nfile none\nrecord written\nend ok\n"
	applyReq := ApplyRequest{Owner: testOwner, Writes: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "1"}}}
	if _, err := Apply(ctx, fakeRunner{res: &sshx.Result{Stdout: []byte(okApply)}}, noTarget, applyReq); err != nil {
		t.Fatalf("well-formed output: %v", err)
	}
	for name, res := range map[string]*sshx.Result{
		"empty":               {},
		"cut before end":      {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\nwrote net.ipv4.tcp_tw_reuse\n")},
		"cut mid line":        {Stdout: []byte(strings.TrimSuffix(okApply, "\n"))},
		"end ok exit 1":       {Stdout: []byte(okApply), ExitStatus: 1},
		"end error exit 0":    {Stdout: []byte("fail net.ipv4.tcp_tw_reuse EINVAL x\nrollback ok\nend error\n")},
		"unknown record":      {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\nbogus\nfile none\nend ok\n")},
		"missing before":      {Stdout: []byte("file none\nend ok\n")},
		"fail without rb":     {Stdout: []byte("fail net.ipv4.tcp_tw_reuse EINVAL x\nend error\n"), ExitStatus: 1},
		"error without fail":  {Stdout: []byte("end error\n"), ExitStatus: 1},
		"marker not last":     {Stdout: []byte("end ok\nfile none\n")},
		"killed (exit 137)":   {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\n"), ExitStatus: 137},
		"stderr only":         {Stderr: []byte("sh: 1: Syntax error"), ExitStatus: 2},
		"fail record with ok": {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\nfail - EIO x\nfile none\nend ok\n")},
		"missing orig":        {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\nwrote net.ipv4.tcp_tw_reuse\nfile none\nrecord written\nend ok\n")},
		"missing record":      {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\norig net.ipv4.tcp_tw_reuse 2\nfile none\nend ok\n")},
		"missing file":        {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\norig net.ipv4.tcp_tw_reuse 2\nrecord written\nend ok\n")},
		"two file records":    {Stdout: []byte("before net.ipv4.tcp_tw_reuse 2\norig net.ipv4.tcp_tw_reuse 2\nfile none\nfile written\nrecord written\nend ok\n")},
	} {
		_, err := Apply(ctx, fakeRunner{res: res}, noTarget, applyReq)
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v (%T), want *ProtocolError", name, err, err)
		}
	}

	// Transport errors pass through unchanged.
	terr := &sshx.Error{Kind: sshx.KindOutcomeUnknown, Host: "root@h:22"}
	if _, err := Apply(ctx, fakeRunner{err: terr}, noTarget, applyReq); err != terr {
		t.Errorf("Apply transport err = %v, want the same *sshx.Error", err)
	}
	if _, err := Read(ctx, fakeRunner{err: terr}, noTarget, ReadRequest{}); err != terr {
		t.Errorf("Read transport err = %v", err)
	}
	if _, err := Delete(ctx, fakeRunner{err: terr}, noTarget, DeleteRequest{Owner: testOwner}); err != terr {
		t.Errorf("Delete transport err = %v", err)
	}

	// A structured script error.
	_, err := Apply(ctx, fakeRunner{res: &sshx.Result{Stdout: []byte("error tmp cannot create a temporary directory\nend error\n"), ExitStatus: 2}}, noTarget, applyReq)
	var se *ScriptError
	if !errors.As(err, &se) || se.Code != "tmp" {
		t.Errorf("err = %v, want *ScriptError tmp", err)
	}

	// Read requires a record for every key.
	_, err = Read(ctx, fakeRunner{res: &sshx.Result{Stdout: []byte("kernel 6.1\nend ok\n")}}, noTarget, ReadRequest{Keys: []string{"net.ipv4.tcp_tw_reuse"}})
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Errorf("Read without key record: err = %v", err)
	}
}

func TestGoRejectsBadRequests(t *testing.T) {
	ctx := context.Background()
	r := fakeRunner{err: errors.New("must not run")}
	bad := []ApplyRequest{
		{Writes: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "1"}}}, // no owner
		{Owner: "Bad Owner", Writes: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "1"}}},
		{Owner: testOwner, From: "-x", Writes: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "1"}}},
		{Owner: testOwner, Release: []Write{{Key: "kernel.pid_max", Value: "1"}}},
		{Writes: []Write{{Key: "kernel.pid_max", Value: "1"}}},
		{Writes: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "1\nw net.ipv4.tcp_fin_timeout 1"}}},
		{Writes: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "1", Expect: "1\n"}}},
		{PersistPath: "/etc/sysctl.d/../x.conf", FileContent: ptr("x")},
		{PersistPath: "/etc/sysctl.d/a.conf", FileContent: ptr("x\x00")},
		{PersistPath: "/etc/sysctl.d/a.conf", FileContent: ptr("x"), RemoveFile: true},
		{FileContent: ptr("x")},
	}
	for i, req := range bad {
		if i > 2 && req.Owner == "" {
			req.Owner = testOwner
		}
		if _, err := Apply(ctx, r, noTarget, req); err == nil || err.Error() == "must not run" {
			t.Errorf("Apply(%+v) = %v, want a validation error", req, err)
		}
	}
	if _, err := Read(ctx, r, noTarget, ReadRequest{Keys: []string{"net.ipv4/x"}}); err == nil || err.Error() == "must not run" {
		t.Errorf("Read with a bad key = %v", err)
	}
	if _, err := Delete(ctx, r, noTarget, DeleteRequest{Owner: testOwner, PersistPath: "relative.conf"}); err == nil || err.Error() == "must not run" {
		t.Errorf("Delete with a bad path = %v", err)
	}
}

func TestRenderFile(t *testing.T) {
	got := RenderFile("# marker", "web", map[string]string{
		"net.ipv4.tcp_tw_reuse":        "1",
		"net.core.somaxconn":           "8192",
		"net.ipv4.ip_local_port_range": "10000 65001",
		"net.ipv4.evil":                "1\nkernel.pid_max = 2",
	}, nil)
	want := "# marker\n# name: web\n" +
		"net.core.somaxconn = 8192\n" +
		"net.ipv4.evil = 1 kernel.pid_max = 2\n" +
		"net.ipv4.ip_local_port_range = 10000 65001\n" +
		"net.ipv4.tcp_tw_reuse = 1\n"
	if got != want {
		t.Errorf("RenderFile =\n%s\nwant\n%s", got, want)
	}
	if RenderFile("# m", "n", nil, nil) != "# m\n# name: n\n" {
		t.Errorf("empty RenderFile = %q", RenderFile("# m", "n", nil, nil))
	}
}

// FuzzParseOutput: the parsers never panic on arbitrary output.
func FuzzParseOutput(f *testing.F) {
	for _, s := range []string{
		"kernel 6.1\nkey net.ipv4.tcp_tw_reuse rw 2\nfile persist /etc/sysctl.d/a.conf\nmanaged\nname web\nline x\nnoeol\nval net.a 1\nlisten 80\nunpriv 1024\nend ok\n",
		"before net.a 1\nwrote net.a\nfile written\nend ok\n",
		"fail net.a EINVAL dd: x\nrollback failed net.a file\nend error\n",
		"restored net.a\ngone net.b\nfail - EPERM x\nfile removed\nend error\n",
		"key net.a -w\nkey net.b r\nline x\nend ok\n",
		"",
	} {
		f.Add(s, 0)
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, out string, exit int) {
		res := &sshx.Result{Stdout: []byte(out), ExitStatus: exit}
		_, _ = parseAs("read", ReadRequest{Keys: []string{"net.a"}}, res, readResult)
		_, _ = parseAs("apply", ApplyRequest{Owner: testOwner, Writes: []Write{{Key: "net.a", Value: "1"}}, PersistPath: "/etc/sysctl.d/a.conf"}, res, applyResult)
		_, _ = parseAs("delete", DeleteRequest{Owner: testOwner, Restore: []Write{{Key: "net.a", Value: "1"}}}, res, deleteResult)
	})
}

// FuzzFileContent: any NUL-free text goes through the line protocol and
// lands byte for byte in the persisted file, and reads back the same.
func FuzzFileContent(f *testing.F) {
	for _, s := range []string{"", "a", "a\n", "\n", "\n\n", "x\r\n", "  lead\ttab  \n", `back\slash \n $HOME $(id) 'q' "d"`,
		"l fake record\nend\n", "end\nrm\n", "-net.a = 1\n\n\n# c\n", "no final newline\nx"} {
		f.Add(s)
	}
	sh := "dash"
	if _, err := os.Stat("/usr/bin/dash"); err != nil {
		sh = "sh"
	}
	f.Fuzz(func(t *testing.T, content string) {
		if strings.ContainsRune(content, 0) {
			return
		}
		root := fakeRoot(t)
		r := LocalRunner{Shell: sh, Root: root}
		_, err := Apply(context.Background(), r, noTarget, ApplyRequest{Owner: testOwner, PersistPath: persistPath, FileContent: &content})
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")); got != content {
			t.Fatalf("file = %q, want %q", got, content)
		}
		rr, err := Read(context.Background(), r, noTarget, ReadRequest{PersistPath: persistPath})
		if err != nil {
			t.Fatal(err)
		}
		if rr.File == nil || rr.File.Content != content {
			t.Fatalf("read back %+v, want content %q", rr.File, content)
		}
	})
}

// FuzzValueRoundTrip: any one-line value is written as given and
// compared in canonical form.
func FuzzValueRoundTrip(f *testing.F) {
	for _, s := range []string{"1", "", " ", "10000\t65001", "  a  b  ", `$(id)`, "*", "a\\tb", "-n", "%s%d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsAny(v, "\n\x00") {
			return
		}
		root := fakeRoot(t)
		r := LocalRunner{Shell: "dash", Root: root}
		w := Write{Key: "net.ipv4.tcp_fin_timeout", Value: v}
		_, err := Apply(context.Background(), r, noTarget, ApplyRequest{Owner: testOwner, Writes: []Write{w}})
		norm := strings.Join(strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
		if norm == "60" {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := procValue(t, root, w.Key); got != v {
			t.Fatalf("proc file = %q, want %q", got, v)
		}
	})
}

// The SSH pool is a Runner.
var _ Runner = (*sshx.Pool)(nil)

func TestRenderFileOriginalsRoundTrip(t *testing.T) {
	orig := map[string]string{"net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768 60999", "net.ipv4.ip_local_reserved_ports": ""}
	content := RenderFile(DefaultMarker, "web", map[string]string{"net.ipv4.tcp_tw_reuse": "1"}, orig)
	if !strings.HasPrefix(content, DefaultMarker+"\n# name: web\n# original: net.ipv4.ip_local_port_range = 32768 60999\n") {
		t.Errorf("RenderFile with originals =\n%s", content)
	}
	if !strings.HasSuffix(content, "\nnet.ipv4.tcp_tw_reuse = 1\n") {
		t.Errorf("settings must follow the comments:\n%s", content)
	}
	got := ParseOriginals(content)
	if !reflect.DeepEqual(got, orig) {
		t.Errorf("ParseOriginals = %#v, want %#v", got, orig)
	}
	if len(ParseOriginals("net.ipv4.tcp_tw_reuse = 1\n# original: bad/key = 1\n")) != 0 {
		t.Error("ParseOriginals accepted a non-comment or an invalid key")
	}
}

// TestDeleteResultMustAccountForEveryKey: a delete whose output ends with a
// well-formed success marker but does not account for every key asked
// about, or for the file, is "outcome unknown", never success.
func TestDeleteResultMustAccountForEveryKey(t *testing.T) {
	ctx := context.Background()
	req := DeleteRequest{Owner: testOwner, PersistPath: "/etc/sysctl.d/90-tcp-tuning.conf", Marker: DefaultMarker,
		Restore: []Write{{Key: "net.ipv4.tcp_tw_reuse", Value: "2"}, {Key: "net.ipv4.tcp_fin_timeout", Value: "60"}}}
	ok := "restored net.ipv4.tcp_tw_reuse\nsame net.ipv4.tcp_fin_timeout\nfile removed\nrecord written\nend ok\n"
	if _, err := Delete(ctx, fakeRunner{res: &sshx.Result{Stdout: []byte(ok)}}, noTarget, req); err != nil {
		t.Fatalf("well-formed output: %v", err)
	}
	for name, out := range map[string]string{
		"only the marker":      "end ok\n",
		"a key missing":        "restored net.ipv4.tcp_tw_reuse\nfile removed\nrecord written\nend ok\n",
		"a key twice":          "restored net.ipv4.tcp_tw_reuse\nsame net.ipv4.tcp_tw_reuse\nsame net.ipv4.tcp_fin_timeout\nfile removed\nrecord written\nend ok\n",
		"no file record":       "restored net.ipv4.tcp_tw_reuse\nsame net.ipv4.tcp_fin_timeout\nrecord written\nend ok\n",
		"file none for a path": "restored net.ipv4.tcp_tw_reuse\nsame net.ipv4.tcp_fin_timeout\nfile none\nrecord written\nend ok\n",
		"no record record":     "restored net.ipv4.tcp_tw_reuse\nsame net.ipv4.tcp_fin_timeout\nfile removed\nend ok\n",
		"a bad key":            "restored net.ipv4.tcp_tw_reuse\nsame net.ipv4.tcp_fin_timeout\nsame ../x\nfile removed\nrecord written\nend ok\n",
	} {
		_, err := Delete(ctx, fakeRunner{res: &sshx.Result{Stdout: []byte(out)}}, noTarget, req)
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v (%T), want *ProtocolError (outcome unknown)", name, err, err)
		}
	}
}
