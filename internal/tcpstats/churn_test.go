package tcpstats

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

// The churn scenario. TestHelperChurn runs it inside a network namespace
// (started by startChurn) and keeps its sockets until its stdin closes.
//
// With scale N it leaves, with tcp_tw_reuse = 0 and the default range:
//
//	listeners: 127.0.0.1:6379, [::1]:8080 (v6only), [::]:9090 (dual stack),
//	           127.0.0.2:7000, 0.0.0.0:40000 (inside the ephemeral range)
//	client-side TIME_WAIT: N to 127.0.0.1:6379 from IPv4 sockets and N/10
//	  from IPv6 sockets through ::ffff:127.0.0.1 (one destination),
//	  N/5 to [::1]:8080, N/10 to 127.0.0.1:9090 (dual-stack listener)
//	server-side TIME_WAIT: N/10 on local port 7000, N/20 on 40000
//	  (listening), one on 50001 (reserved by the test) and one on 1500
//	  (outside the range), both clients bound to fixed ports
//	ESTABLISHED pairs kept open: 3 to 127.0.0.1:6379, 2 to [::1]:8080
type churnCounts struct {
	V4To6379, MappedTo6379, V6To8080, To9090 int // client closes first
	ServerClose7000, ServerClose40000        int // server closes first
	Open6379, Open8080                       int // kept established
}

func churnFor(n int) churnCounts {
	return churnCounts{
		V4To6379: n, MappedTo6379: n / 10, V6To8080: n / 5, To9090: n / 10,
		ServerClose7000: n / 10, ServerClose40000: n / 20,
		Open6379: 3, Open8080: 2,
	}
}

const churnEnv = "TCPSTATS_CHURN_HELPER"

// TestHelperChurn is not a test: it is the churn process, run by startChurn
// inside a network namespace.
func TestHelperChurn(t *testing.T) {
	if os.Getenv(churnEnv) != "1" {
		t.Skip("helper process for the network namespace tests")
	}
	n, err := strconv.Atoi(os.Getenv("TCPSTATS_CHURN_SCALE"))
	if err != nil || n < 20 || n > 20000 {
		fmt.Println("fail: bad TCPSTATS_CHURN_SCALE")
		os.Exit(2)
	}
	keep, err := runChurn(churnFor(n))
	if err != nil {
		fmt.Println("fail:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the sockets until the parent is done
	runtime.KeepAlive(keep)              // open connections must not be finalized (closed) before
	os.Exit(0)
}

type churnServer struct {
	ln          net.Listener
	serverClose bool
	wg          sync.WaitGroup // one per connection expected to finish
	open        []net.Conn
	mu          sync.Mutex
	keep        atomic.Int64 // connections to keep open (accepted first)
}

func listen(network, addr string, serverClose bool) (*churnServer, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	s := &churnServer{ln: ln, serverClose: serverClose}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if s.keep.Add(-1) >= 0 {
				s.mu.Lock()
				s.open = append(s.open, c)
				s.mu.Unlock()
				continue
			}
			go func() {
				defer s.wg.Done()
				if s.serverClose {
					_ = c.Close()
					return
				}
				_, _ = io.Copy(io.Discard, c) // until the client's FIN
				_ = c.Close()
			}()
		}
	}()
	return s, nil
}

// clientClose connects, then closes first.
func clientClose(s *churnServer, network, addr string, local net.Addr) error {
	s.wg.Add(1)
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}
	c, err := d.Dial(network, addr)
	if err != nil {
		s.wg.Done()
		return err
	}
	return c.Close()
}

// serverCloseConn connects and waits for the server's FIN before closing.
func serverCloseConn(s *churnServer, addr string) error {
	s.wg.Add(1)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		s.wg.Done()
		return err
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c)
	_ = c.Close()
	return err
}

// mappedClientClose connects an AF_INET6 socket to ::ffff:127.0.0.1:port
// and closes it first, leaving an IPv4-mapped TIME_WAIT in /proc/net/tcp6.
func mappedClientClose(s *churnServer, port int) error {
	s.wg.Add(1)
	fd, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		s.wg.Done()
		return err
	}
	sa := &syscall.SockaddrInet6{Port: port, Addr: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}}
	if err := syscall.Connect(fd, sa); err != nil {
		_ = syscall.Close(fd)
		s.wg.Done()
		return err
	}
	return syscall.Close(fd)
}

func runChurn(c churnCounts) ([]net.Conn, error) {
	redis, err := listen("tcp4", "127.0.0.1:6379", false)
	if err != nil {
		return nil, err
	}
	v6, err := listen("tcp6", "[::1]:8080", false)
	if err != nil {
		return nil, err
	}
	dual, err := listen("tcp", ":9090", false)
	if err != nil {
		return nil, err
	}
	s7000, err := listen("tcp4", "127.0.0.2:7000", true)
	if err != nil {
		return nil, err
	}
	s40000, err := listen("tcp4", "0.0.0.0:40000", true)
	if err != nil {
		return nil, err
	}
	var keep []net.Conn
	redis.keep.Store(int64(c.Open6379))
	v6.keep.Store(int64(c.Open8080))
	for i := 0; i < c.Open6379; i++ {
		k, err := net.Dial("tcp4", "127.0.0.1:6379")
		if err != nil {
			return nil, err
		}
		keep = append(keep, k)
	}
	for i := 0; i < c.Open8080; i++ {
		k, err := net.Dial("tcp6", "[::1]:8080")
		if err != nil {
			return nil, err
		}
		keep = append(keep, k)
	}
	// Let the kept connections be accepted before the churn starts.
	for i := 0; i < 500 && (redis.keep.Load() > 0 || v6.keep.Load() > 0); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	steps := []struct {
		n  int
		fn func() error
	}{
		{c.V4To6379, func() error { return clientClose(redis, "tcp4", "127.0.0.1:6379", nil) }},
		{c.MappedTo6379, func() error { return mappedClientClose(redis, 6379) }},
		{c.V6To8080, func() error { return clientClose(v6, "tcp6", "[::1]:8080", nil) }},
		{c.To9090, func() error { return clientClose(dual, "tcp4", "127.0.0.1:9090", nil) }},
		{c.ServerClose7000, func() error { return serverCloseConn(s7000, "127.0.0.2:7000") }},
		{c.ServerClose40000, func() error { return serverCloseConn(s40000, "127.0.0.1:40000") }},
		{1, func() error {
			return clientClose(redis, "tcp4", "127.0.0.1:6379", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50001})
		}},
		{1, func() error {
			return clientClose(redis, "tcp4", "127.0.0.1:6379", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1500})
		}},
	}
	for _, st := range steps {
		for i := 0; i < st.n; i++ {
			if err := st.fn(); err != nil {
				return nil, err
			}
		}
	}
	done := make(chan struct{})
	go func() {
		for _, s := range []*churnServer{redis, v6, dual, s7000, s40000} {
			s.wg.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("server handlers did not finish")
	}
	// The last FINs and ACKs on loopback: wait until nothing is closing.
	if n := lab.SettleClosing(nil, 10*time.Second); n != 0 {
		return nil, fmt.Errorf("%d sockets still closing after 10 s", n)
	}
	return keep, nil
}

// --- network namespace plumbing for tests ---

var nsSeq atomic.Int64

// requireNetns skips unless the test can create network namespaces.
func requireNetns(t testing.TB) {
	t.Helper()
	testenv.SkipShort(t)
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "needs root to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.Unavailable(t, "needs iproute2's ip")
	}
}

// newNetns creates a network namespace with lo up and tcp_tw_reuse = 0 (so
// every churned connection leaves its own TIME_WAIT) and deletes it in
// t.Cleanup.
func newNetns(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("tcpstats-%d-%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	nsWrite(t, name, "tcp_tw_reuse", "0")
	return name
}

// nsWrite writes net.ipv4.<key> inside the namespace (never outside one).
func nsWrite(t testing.TB, ns, key, value string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "tee", "/proc/sys/net/ipv4/"+key)
	cmd.Stdin = strings.NewReader(value + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("set %s in %s: %v: %s", key, ns, err, out)
	}
}

// startChurn runs the churn scenario inside ns and returns once its sockets
// are in place; they stay until the test ends.
func startChurn(t testing.TB, ns string, scale int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHelperChurn$", "-test.count=1")
	cmd.Env = append(os.Environ(), churnEnv+"=1", "TCPSTATS_CHURN_SCALE="+strconv.Itoa(scale))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
		cancel()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return
		}
		if strings.HasPrefix(line, "fail") {
			t.Fatalf("churn helper: %s", line)
		}
	}
	t.Fatalf("churn helper ended without ready")
}
