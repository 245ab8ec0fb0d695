package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
)

// demoHeadlines are the steps scripts/demo.sh announces, in order.
var demoHeadlines = []string{
	"A local fleet: 3 hosts, each a network namespace with its own OpenSSH server",
	"The hosts as they are: ephemeral range 40000-40999 (1,000 ports), tcp_tw_reuse = 0",
	"Load: each host's app opens a new connection to Redis (127.0.0.1:6379) per request",
	"tcp_stats: the TIME_WAIT picture, read over SSH in one round trip per host",
	"terraform plan refuses the copy-pasted tcp_tw_recycle = 1 (before touching any host)",
	"terraform plan: the tuning for all 3 hosts",
	"terraform apply: all-or-nothing per host, persisted in /etc/sysctl.d, read back",
	"The same load again, right away: no EADDRNOTAVAIL",
	"tcp_stats after: headroom per destination, and a second plan that changes nothing",
	"terraform destroy: original values back on every host, files removed; fleet removed",
}

var (
	headlineRE = regexp.MustCompile(`(?m)^== (\d+)\. (.*)$`)
	loadRE     = regexp.MustCompile(`(?m)^   web-(\d): (\d+) connects, (\d+) ok, (\d+) failed with EADDRNOTAVAIL`)
	ratioRE    = regexp.MustCompile(`"exhaustion_ratio" = ([0-9.eE+-]+)`)
	fleetUpRE  = regexp.MustCompile(`fleet ([a-z][a-z0-9]+) up \(server pid (\d+)\)`)
)

// TestDemo runs `scripts/demo.sh` (what `make demo` runs after deps and
// build) end to end on its own fleet, with its binaries, terraform working
// directory and fleet state in a temporary directory, so it cannot collide
// with a user's `make demo` (.lab/demo). It checks the story the demo tells
// (EADDRNOTAVAIL before the tuning, none after, tcp_tw_recycle refused,
// original values back after destroy) and that nothing is left behind: no
// namespace, no /etc/netns entry, no fleet server, no state.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo on a test fleet")
	}
	labtest.RequireAcc(t, "end-to-end demo")
	labtest.Require(t)
	tf := terraformBin(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("scripts/demo.sh needs bash")
	}

	tmp := t.TempDir()
	bin, work, stateDir := filepath.Join(tmp, "bin"), filepath.Join(tmp, "work"), filepath.Join(tmp, "lab")
	state := filepath.Join(stateDir, "demo-state.json")
	for _, b := range [][2]string{{"terraform-provider-tcp", "."}, {"tcplab", "./cmd/tcplab"}} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, b[0]), b[1]).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	userWork := filepath.Join(".lab", "demo")
	_, err = os.Stat(userWork)
	userWorkExisted := err == nil

	env := []string{"TCP_DEMO_BIN=" + bin, "TCP_DEMO_WORK=" + work, "TCP_DEMO_STATE=" + state, "TCP_TERRAFORM=" + tf, "KEEP=0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEEP=") && !strings.HasPrefix(kv, "TCP_DEMO_") {
			env = append(env, kv)
		}
	}
	// Whatever happens to the run (a timeout kills the script before its
	// own cleanup), take the fleet down.
	t.Cleanup(func() {
		if _, err := os.Stat(state); err == nil {
			cmd := exec.Command(bash, "scripts/demo.sh", "clean")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("scripts/demo.sh clean: %v\n%s", err, out)
			}
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "scripts/demo.sh")
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	started := time.Now()
	err = cmd.Run()
	elapsed := time.Since(started)
	text := out.String()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("scripts/demo.sh output (%s):\n%s", elapsed.Round(time.Second), text)
		}
	})
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v (after %s)", err, elapsed.Round(time.Second))
	}

	// The headlines, numbered 1..10 in order, and the text under each.
	marks := headlineRE.FindAllStringSubmatchIndex(text, -1)
	var got []string
	section := map[int]string{}
	for i, m := range marks {
		n, _ := strconv.Atoi(text[m[2]:m[3]])
		if n != i+1 {
			t.Errorf("headline %d is numbered %d", i+1, n)
		}
		got = append(got, text[m[4]:m[5]])
		end := len(text)
		if i+1 < len(marks) {
			end = marks[i+1][0]
		}
		section[i+1] = text[m[1]:end]
	}
	if strings.Join(got, "\n") != strings.Join(demoHeadlines, "\n") {
		t.Fatalf("headlines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(demoHeadlines, "\n"))
	}

	m := fleetUpRE.FindStringSubmatch(section[1])
	if m == nil {
		t.Fatalf("no `fleet PREFIX up (server pid N)` under headline 1:\n%s", section[1])
	}
	prefix, serverPID := m[1], m[2]

	// loads parses the three "web-N: A connects, B ok, C failed" lines.
	loads := func(step int) [][3]int {
		var rows [][3]int
		for i, m := range loadRE.FindAllStringSubmatch(section[step], -1) {
			if m[1] != strconv.Itoa(i+1) {
				t.Errorf("step %d: line %d is for web-%s", step, i+1, m[1])
			}
			var r [3]int
			for j := range r {
				r[j], _ = strconv.Atoi(m[j+2])
			}
			rows = append(rows, r)
		}
		if len(rows) != 3 {
			t.Fatalf("step %d: %d load lines, want 3:\n%s", step, len(rows), section[step])
		}
		return rows
	}
	for i, r := range loads(3) {
		// 1,300 connects with 1,000 ephemeral ports and no TIME_WAIT reuse.
		if r[0] != 1300 || r[2] == 0 || r[1]+r[2] != r[0] {
			t.Errorf("before the tuning, web-%d: %d connects, %d ok, %d EADDRNOTAVAIL; want 1300 connects, some EADDRNOTAVAIL, the rest ok", i+1, r[0], r[1], r[2])
		}
	}
	for i, r := range loads(8) {
		if r[0] != 1300 || r[1] != 1300 || r[2] != 0 {
			t.Errorf("after the tuning, web-%d: %d connects, %d ok, %d EADDRNOTAVAIL; want all 1300 ok", i+1, r[0], r[1], r[2])
		}
	}

	// tcp_stats: the ports to Redis run out before, plenty are left after.
	for _, c := range []struct {
		step     int
		min, max float64
	}{{4, 0.8, 1.01}, {9, 0, 0.2}} {
		ratios := ratioRE.FindAllStringSubmatch(section[c.step], -1)
		if len(ratios) != 3 {
			t.Errorf("step %d: %d exhaustion ratios, want 3", c.step, len(ratios))
		}
		for _, r := range ratios {
			if v, err := strconv.ParseFloat(r[1], 64); err != nil || v < c.min || v > c.max {
				t.Errorf("step %d: exhaustion_ratio %s, want %g..%g", c.step, r[1], c.min, c.max)
			}
		}
	}

	for _, c := range []struct {
		step int
		want []string
	}{
		{4, []string{"Outputs:", `"worst_destination" = "127.0.0.1:6379"`, "more than 80% of its usable ephemeral ports",
			`"tw_reuse" = "off"`, `"rate_without_reuse" = 16`, `"port_reuse_ceiling" = 0`}},
		{2, []string{"the default 2 already reuses TIME_WAIT ports for"}},
		{5, []string{"Error: TIME_WAIT Recycling Breaks Clients Behind NAT"}},
		{7, []string{"Apply complete! Resources: 3 added, 0 changed, 0 destroyed.",
			"web-1: range 10000 65001, tw_reuse 1, file 90-tcp-tuning.conf",
			"web-2: range 10000 65001, tw_reuse 1, file 90-tcp-tuning.conf",
			"web-3: range 10000 65001, tw_reuse 1, file 90-tcp-tuning.conf"}},
		// 55,002 ports: 916/s without reuse beside the reuse ceiling,
		// named as such.
		{9, []string{"Outputs:", "recommendations = {", "terraform plan again: No changes",
			`"tw_reuse" = "all destinations"`, `"rate_without_reuse" = 916`, `"port_reuse_ceiling" = 55002`,
			"a theoretical ceiling", `"time_wait_taken_over" = `}},
		{10, []string{"Destroy complete! Resources: 3 destroyed.",
			"web-1: range 40000 40999, tw_reuse 0, files: \n",
			"web-2: range 40000 40999, tw_reuse 0, files: \n",
			"web-3: range 40000 40999, tw_reuse 0, files: \n",
			"Nothing is left running."}},
	} {
		for _, w := range c.want {
			if !strings.Contains(section[c.step], w) {
				t.Errorf("step %d (%s) lacks %q", c.step, demoHeadlines[c.step-1], w)
			}
		}
	}
	if strings.Contains(section[9], "failed with EADDRNOTAVAIL") || strings.Contains(text, "demo failed") {
		t.Error("the demo reported a failure")
	}

	// Nothing left behind.
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		t.Errorf("ip netns list: %v\n%s", err, out)
	} else {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, prefix+"-") {
				t.Errorf("namespace left behind: %s", line)
			}
		}
	}
	for _, pattern := range []string{filepath.Join("/etc/netns", prefix+"-*"), filepath.Join(os.TempDir(), "tcplab-"+prefix+"-*")} {
		if left, _ := filepath.Glob(pattern); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	}
	if b, err := os.ReadFile("/proc/" + serverPID + "/cmdline"); err == nil && bytes.Contains(b, []byte("\x00serve\x00")) {
		t.Errorf("fleet server (pid %s) still running: %q", serverPID, b)
	}
	if _, err := os.Stat(work); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("terraform working directory %s left behind (%v)", work, err)
	}
	if entries, err := os.ReadDir(stateDir); err != nil {
		t.Errorf("state directory: %v", err)
	} else if len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in the state directory: %v", names)
	}
	if _, err := os.Stat(userWork); !userWorkExisted && err == nil {
		t.Errorf("the test touched the user's %s", userWork)
	}
}
