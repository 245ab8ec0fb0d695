package lab

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// backend is the server side of one proxied connection: an sshd -i process
// (host) or a TCP connection to the bastion daemon.
type backend interface {
	io.ReadWriter
	CloseWrite() error
	// Close releases the connection without waiting for anything.
	Close() error
	// Wait blocks until the backend is gone (process reaped), killing it
	// when it does not go away within grace.
	Wait(grace time.Duration)
}

// inetdBackend is one `ip netns exec NAME sshd -i` process fed through pipes.
type inetdBackend struct {
	cmd  *exec.Cmd
	in   *os.File // sshd's stdin (we write)
	out  *os.File // sshd's stdout (we read)
	done chan struct{}
}

func startInetd(args []string, logFile string) (*inetdBackend, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	logf, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	inR.Close()
	outW.Close()
	logf.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	b := &inetdBackend{cmd: cmd, in: inW, out: outR, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(b.done)
	}()
	return b, nil
}

func (b *inetdBackend) Read(p []byte) (int, error)  { return b.out.Read(p) }
func (b *inetdBackend) Write(p []byte) (int, error) { return b.in.Write(p) }
func (b *inetdBackend) CloseWrite() error           { return b.in.Close() }
func (b *inetdBackend) Close() error {
	b.in.Close()
	return b.out.Close()
}

func (b *inetdBackend) Wait(grace time.Duration) {
	select {
	case <-b.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.done
}

// tcpBackend is a TCP connection to a daemon (the bastion's sshd -D).
type tcpBackend struct{ *net.TCPConn }

func (b tcpBackend) Wait(time.Duration) {}

// proxyConn is one accepted client connection and its backend.
type proxyConn struct {
	client *net.TCPConn
	mu     sync.Mutex
	be     backend
	cut    bool
}

// setBackend attaches be unless the connection was cut meanwhile.
func (p *proxyConn) setBackend(be backend) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.be = be
	return true
}

// abort closes the client connection with a reset and the backend at once.
func (p *proxyConn) abort() {
	p.mu.Lock()
	p.cut = true
	be := p.be
	p.mu.Unlock()
	_ = p.client.SetLinger(0)
	_ = p.client.Close()
	if be != nil {
		_ = be.Close()
	}
}

// pump copies both ways until both directions ended. A clean EOF is passed
// on as a half-close. A failing client (reset, cut) or a failure to deliver
// to the client aborts the whole connection; a backend that stops reading
// (sshd exited) only ends that direction, so whatever sshd wrote last still
// reaches the client.
func (p *proxyConn) pump(latency time.Duration) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		src := &readRecorder{r: p.client}
		err := copyDelayed(p.be, src, latency)
		switch {
		case err == nil:
			_ = p.be.CloseWrite()
		case src.failed():
			p.abort()
		default: // the backend is gone: swallow the rest of the client's data
			_ = p.be.CloseWrite()
			_, _ = io.Copy(io.Discard, p.client)
		}
	}()
	go func() {
		defer wg.Done()
		if err := copyDelayed(p.client, p.be, latency); err != nil {
			p.abort()
			return
		}
		_ = p.client.CloseWrite()
	}()
	wg.Wait()
	_ = p.client.Close()
	_ = p.be.Close()
}

// readRecorder remembers whether its reader failed (other than EOF).
type readRecorder struct {
	r   io.Reader
	bad atomic.Bool
}

func (r *readRecorder) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		r.bad.Store(true)
	}
	return n, err
}

func (r *readRecorder) failed() bool { return r.bad.Load() }

type chunk struct {
	b   []byte
	due time.Time
	err error
}

// copyDelayed copies src to dst; with d > 0 every chunk (and the final EOF)
// is delivered d after it was read, modelling one-way latency without
// limiting throughput. It returns nil on a clean EOF.
func copyDelayed(dst io.Writer, src io.Reader, d time.Duration) error {
	if d <= 0 {
		_, err := io.Copy(dst, src)
		return err
	}
	ch := make(chan chunk, 256)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			c := chunk{due: time.Now().Add(d)}
			if n > 0 {
				c.b = buf[:n]
				select {
				case ch <- c:
				case <-stop:
					return
				}
			}
			if err != nil {
				select {
				case ch <- chunk{due: c.due, err: err}:
				case <-stop:
				}
				return
			}
		}
	}()
	for c := range ch {
		if w := time.Until(c.due); w > 0 {
			time.Sleep(w)
		}
		if c.err != nil {
			if errors.Is(c.err, io.EOF) {
				return nil
			}
			return c.err
		}
		if _, err := dst.Write(c.b); err != nil {
			return err
		}
	}
	return nil
}
