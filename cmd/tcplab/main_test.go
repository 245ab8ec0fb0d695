package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
)

// cliEnv makes the test binary act as tcplab when `up` re-executes itself
// as `serve`.
const cliEnv = "TCPLAB_CLI_TEST"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" && len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-test.") {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"bogus"}, 2},
		{[]string{"help"}, 0},
		{[]string{"exec"}, 2},
		{[]string{"churn", "-host"}, 2},
		{[]string{"churn", "-state", "/nonexistent"}, 2},
		{[]string{"down", "-state", filepath.Join(t.TempDir(), "none.json")}, 0},
		{[]string{"status", "-state", filepath.Join(t.TempDir(), "none.json")}, 1},
	} {
		if got := run(tc.args); got != tc.code {
			t.Errorf("run(%q) = %d, want %d", tc.args, got, tc.code)
		}
	}
}

func TestPickHost(t *testing.T) {
	s := lab.State{Prefix: "tlx", Hosts: []lab.StateHost{{Name: "tlx-1"}, {Name: "tlx-2"}}}
	for sel, want := range map[string]string{"1": "tlx-1", "2": "tlx-2", "tlx-2": "tlx-2", "0": "", "3": "", "tlx-9": ""} {
		h, err := pickHost(s, sel)
		if (want == "") != (err != nil) || h.Name != want {
			t.Errorf("pickHost(%q) = %q, %v; want %q", sel, h.Name, err, want)
		}
	}
}

func TestUpStatusDown(t *testing.T) {
	labtest.Require(t)
	t.Setenv(cliEnv, "1")
	state := filepath.Join(t.TempDir(), "run", "state.json")
	t.Cleanup(func() {
		if s, err := lab.ReadState(state); err == nil {
			_ = teardown(state, s)
		}
	})
	if code := run([]string{"up", "-n", "2", "-bastion", "-state", state}); code != 0 {
		log, _ := os.ReadFile(sidePath(state, ".log"))
		t.Fatalf("up: exit %d; log:\n%s", code, log)
	}
	s, err := lab.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Hosts) != 2 || s.Bastion == nil || s.Hosts[1].Name != s.Prefix+"-2" || s.Hosts[0].Addr == "" {
		t.Fatalf("state: %+v", s)
	}
	for _, p := range []string{s.KnownHostsFile, s.ClientKeyFile, sidePath(state, ".pid")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if !serverAlive(s) {
		t.Fatalf("server %d not running", s.PID)
	}
	if code := run([]string{"up", "-n", "1", "-state", state}); code != 1 {
		t.Errorf("second up on the same state: exit %d, want 1", code)
	}
	if code := run([]string{"status", "-state", state}); code != 0 {
		t.Errorf("status: exit %d", code)
	}
	if code := run([]string{"exec", "-state", state, "-host", "2", "--", "test", "-d", "/etc/sysctl.d"}); code != 0 {
		t.Errorf("exec: exit %d", code)
	}
	if code := run([]string{"exec", "-state", state, "-host", "2", "--", "sh", "-c", "exit 3"}); code != 3 {
		t.Errorf("exec exit status not passed on: %d", code)
	}
	if code := run([]string{"exec", "-state", state, "-host", "7", "--", "true"}); code != 2 {
		t.Errorf("exec on a missing host: exit %d, want 2", code)
	}
	if code := run([]string{"churn", "-state", state, "-host", s.Hosts[0].Name, "-n", "50", "-client-closes", "-port", "6400"}); code != 0 {
		t.Errorf("churn: exit %d", code)
	}
	out, err := exec.Command("ip", "netns", "exec", s.Hosts[0].Name, "ss", "-Htan", "state", "time-wait", "dst", "127.0.0.1:6400").Output()
	if err != nil || strings.Count(string(out), "\n") < 50 {
		t.Errorf("churn left %d TIME_WAIT sockets in host 1 (%v), want 50", strings.Count(string(out), "\n"), err)
	}
	// The exhaustion scenario in host 2: 100 ports, 150 connections.
	if code := run([]string{"exhaust", "-state", state, "-host", "2", "-port", "6401", "-low", "40000", "-high", "40099", "-extra", "50"}); code != 0 {
		t.Errorf("exhaust: exit %d", code)
	}
	if b, err := exec.Command("ip", "netns", "exec", s.Hosts[1].Name, "cat", "/proc/sys/net/ipv4/ip_local_port_range").Output(); err != nil || strings.TrimSpace(string(b)) != "40000\t40099" {
		t.Errorf("after exhaust, host 2's ip_local_port_range = %q (%v), want 40000<TAB>40099", b, err)
	}
	out, err = exec.Command("ip", "netns", "exec", s.Hosts[1].Name, "ss", "-Htan", "state", "time-wait", "dst", "127.0.0.1:6401").Output()
	if n := strings.Count(string(out), "\n"); err != nil || n < 95 || n > 100 {
		t.Errorf("exhaust left %d TIME_WAIT sockets in host 2 (%v), want about one per port: 100", n, err)
	}
	if code := run([]string{"down", "-state", state}); code != 0 {
		t.Fatalf("down: exit %d", code)
	}
	assertGone(t, state, s)

	// A crashed server: down still removes everything.
	if code := run([]string{"up", "-n", "1", "-bastion", "-state", state}); code != 0 {
		t.Fatalf("up again: exit %d", code)
	}
	s, err = lab.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(s.PID, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for serverAlive(s) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if code := run([]string{"status", "-state", state}); code != 1 {
		t.Errorf("status of a crashed fleet: exit %d, want 1", code)
	}
	if code := run([]string{"down", "-state", state}); code != 0 {
		t.Fatalf("down after crash: exit %d", code)
	}
	assertGone(t, state, s)
}

func assertGone(t *testing.T, state string, s lab.State) {
	t.Helper()
	list, _ := exec.Command("ip", "netns", "list").Output()
	for _, h := range s.Hosts {
		if strings.Contains(string(list), h.Name) {
			t.Errorf("namespace %s survived", h.Name)
		}
		if _, err := os.Stat(filepath.Join("/etc/netns", h.Name)); !os.IsNotExist(err) {
			t.Errorf("/etc/netns/%s survived", h.Name)
		}
	}
	for _, p := range []string{state, sidePath(state, ".pid"), s.Dir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived", p)
		}
	}
	if s.BastionPID > 0 {
		deadline := time.Now().Add(3 * time.Second)
		for syscall.Kill(s.BastionPID, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(s.BastionPID) + "/cmdline"); err == nil && len(b) > 0 {
			t.Errorf("bastion sshd %d survived: %q", s.BastionPID, b)
		}
	}
}
