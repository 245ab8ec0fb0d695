package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
)

// WorkerEnv, set to "1" in the environment of a program whose first
// argument is "churn", "exhaust" or "listen", asks that program to act as the
// churn worker (WorkerMain): Host.Churn and Host.Listen re-execute the
// current program (a test binary, unless TcplabBin or $TCPLAB_BIN names
// cmd/tcplab) inside a host's namespace, so nothing has to be built. A
// program opts in by calling WorkerArgs first (labtest.Main does, for test
// binaries); importing this package changes nothing.
const WorkerEnv = "TCPLAB_LAB_WORKER"

// WorkerArgs returns the worker's arguments (command first) when this
// process was started as the churn worker (see WorkerEnv).
func WorkerArgs() ([]string, bool) {
	if os.Getenv(WorkerEnv) != "1" || len(os.Args) < 2 {
		return nil, false
	}
	switch os.Args[1] {
	case "churn", "listen", "exhaust":
		return os.Args[1:], true
	}
	return nil, false
}

// ChurnOptions bounds one churn run.
type ChurnOptions struct {
	// Addr is the address the listener binds and the client dials
	// ("" = 127.0.0.1).
	Addr string
	// Port is the listening port (0 = any free port; see ChurnResult.Port).
	Port int
	// N is the number of connections to open and close (1..1,000,000).
	N int
	// ClientCloses makes the client close first, so TIME_WAIT builds on the
	// client side, one socket per connection to Addr:Port (the per-destination
	// case). Otherwise the server closes first and TIME_WAIT sits on the
	// server's local port.
	ClientCloses bool
	// Rate paces connection attempts (per second); 0 = as fast as possible.
	Rate float64
	// Timeout bounds the whole run (default 60 s); attempts stop when it
	// expires and the result says TimedOut.
	Timeout time.Duration
	// Workers is the number of concurrent connecting goroutines (default 1).
	Workers int
}

// ChurnResult is what a churn run did.
type ChurnResult struct {
	Addr      string `json:"addr"`
	Port      int    `json:"port"`
	Attempted int    `json:"attempted"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	// EADDRNOTAVAIL counts connect() failures for lack of a local port
	// ("Cannot assign requested address"); they are included in Failed.
	EADDRNOTAVAIL int  `json:"eaddrnotavail"`
	TimedOut      bool `json:"timed_out"`
	// Unsettled counts this run's sockets still closing (FIN_WAIT1,
	// FIN_WAIT2, LAST_ACK, …) when RunChurn gave up waiting for them after
	// 5 s; normally 0, and then the TIME_WAIT picture is complete.
	Unsettled  int           `json:"unsettled"`
	FirstError string        `json:"first_error,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
}

func (o *ChurnOptions) normalize() error {
	if o.Addr == "" {
		o.Addr = "127.0.0.1"
	}
	if net.ParseIP(o.Addr) == nil {
		return fmt.Errorf("churn: address %q is not an IP address", o.Addr)
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("churn: port %d out of range", o.Port)
	}
	if o.N < 1 || o.N > 1_000_000 {
		return fmt.Errorf("churn: n = %d, want 1..1000000", o.N)
	}
	if o.Rate < 0 {
		return fmt.Errorf("churn: rate %v must not be negative", o.Rate)
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Timeout > time.Hour {
		return fmt.Errorf("churn: timeout %v longer than 1h", o.Timeout)
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Workers > 256 {
		return fmt.Errorf("churn: workers = %d, want at most 256", o.Workers)
	}
	return nil
}

// RunChurn runs the churn in the current network namespace: it listens on
// Addr:Port and opens and closes N connections to it. Connection failures
// are counted in the result, not returned; the error is for bad options or
// a listener that cannot be opened.
func RunChurn(ctx context.Context, o ChurnOptions) (ChurnResult, error) {
	if err := o.normalize(); err != nil {
		return ChurnResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(o.Addr), Port: o.Port})
	if err != nil {
		return ChurnResult{}, fmt.Errorf("churn: listen: %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port //nolint:forcetypeassert // ListenTCP's address is a *net.TCPAddr
	res := ChurnResult{Addr: o.Addr, Port: port}

	// Server: with ClientCloses wait for the client's FIN, then close;
	// otherwise close at once (server-side TIME_WAIT).
	var handled atomic.Int64
	var srv sync.WaitGroup
	srv.Add(1)
	go func() {
		defer srv.Done()
		acceptChurn(ln, o.ClientCloses, &handled)
	}()

	start := time.Now()
	target := net.JoinHostPort(o.Addr, strconv.Itoa(port))
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			churnWorker(ctx, o, start, target, &next, &mu, &res)
		}()
	}
	wg.Wait()
	res.TimedOut = ctx.Err() != nil && res.Attempted < o.N
	// Let the server finish closing (bounded).
	settle := time.Now().Add(5 * time.Second)
	for handled.Load() < int64(res.Succeeded) && time.Now().Before(settle) {
		time.Sleep(2 * time.Millisecond)
	}
	_ = ln.Close()
	srv.Wait()
	// Every close() has returned; wait until no socket of this churn is
	// still closing, so the TIME_WAIT picture is complete when we return.
	res.Unsettled = SettleClosing(func(s procnet.Socket) bool {
		return int(s.Local.Port()) == port || int(s.Remote.Port()) == port
	}, 5*time.Second)
	res.Elapsed = time.Since(start)
	return res, nil
}

// acceptChurn accepts connections until ln is closed. With clientCloses it
// waits for the client's FIN, then closes; otherwise it closes at once
// (server-side TIME_WAIT). handled counts the connections closed.
func acceptChurn(ln *net.TCPListener, clientCloses bool, handled *atomic.Int64) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		if !clientCloses {
			_ = c.Close()
			handled.Add(1)
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
			handled.Add(1)
		}()
	}
}

// churnWorker makes connection number i = next++ while i < o.N, paced by
// o.Rate from start, until ctx ends, and adds each outcome to res under mu.
func churnWorker(ctx context.Context, o ChurnOptions, start time.Time, target string, next *atomic.Int64, mu *sync.Mutex, res *ChurnResult) {
	d := net.Dialer{Timeout: 5 * time.Second}
	for {
		i := next.Add(1) - 1
		if i >= int64(o.N) {
			return
		}
		if o.Rate > 0 {
			waitUntil(ctx, start.Add(time.Duration(float64(i)/o.Rate*float64(time.Second))))
		}
		if ctx.Err() != nil {
			return
		}
		err := churnOne(ctx, &d, target, o.ClientCloses)
		mu.Lock()
		res.add(err)
		mu.Unlock()
	}
}

// waitUntil sleeps until due or until ctx ends.
func waitUntil(ctx context.Context, due time.Time) {
	if w := time.Until(due); w > 0 {
		select {
		case <-time.After(w):
		case <-ctx.Done():
		}
	}
}

// add counts one connection attempt's outcome.
func (r *ChurnResult) add(err error) {
	r.Attempted++
	if err == nil {
		r.Succeeded++
		return
	}
	r.Failed++
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		r.EADDRNOTAVAIL++
	}
	if r.FirstError == "" {
		r.FirstError = err.Error()
	}
}

// SettleClosing polls /proc/net/tcp and tcp6 of the calling process's
// network namespace until no socket that match accepts (nil: every socket)
// is in a closing state (FIN_WAIT1, FIN_WAIT2, CLOSING, CLOSE_WAIT,
// LAST_ACK), or until timeout; it returns how many still were (0 =
// settled). After the last close() on loopback the peer's FIN is delivered
// by a softirq that a busy machine may run later, so a TIME_WAIT count
// taken at once can be short of the last few sockets.
func SettleClosing(match func(procnet.Socket) bool, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := closingSockets(match)
		if n == 0 || !time.Now().Before(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func closingSockets(match func(procnet.Socket) bool) int {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			s, err := procnet.ParseProcNetTCPLine(line, binary.NativeEndian)
			if err != nil || (match != nil && !match(s)) {
				continue
			}
			switch s.State {
			case procnet.StateFinWait1, procnet.StateFinWait2, procnet.StateClosing, procnet.StateCloseWait, procnet.StateLastAck:
				n++
			}
		}
	}
	return n
}

// ExhaustOptions describes the exhaustion scenario: one destination, a
// narrow ephemeral range and no TIME_WAIT reuse, so connect() runs out of
// local ports.
type ExhaustOptions struct {
	// Netns names the fleet host's namespace the run must be in (Host.Exhaust
	// sets it): RunExhaust refuses to write anything anywhere else.
	Netns     string
	Addr      string // "" = 127.0.0.1
	Port      int    // destination (listening) port, outside Low..High; required
	Low, High int    // the ip_local_port_range to set (High-Low+1 ports)
	// Extra is how many connections to attempt beyond High-Low+1
	// (default 200): every one of them should fail with EADDRNOTAVAIL.
	Extra   int
	Timeout time.Duration // bound on the run (default 60 s)
}

// RunExhaust runs the exhaustion scenario in the current network namespace:
// it writes net.ipv4.ip_local_port_range = Low High and net.ipv4.tcp_tw_reuse
// = 0 there, then churns High-Low+1+Extra client-closes connections to one
// destination. It refuses to run anywhere but in the fleet host namespace
// e.Netns, so it can never retune the real machine.
func RunExhaust(ctx context.Context, e ExhaustOptions) (ChurnResult, error) {
	if e.Low < 1024 || e.High > 65535 || e.Low > e.High {
		return ChurnResult{}, fmt.Errorf("exhaust: range %d-%d, want 1024 <= low <= high <= 65535", e.Low, e.High)
	}
	if e.Extra <= 0 {
		e.Extra = 200
	}
	if e.Port < 1 || e.Port > 65535 || (e.Port >= e.Low && e.Port <= e.High) {
		return ChurnResult{}, fmt.Errorf("exhaust: destination port %d, want one in 1..65535 outside the range %d-%d", e.Port, e.Low, e.High)
	}
	if err := inFleetNetns(e.Netns); err != nil {
		return ChurnResult{}, fmt.Errorf("exhaust: refusing to change sysctls: %w; run it inside a fleet host (tcplab exhaust -host N)", err)
	}
	for _, kv := range [][2]string{
		{"ip_local_port_range", fmt.Sprintf("%d %d", e.Low, e.High)},
		{"tcp_tw_reuse", "0"},
	} {
		if err := os.WriteFile("/proc/sys/net/ipv4/"+kv[0], []byte(kv[1]+"\n"), 0o644); err != nil {
			return ChurnResult{}, fmt.Errorf("exhaust: set net.ipv4.%s: %w", kv[0], err)
		}
	}
	return RunChurn(ctx, ChurnOptions{Addr: e.Addr, Port: e.Port, N: e.High - e.Low + 1 + e.Extra, ClientCloses: true, Timeout: e.Timeout})
}

// fleetHostRE is how the fleet names a host's namespace: PREFIX-N.
var fleetHostRE = regexp.MustCompile(`^[a-z][a-z0-9]{1,15}-[0-9]+$`)

// inFleetNetns checks that this process runs in the network namespace that
// `ip netns add` made for the fleet host name (bind-mounted at
// /run/netns/NAME) and not in PID 1's, the machine's own.
func inFleetNetns(name string) error {
	if !fleetHostRE.MatchString(name) {
		return fmt.Errorf("%q is not a fleet host's namespace name (PREFIX-N)", name)
	}
	var self, want syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &self); err != nil {
		return err
	}
	if err := syscall.Stat("/run/netns/"+name, &want); err != nil {
		return fmt.Errorf("no namespace %s: %w", name, err)
	}
	if self.Dev != want.Dev || self.Ino != want.Ino {
		return fmt.Errorf("this process is not in namespace %s", name)
	}
	var pid1 syscall.Stat_t
	if syscall.Stat("/proc/1/ns/net", &pid1) == nil && pid1.Dev == self.Dev && pid1.Ino == self.Ino {
		return errors.New("this is the machine's own network namespace")
	}
	return nil
}

// Exhaust runs the exhaustion scenario (RunExhaust) inside the host's
// namespace and returns the churn result: with Low..High = 40000..40499 and
// Extra = 200, 500 connections succeed and 200 fail with EADDRNOTAVAIL.
func (h *Host) Exhaust(ctx context.Context, e ExhaustOptions) (ChurnResult, error) {
	if e.Addr == "" {
		e.Addr = "127.0.0.1"
	}
	if e.Timeout <= 0 {
		e.Timeout = 60 * time.Second
	}
	e.Netns = h.Name
	args := []string{"exhaust",
		"-netns", e.Netns,
		"-addr", e.Addr,
		"-port", strconv.Itoa(e.Port),
		"-low", strconv.Itoa(e.Low),
		"-high", strconv.Itoa(e.High),
		"-extra", strconv.Itoa(e.Extra),
		"-timeout", e.Timeout.String(),
	}
	return h.runWorker(ctx, e.Timeout, args)
}

// churnOne opens one connection and closes it in the requested order.
func churnOne(ctx context.Context, d *net.Dialer, target string, clientCloses bool) error {
	c, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return err
	}
	if clientCloses {
		return c.Close()
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.Copy(io.Discard, c) // wait for the server's FIN
	cerr := c.Close()
	if err != nil {
		return err
	}
	return cerr
}

// WorkerMain implements the worker commands of cmd/tcplab, run inside a
// host's namespace:
//
//	churn  -addr 127.0.0.1 -port 6379 -n 2000 [-client-closes] [-rate 0] [-timeout 60s] [-workers 1]
//	       prints a ChurnResult as JSON on stdout.
//	exhaust -netns NAME -addr 127.0.0.1 -port 6379 -low 40000 -high 40499 [-extra 200] [-timeout 60s]
//	       narrows ip_local_port_range, sets tcp_tw_reuse = 0 and churns
//	       (client closes first) until connect() fails with EADDRNOTAVAIL;
//	       prints a ChurnResult as JSON. Refuses to run anywhere but in
//	       the fleet host namespace NAME.
//	listen -addr 127.0.0.1 -port 6379 [-stdin-eof]
//	       listens (accepting and closing connections), prints {"addr":..,"port":..}
//	       and runs until SIGTERM/SIGINT, or until stdin reaches EOF with -stdin-eof.
//
// It returns the exit status: 0 done, 1 failed, 2 usage.
func WorkerMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: churn|listen [flags]")
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	// printResult prints a run's result as JSON (exit 0) or its error (1).
	printResult := func(res ChurnResult, err error) int {
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	addr := fs.String("addr", "127.0.0.1", "address to listen on and connect to")
	port := fs.Int("port", 0, "listening port (0 = any free port)")
	switch args[0] {
	case "churn":
		var o ChurnOptions
		fs.IntVar(&o.N, "n", 1000, "connections to open and close")
		fs.BoolVar(&o.ClientCloses, "client-closes", false, "client closes first (client-side TIME_WAIT)")
		fs.Float64Var(&o.Rate, "rate", 0, "connections per second (0 = unpaced)")
		fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "bound on the whole run")
		fs.IntVar(&o.Workers, "workers", 1, "concurrent connectors")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		o.Addr, o.Port = *addr, *port
		return printResult(RunChurn(context.Background(), o))
	case "exhaust":
		var e ExhaustOptions
		fs.StringVar(&e.Netns, "netns", "", "the fleet host namespace this must run in (tcplab exhaust -host N sets it)")
		fs.IntVar(&e.Low, "low", 40000, "first port of the narrowed ip_local_port_range")
		fs.IntVar(&e.High, "high", 40499, "last port of the narrowed ip_local_port_range")
		fs.IntVar(&e.Extra, "extra", 200, "connections to attempt beyond the number of ports")
		fs.DurationVar(&e.Timeout, "timeout", 60*time.Second, "bound on the whole run")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		e.Addr, e.Port = *addr, *port
		return printResult(RunExhaust(context.Background(), e))
	case "listen":
		stdinEOF := fs.Bool("stdin-eof", false, "exit when stdin reaches EOF")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(*addr, strconv.Itoa(*port)))
		if err != nil {
			fmt.Fprintln(stderr, "listen:", err)
			return 1
		}
		defer ln.Close()
		a, ok := ln.Addr().(*net.TCPAddr)
		if !ok {
			fmt.Fprintln(stderr, "listen: not a TCP address:", ln.Addr())
			return 1
		}
		b, _ := json.Marshal(map[string]any{"addr": a.IP.String(), "port": a.Port})
		fmt.Fprintln(stdout, string(b))
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		eof := make(chan struct{})
		if *stdinEOF {
			go func() { _, _ = io.Copy(io.Discard, stdin); close(eof) }()
		}
		select {
		case <-stop:
		case <-eof:
		}
		return 0
	default:
		fmt.Fprintf(stderr, "unknown worker command %q (want churn, exhaust or listen)\n", args[0])
		return 2
	}
}

// workerBinary is the program that runs as the in-namespace worker.
func (h *Host) workerBinary() (string, error) {
	if p := h.fleet.opts.TcplabBin; p != "" {
		return p, nil
	}
	if p := os.Getenv("TCPLAB_BIN"); p != "" {
		return p, nil
	}
	return os.Executable()
}

// workerCmd prepares `ip netns exec NAME <worker> args...`.
func (h *Host) workerCmd(ctx context.Context, args ...string) (*exec.Cmd, error) {
	if err := h.requireNS(); err != nil {
		return nil, err
	}
	bin, err := h.workerBinary()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Name, bin}, args...)...)
	cmd.Env = append(os.Environ(), WorkerEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// Churn runs RunChurn inside the host's namespace (see ChurnOptions) and
// returns its result. The run is bounded by o.Timeout (default 60 s) and ctx.
//
// Facts the tests rely on (Linux 6.18, see TestExhaustion): with
// net.ipv4.tcp_tw_reuse = 0 and a narrow ip_local_port_range, client-closes
// churn to one destination fails with EADDRNOTAVAIL once every port of the
// range holds a TIME_WAIT socket to it (500 ports: exactly 500 of 700
// succeed), and keeps failing for 60 s. tcp_tw_reuse = 1 lets connect()
// reuse a TIME_WAIT port once it is older than tcp_tw_reuse_delay (1 s,
// counted in TcpExt TWRecycled): paced churn below ports/1 s succeeds, but a
// burst faster than that, or one started less than 1 s after the ports
// filled up, still fails. The default 2 means "loopback only", and churn
// traffic is loopback (127.0.0.1), so 2 behaves exactly like 1 here: set 0
// to reproduce exhaustion at any rate.
func (h *Host) Churn(ctx context.Context, o ChurnOptions) (ChurnResult, error) {
	if err := o.normalize(); err != nil {
		return ChurnResult{}, err
	}
	args := []string{"churn",
		"-addr", o.Addr,
		"-port", strconv.Itoa(o.Port),
		"-n", strconv.Itoa(o.N),
		"-rate", strconv.FormatFloat(o.Rate, 'f', -1, 64),
		"-timeout", o.Timeout.String(),
		"-workers", strconv.Itoa(o.Workers),
	}
	if o.ClientCloses {
		args = append(args, "-client-closes")
	}
	return h.runWorker(ctx, o.Timeout, args)
}

// runWorker runs a churn or exhaust worker in the host's namespace (bounded
// by timeout plus a margin) and decodes its ChurnResult.
func (h *Host) runWorker(ctx context.Context, timeout time.Duration, args []string) (ChurnResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	cmd, err := h.workerCmd(ctx, args...)
	if err != nil {
		return ChurnResult{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return ChurnResult{}, fmt.Errorf("lab: %s in %s: %v: %s", args[0], h.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res ChurnResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return ChurnResult{}, fmt.Errorf("lab: %s in %s: bad output %q: %w", args[0], h.Name, stdout.String(), err)
	}
	return res, nil
}

// Listen keeps a TCP listener open on 127.0.0.1:port inside the host's
// namespace (accepting and closing connections) until stop is called or ctx
// ends. It returns once the port is listening. A port inside the ephemeral
// range can fail with "address already in use" while an outgoing
// connection, even one in TIME_WAIT, holds it as its local port
// (SO_REUSEADDR does not help: the outgoing socket did not set it).
func (h *Host) Listen(ctx context.Context, port int) (stop func(), err error) {
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("lab: Listen port %d out of range 1..65535", port)
	}
	cmd, err := h.workerCmd(ctx, "listen", "-port", strconv.Itoa(port), "-stdin-eof")
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, rerr := bufio.NewReader(out).ReadString('\n')
	if rerr != nil || line == "" {
		_ = stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("lab: listen in %s on port %d: %s", h.Name, port, bytes.TrimSpace(stderr.Bytes()))
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = stdin.Close()
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}, nil
}
