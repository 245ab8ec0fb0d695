// Command tcplab runs the test fleet of terraform-provider-tcp outside Go
// tests: network namespaces reached through real OpenSSH on loopback
// addresses (see internal/lab). It needs root.
//
//	tcplab up     [-n 3] [-state FILE] [-bastion] [-bastion-max-startups 3] [-max-sessions N] [-latency 20ms]
//	tcplab down   [-state FILE]
//	tcplab status [-state FILE] [-json]
//	tcplab tfvars [-state FILE] [-prefix web]
//	tcplab exec   [-state FILE] -host N -- COMMAND [ARG...]
//	tcplab ssh    [-state FILE] -host N [-user root] [-- COMMAND]
//	tcplab churn  [-state FILE -host N] [-port 6379] [-n 2000] [-client-closes] [-rate 0] [-timeout 30s] [-workers 1]
//	tcplab listen [-state FILE -host N] -port N
//	tcplab gc
//
// `up` starts `tcplab serve` in the background (its own session), waits
// until every host accepts connections, and prints how to reach them. The
// state file (default /run/tcplab/state.json, or $TCPLAB_STATE) holds what a
// Terraform example needs: host addresses and ports, the known_hosts file
// and the client key. `churn` and `listen` without -host run in the current
// network namespace (that is how the fleet runs them inside a host).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

func main() {
	// Started as the churn worker inside a host (lab.WorkerEnv): run only
	// that, as lab's init() used to for every program importing lab.
	if args, ok := lab.WorkerArgs(); ok {
		os.Exit(lab.WorkerMain(args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:]))
}

const usage = `usage: tcplab COMMAND [flags]

commands:
  up      bring a fleet up in the background and print how to reach it
  down    stop the fleet and remove everything it created (also after a crash)
  status  show the fleet and whether each host answers SSH
  tfvars  print terraform.tfvars.json for the examples (hosts, key, known_hosts)
  exec    run a command inside a host's namespace: exec -host N -- CMD...
  ssh     ssh into a host: ssh -host N [-user root] [-- CMD]
  churn   open and close short TCP connections (inside -host N, or here)
  exhaust the exhaustion scenario inside -host N: narrow ip_local_port_range,
          tcp_tw_reuse = 0, churn to one destination until connect() fails
          with EADDRNOTAVAIL; prints how many failed
  listen  keep a TCP port listening (inside -host N, or here)
  gc      remove leftovers of crashed fleets whose owner process is gone
  serve   (internal) run a fleet in the foreground until SIGTERM

Run "tcplab COMMAND -h" for the flags of a command.
`

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "up":
		err = cmdUp(rest)
	case "serve":
		err = cmdServe(rest)
	case "down":
		err = cmdDown(rest)
	case "tfvars":
		err = cmdTfvars(rest)
	case "status":
		err = cmdStatus(rest)
	case "exec":
		return cmdExec(rest)
	case "ssh":
		return cmdSSH(rest)
	case "churn", "listen", "exhaust":
		return cmdWorker(cmd, rest)
	case "gc":
		err = cmdGC(rest)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "tcplab: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "tcplab %s: %v\n", cmd, err)
			return 2
		}
		fmt.Fprintf(os.Stderr, "tcplab %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func defaultState() string {
	if s := os.Getenv("TCPLAB_STATE"); s != "" {
		return s
	}
	return "/run/tcplab/state.json"
}

// sidePath derives the pidfile and log paths from the state path.
func sidePath(state, ext string) string {
	return strings.TrimSuffix(state, filepath.Ext(state)) + ext
}

// fleetFlags are shared by up and serve.
type fleetFlags struct {
	state string
	opts  lab.Options
}

func (ff *fleetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&ff.state, "state", defaultState(), "state file")
	fs.IntVar(&ff.opts.Hosts, "n", 3, "number of hosts")
	fs.StringVar(&ff.opts.Prefix, "prefix", "", "namespace prefix (default: tl + 6 random hex digits)")
	fs.IntVar(&ff.opts.MaxSessions, "max-sessions", 0, "sshd MaxSessions on the hosts (0 = sshd default)")
	fs.BoolVar(&ff.opts.Bastion, "bastion", false, "add a bastion (jump host)")
	fs.StringVar(&ff.opts.BastionMaxStartups, "bastion-max-startups", "", "the bastion's sshd MaxStartups (e.g. 3 or 10:30:100)")
	fs.DurationVar(&ff.opts.Latency, "latency", 0, "latency added each way on every SSH connection")
	fs.StringVar(&ff.opts.Dir, "dir", "", "parent of the lab's temporary directory (default $TMPDIR or /tmp)")
}

func (ff *fleetFlags) args() []string {
	a := []string{"-state", ff.state, "-n", strconv.Itoa(ff.opts.Hosts),
		"-max-sessions", strconv.Itoa(ff.opts.MaxSessions), "-latency", ff.opts.Latency.String()}
	if ff.opts.Prefix != "" {
		a = append(a, "-prefix", ff.opts.Prefix)
	}
	if ff.opts.Bastion {
		a = append(a, "-bastion")
	}
	if ff.opts.BastionMaxStartups != "" {
		a = append(a, "-bastion-max-startups", ff.opts.BastionMaxStartups)
	}
	if ff.opts.Dir != "" {
		a = append(a, "-dir", ff.opts.Dir)
	}
	return a
}

// serverAlive reports whether the state's serve process still runs.
func serverAlive(s lab.State) bool {
	if s.PID <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.PID))
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "\x00serve\x00")
}

func cmdUp(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	var ff fleetFlags
	ff.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if err := lab.Available(); err != nil {
		return err
	}
	if s, err := lab.ReadState(ff.state); err == nil {
		if serverAlive(s) {
			return fmt.Errorf("a fleet (%s, pid %d) is already up with state %s; run `tcplab down -state %s` first", s.Prefix, s.PID, ff.state, ff.state)
		}
		fmt.Fprintf(os.Stderr, "tcplab up: cleaning up a crashed fleet (%s)\n", s.Prefix)
		if err := teardown(ff.state, s); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(ff.state), 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := sidePath(ff.state, ".log")
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{"serve", "-ready-fd", "3"}, ff.args()...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		readyR.Close()
		return err
	}
	readyW.Close()
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()

	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(readyR).ReadString('\n')
		ch <- answer{strings.TrimSpace(line), err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(pid, syscall.SIGTERM)
		return fmt.Errorf("fleet not ready after 3 minutes; see %s", logPath)
	}
	readyR.Close()
	if a.line != "ok" {
		msg := strings.TrimPrefix(a.line, "error: ")
		if msg == "" {
			msg = "the background server exited"
		}
		return fmt.Errorf("%s (log: %s)", msg, logPath)
	}
	s, err := lab.ReadState(ff.state)
	if err != nil {
		return err
	}
	printState(os.Stdout, ff.state, s)
	return nil
}

func printState(w io.Writer, statePath string, s lab.State) {
	fmt.Fprintf(w, "fleet %s up (server pid %d), state in %s\n", s.Prefix, s.PID, statePath)
	for i, h := range s.Hosts {
		fmt.Fprintf(w, "  host %-3d %-14s %s\n", i+1, h.Name, net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)))
	}
	if b := s.Bastion; b != nil {
		fmt.Fprintf(w, "  bastion  %-14s %s\n", "", net.JoinHostPort(b.Addr, strconv.Itoa(b.Port)))
	}
	if len(s.Hosts) > 0 {
		h := s.Hosts[0]
		fmt.Fprintf(w, "ssh in:\n  ssh -i %s -o UserKnownHostsFile=%s %sroot@%s\n", s.ClientKeyFile, s.KnownHostsFile, portFlag(h.Port), h.Addr)
	}
	fmt.Fprintf(w, "users: root (key only); %s (key or password %q, passwordless sudo); %s (same password, sudo asks for it)\n",
		s.SudoUser, s.Password, s.PasswordUser)
	fmt.Fprintf(w, "inside a host: tcplab exec -state %s -host 1 -- ss -s\n", statePath)
	fmt.Fprintf(w, "tear down:     tcplab down -state %s\n", statePath)
}

func portFlag(port int) string {
	if port == 22 {
		return ""
	}
	return fmt.Sprintf("-p %d ", port)
}

func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var ff fleetFlags
	ff.register(fs)
	readyFD := fs.Int("ready-fd", 0, "file descriptor to report readiness on (internal)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ready *os.File
	if *readyFD > 0 {
		ready = os.NewFile(uintptr(*readyFD), "ready")
	}
	report := func(msg string) {
		if ready != nil {
			fmt.Fprintln(ready, msg)
			ready.Close()
			ready = nil
		}
	}
	self, err := os.Executable()
	if err != nil {
		report("error: " + err.Error())
		return err
	}
	ff.opts.TcplabBin = self
	// Signals arriving while the fleet starts must not kill us half-way.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	f, err := lab.Start(ctx, ff.opts)
	cancel()
	if err != nil {
		report("error: " + err.Error())
		return err
	}
	pidfile := sidePath(ff.state, ".pid")
	err = lab.WriteState(ff.state, f.State())
	if err == nil {
		err = os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	}
	if err != nil {
		_ = f.Close()
		report("error: " + err.Error())
		return err
	}
	fmt.Printf("%s fleet %s serving %d hosts\n", time.Now().Format(time.RFC3339), f.Prefix, len(f.Hosts))
	report("ok")
	s := <-sig
	fmt.Printf("%s %v: closing fleet %s\n", time.Now().Format(time.RFC3339), s, f.Prefix)
	err = f.Close()
	_ = os.Remove(ff.state)
	_ = os.Remove(pidfile)
	return err
}

// teardown stops the server (if running), the bastion daemon, and removes
// namespaces, /etc/netns entries, the lab directory and the state files.
func teardown(statePath string, s lab.State) error {
	if serverAlive(s) {
		_ = syscall.Kill(s.PID, syscall.SIGTERM)
		deadline := time.Now().Add(30 * time.Second)
		for serverAlive(s) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if serverAlive(s) {
			_ = syscall.Kill(s.PID, syscall.SIGKILL)
			time.Sleep(200 * time.Millisecond)
		}
	}
	if s.BastionPID > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.BastionPID)); err == nil &&
			strings.Contains(string(b), "sshd") && s.Dir != "" && strings.Contains(string(b), s.Dir) {
			_ = syscall.Kill(-s.BastionPID, syscall.SIGKILL)
			_ = syscall.Kill(s.BastionPID, syscall.SIGKILL)
		}
	}
	var errs []error
	if err := lab.Cleanup(s.Prefix); err != nil {
		errs = append(errs, err)
	}
	if s.Dir != "" && strings.HasPrefix(filepath.Base(s.Dir), "tcplab-"+s.Prefix+"-") {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range []string{statePath, sidePath(statePath, ".pid")} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func cmdDown(args []string) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	state := fs.String("state", defaultState(), "state file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := lab.ReadState(*state)
	if os.IsNotExist(err) {
		fmt.Printf("no fleet recorded in %s\n", *state)
		return nil
	}
	if err != nil {
		return err
	}
	if err := teardown(*state, s); err != nil {
		return err
	}
	fmt.Printf("fleet %s down\n", s.Prefix)
	return nil
}

// probe dials addr and reads the SSH banner.
func probe(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "down: " + err.Error()
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "no SSH banner: " + err.Error()
	}
	return "up: " + strings.TrimSpace(line)
}

func cmdStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	state := fs.String("state", defaultState(), "state file")
	asJSON := fs.Bool("json", false, "print the state file's JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := lab.ReadState(*state)
	if err != nil {
		return fmt.Errorf("no fleet: %w", err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(s, "", "  ")
		fmt.Println(string(b))
	}
	if !serverAlive(s) {
		fmt.Printf("fleet %s: server (pid %d) is not running; run `tcplab down -state %s` to clean up\n", s.Prefix, s.PID, *state)
		return errors.New("fleet not running")
	}
	fmt.Printf("fleet %s: server pid %d, dir %s\n", s.Prefix, s.PID, s.Dir)
	bad := 0
	show := func(label string, h lab.StateHost) {
		p := probe(net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)))
		if !strings.HasPrefix(p, "up") {
			bad++
		}
		fmt.Printf("  %-22s %-22s %s\n", label, net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), p)
	}
	for i, h := range s.Hosts {
		show(fmt.Sprintf("host %d (%s)", i+1, h.Name), h)
	}
	if s.Bastion != nil {
		show("bastion", *s.Bastion)
	}
	if bad > 0 {
		return fmt.Errorf("%d host(s) not answering", bad)
	}
	return nil
}

// pickHost resolves -host (1-based number or namespace name).
func pickHost(s lab.State, sel string) (lab.StateHost, error) {
	if n, err := strconv.Atoi(sel); err == nil {
		if n < 1 || n > len(s.Hosts) {
			return lab.StateHost{}, fmt.Errorf("host %d out of range 1..%d", n, len(s.Hosts))
		}
		return s.Hosts[n-1], nil
	}
	for _, h := range s.Hosts {
		if h.Name == sel {
			return h, nil
		}
	}
	return lab.StateHost{}, fmt.Errorf("no host %q in fleet %s", sel, s.Prefix)
}

// exitCode runs cmd with this process's stdio and returns its exit status.
func exitCode(cmd *exec.Cmd) int {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcplab:", err)
		return 1
	}
	return 0
}

func cmdExec(args []string) int {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	state := fs.String("state", defaultState(), "state file")
	host := fs.String("host", "", "host number (1..N) or namespace name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *host == "" || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: tcplab exec [-state FILE] -host N -- COMMAND [ARG...]")
		return 2
	}
	s, err := lab.ReadState(*state)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcplab exec:", err)
		return 1
	}
	h, err := pickHost(s, *host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcplab exec:", err)
		return 2
	}
	return exitCode(exec.Command("ip", append([]string{"netns", "exec", h.Name}, fs.Args()...)...))
}

func cmdSSH(args []string) int {
	fs := flag.NewFlagSet("ssh", flag.ContinueOnError)
	state := fs.String("state", defaultState(), "state file")
	host := fs.String("host", "1", "host number (1..N) or namespace name")
	user := fs.String("user", "root", "user: root, "+lab.UserSudo+" or "+lab.UserPassword)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	s, err := lab.ReadState(*state)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcplab ssh:", err)
		return 1
	}
	h, err := pickHost(s, *host)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcplab ssh:", err)
		return 2
	}
	a := []string{"-i", s.ClientKeyFile, "-o", "UserKnownHostsFile=" + s.KnownHostsFile, "-o", "IdentitiesOnly=yes",
		"-p", strconv.Itoa(h.Port), *user + "@" + h.Addr}
	return exitCode(exec.Command("ssh", append(a, fs.Args()...)...))
}

// cmdWorker runs churn or listen here, or with -host inside that host's
// namespace (by running this program there without -host and -state).
func cmdWorker(name string, args []string) int {
	var state, host string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "-")
		a = strings.TrimPrefix(a, "-")
		key, val, hasVal := strings.Cut(a, "=")
		if key != "host" && key != "state" {
			rest = append(rest, args[i])
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				fmt.Fprintf(os.Stderr, "tcplab %s: -%s needs a value\n", name, key)
				return 2
			}
			i++
			val = args[i]
		}
		if key == "host" {
			host = val
		} else {
			state = val
		}
	}
	if host == "" {
		if state != "" {
			fmt.Fprintf(os.Stderr, "tcplab %s: -state needs -host\n", name)
			return 2
		}
		return lab.WorkerMain(append([]string{name}, rest...), os.Stdin, os.Stdout, os.Stderr)
	}
	if state == "" {
		state = defaultState()
	}
	s, err := lab.ReadState(state)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tcplab %s: %v\n", name, err)
		return 1
	}
	h, err := pickHost(s, host)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tcplab %s: %v\n", name, err)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tcplab %s: %v\n", name, err)
		return 1
	}
	if name == "exhaust" {
		// The worker writes sysctls only inside the namespace it is told.
		rest = append([]string{"-netns", h.Name}, rest...)
	}
	return exitCode(exec.Command("ip", append([]string{"netns", "exec", h.Name, self, name}, rest...)...))
}

func cmdGC(args []string) error {
	fs := flag.NewFlagSet("gc", flag.ContinueOnError)
	dir := fs.String("dir", "", "parent of the lab directories (default $TMPDIR or /tmp)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cleaned, err := lab.GC(*dir)
	for _, p := range cleaned {
		fmt.Printf("removed leftovers of fleet %s\n", p)
	}
	if len(cleaned) == 0 && err == nil {
		fmt.Println("nothing to clean")
	}
	return err
}

// cmdTfvars prints the fleet as Terraform variables: hosts (name ->
// {address, port}), private_key_file and known_hosts_file, the inputs of
// examples/demo and examples/fleet-style configurations.
func cmdTfvars(args []string) error {
	fs := flag.NewFlagSet("tfvars", flag.ContinueOnError)
	state := fs.String("state", defaultState(), "state file")
	prefix := fs.String("prefix", "web", "host name prefix (web-1, web-2, ...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := lab.ReadState(*state)
	if err != nil {
		return fmt.Errorf("no fleet: %w", err)
	}
	type host struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	}
	vars := struct {
		Hosts          map[string]host `json:"hosts"`
		PrivateKeyFile string          `json:"private_key_file"`
		KnownHostsFile string          `json:"known_hosts_file"`
	}{Hosts: map[string]host{}, PrivateKeyFile: s.ClientKeyFile, KnownHostsFile: s.KnownHostsFile}
	for i, h := range s.Hosts {
		vars.Hosts[fmt.Sprintf("%s-%d", *prefix, i+1)] = host{Address: h.Addr, Port: h.Port}
	}
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}
