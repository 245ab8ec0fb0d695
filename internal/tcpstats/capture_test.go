package tcpstats

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// goldenReserved is the ip_local_reserved_ports of the captured namespace.
const goldenReserved = "50000-50010"

// goldenScale is the churn scale of the captured namespace.
const goldenScale = 40

// TestCaptureGolden regenerates the golden files from this machine's kernel:
// testdata/root (a fake root for stats.sh) and ../procnet/testdata (parser
// goldens), from the churn scenario in a fresh namespace, plus the host's own
// files. Run it with TCPSTATS_CAPTURE=1 go test -run TestCaptureGolden ./internal/tcpstats.
func TestCaptureGolden(t *testing.T) {
	if os.Getenv("TCPSTATS_CAPTURE") != "1" {
		t.Skip("set TCPSTATS_CAPTURE=1 to regenerate golden files")
	}
	requireNetns(t)
	ns := newNetns(t)
	nsWrite(t, ns, "ip_local_reserved_ports", goldenReserved)
	startChurn(t, ns, goldenScale)

	root := filepath.Join("testdata", "root")
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	files := []string{
		"proc/net/tcp", "proc/net/tcp6", "proc/net/sockstat", "proc/net/netstat", "proc/net/snmp",
		"proc/sys/kernel/osrelease",
	}
	for _, k := range []string{"ip_local_port_range", "ip_local_reserved_ports", "tcp_tw_reuse",
		"tcp_tw_reuse_delay", "tcp_timestamps", "tcp_max_tw_buckets", "tcp_fin_timeout"} {
		files = append(files, "proc/sys/net/ipv4/"+k)
	}
	nsRun := func(args ...string) []byte {
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	write := func(path string, data []byte) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		write(filepath.Join(root, f), nsRun("cat", "/"+f))
	}
	pn := filepath.Join("..", "procnet", "testdata")
	write(filepath.Join(pn, "netns-tcp.txt"), nsRun("cat", "/proc/net/tcp"))
	write(filepath.Join(pn, "netns-tcp6.txt"), nsRun("cat", "/proc/net/tcp6"))
	write(filepath.Join(pn, "netns-ss-tan.txt"), nsRun("ss", "-Htan"))
	write(filepath.Join(pn, "netns-ss-tln.txt"), nsRun("ss", "-Htln"))
	write(filepath.Join(pn, "netns-sockstat.txt"), nsRun("cat", "/proc/net/sockstat"))
	for _, f := range []string{"sockstat", "netstat", "snmp", "tcp", "tcp6"} {
		b, err := os.ReadFile("/proc/net/" + f)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join(pn, "host-"+f+".txt"), b)
	}
	out, err := exec.Command("ss", "-Htan").Output()
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(pn, "host-ss-tan.txt"), out)
}
