package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/crypto/ssh"
)

// timeoutKillAfter is the grace period, in seconds, between the TERM that
// the remote `timeout` sends and its KILL.
const timeoutKillAfter = 5

// Run executes script s on target t with stdin as its input and returns what
// it printed and its exit status. A non-zero exit status is not an error.
//
// ctx bounds the whole call: waiting for a session slot, connecting (also
// bounded by Config.Timeout) and the command itself. When ctx has a
// deadline the remote command is also wrapped in `timeout`, because closing
// a session does not stop a remote command. The call returns when ctx ends
// even if the host holds the session (never answers the session open or
// the exec, or keeps the session open as OpenSSH does while a hanging login
// shell runs): the session is closed and, a moment later, the connection,
// which the pool then forgets so that the next call redials. If ctx ends
// before the exec request was sent the error is KindTimeout; after, it is
// KindOutcomeUnknown: the script may have run.
// The same holds when the connection drops, the session ends without an
// exit status, the script is killed by a signal, or the remote `timeout`
// stops it: none of these is ever reported as success.
//
// Every error is an *Error. The returned Result may be non-nil together
// with an error (sudo failures, oversized output), carrying what the script
// printed.
func (p *Pool) Run(ctx context.Context, t Target, s Script, stdin []byte) (*Result, error) {
	ep, err := p.endpoint(t)
	if err != nil {
		host := t.Host
		if host != "" {
			host = fmt.Sprintf("%s@%s", firstNonEmpty(t.User, p.cfg.User), host)
		}
		return nil, &Error{Kind: KindConfig, Host: host, Script: s.Name, Err: err}
	}
	hc, err := p.hostConn(ep.key)
	if err != nil {
		return nil, newError(KindOther, ep, s.Name, err)
	}
	p.acquire(hc)
	defer p.release(hc)
	select {
	case hc.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, newError(KindTimeout, ep, s.Name, fmt.Errorf("no free session slot (max_sessions_per_host = %d) before the deadline: %w",
			p.cfg.MaxSessionsPerHost, ctx.Err()))
	}
	defer func() { <-hc.sem }()

	sess, client, err := p.openSession(ctx, hc, ep)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			// Connect errors are shared by every caller of the dial (and
			// cached): copy before naming the script.
			c := *e
			c.Script = s.Name
			return nil, &c
		}
		return nil, newError(KindOther, ep, s.Name, err)
	}
	return p.runSession(ctx, hc, client, ep, sess, s, stdin)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// openSession returns a new session on hc's client, connecting if needed,
// and that client. A refused session (sshd MaxSessions) is retried with
// backoff: opening a session runs nothing on the host. A broken connection
// is replaced.
func (p *Pool) openSession(ctx context.Context, hc *hostConn, ep *endpoint) (*ssh.Session, *ssh.Client, error) {
	budget, ok := ctx.Deadline()
	if !ok {
		budget = time.Now().Add(p.cfg.Timeout)
	}
	backoff := sessionBackoffStart
	refused, reconnects := 0, 0
	for {
		client, err := p.getClient(ctx, hc, ep)
		if err != nil {
			return nil, nil, err
		}
		sess, err := p.newSession(ctx, hc, ep, client, budget)
		if err == nil {
			n := p.sessions.Add(1)
			tflog.Debug(ctx, "ssh session opened", map[string]any{"host": ep.key, "sessions": n})
			return sess, client, nil
		}
		var final *Error
		if errors.As(err, &final) {
			return nil, nil, final
		}
		var oce *ssh.OpenChannelError
		if !errors.As(err, &oce) {
			// The connection died under us: nothing ran; reconnect.
			hc.drop(client)
			reconnects++
			if reconnects > 2 {
				return nil, nil, newError(KindConnect, ep, "", fmt.Errorf("the connection keeps failing when opening a session: %w", err))
			}
			continue
		}
		refused++
		if time.Until(budget) < backoff {
			if ctx.Err() != nil || ok {
				return nil, nil, newError(KindTimeout, ep, "", fmt.Errorf("the host refused %d session request(s) before the deadline (check sshd MaxSessions against max_sessions_per_host): %w", refused, err))
			}
			return nil, nil, newError(KindConnect, ep, "", fmt.Errorf("the host refused %d session request(s) (check sshd MaxSessions against max_sessions_per_host): %w", refused, err))
		}
		tflog.Debug(ctx, "ssh session refused, retrying", map[string]any{"host": ep.key, "refused": refused, "error": err.Error()})
		if p.onSessionRetry != nil {
			p.onSessionRetry(ep.key, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, newError(KindTimeout, ep, "", fmt.Errorf("the host refused %d session request(s) before the deadline: %w", refused, ctx.Err()))
		}
		backoff = min(backoff*2, sessionBackoffMax)
	}
}

// newSession opens a session on client, bounded by ctx and, without a
// deadline in ctx, by budget. A host that does not answer the channel open
// in time gets its connection closed (which also ends the pending open) and
// dropped from the pool, so the next operation redials; the error is then
// an *Error of KindTimeout: nothing ran. Other errors are returned as
// x/crypto/ssh gave them.
func (p *Pool) newSession(ctx context.Context, hc *hostConn, ep *endpoint, client *ssh.Client, budget time.Time) (*ssh.Session, error) {
	type opened struct {
		sess *ssh.Session
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		sess, err := client.NewSession()
		ch <- opened{sess, err}
	}()
	timer := time.NewTimer(time.Until(budget))
	defer timer.Stop()
	var cause error
	select {
	case o := <-ch:
		return o.sess, o.err
	case <-ctx.Done():
		cause = ctx.Err()
	case <-timer.C:
		cause = context.DeadlineExceeded
	}
	hc.drop(client)
	if o := <-ch; o.sess != nil { // the close ends the open; a late success is discarded
		_ = o.sess.Close()
	}
	tflog.Debug(ctx, "ssh session request unanswered, connection closed", map[string]any{"host": ep.key})
	return nil, newError(KindTimeout, ep, "", fmt.Errorf("the host did not answer the session request before the deadline; the connection was closed and nothing was started: %w", cause))
}

// sessionCloseGrace is how long a run that outlived its context waits,
// after closing its session, for the host to end the session before the
// whole connection is closed. OpenSSH keeps a session open until its
// command exits, whatever the client says, so without this a host that
// holds the session (a hanging login shell, a command that ignores the
// remote timeout) would hold the caller too. A variable for the tests.
var sessionCloseGrace = 500 * time.Millisecond

// runSession runs s on sess (a session of client, hc's connection) and
// closes it. When ctx ends first the session is closed and, if the host
// does not end it within sessionCloseGrace, the connection too (dropped
// from the pool): the call returns by ctx's end plus that grace.
func (p *Pool) runSession(ctx context.Context, hc *hostConn, client *ssh.Client, ep *endpoint, sess *ssh.Session, s Script, stdin []byte) (*Result, error) {
	defer sess.Close()
	fail := func(kind Kind, err error) error { return newError(kind, ep, s.Name, err) }

	stdinPipe, err := sess.StdinPipe()
	if err != nil {
		return nil, fail(KindOther, err)
	}
	var stdout, stderr cappedBuffer
	sess.Stdout, sess.Stderr = &stdout, &stderr

	sudo := p.cfg.Sudo && ep.user != "root"
	remoteTimeout := 0
	if dl, ok := ctx.Deadline(); ok {
		remoteTimeout = remoteTimeoutSeconds(time.Until(dl))
	}
	hasK := hc.timeoutK.Load() // 0: not learned yet on this host
	cmd := buildCommand(s.Body, sudo, remoteTimeout, hasK)
	p.bytesSent.Add(int64(len(cmd) + len(stdin)))

	if err := ctx.Err(); err != nil {
		return nil, fail(KindTimeout, fmt.Errorf("the deadline passed before the script started: %w", err))
	}
	w := &sessionWatch{closedByCtx: make(chan struct{})}
	finished := make(chan struct{})
	defer close(finished)
	stop := context.AfterFunc(ctx, func() {
		close(w.closedByCtx)
		sess.Close()
		t := time.NewTimer(sessionCloseGrace)
		defer t.Stop()
		select {
		case <-finished:
		case <-t.C:
			tflog.Debug(ctx, "ssh session held open past the deadline, closing the connection", map[string]any{"host": ep.key, "script": s.Name})
			w.connClosed.Store(true)
			hc.drop(client)
		}
	})
	defer stop()

	started := time.Now()
	tflog.Debug(ctx, "ssh script starting", map[string]any{"host": ep.key, "script": s.Name, "sudo": sudo, "remote_timeout_s": remoteTimeout})
	if err := sess.Start(cmd); err != nil {
		return nil, fail(startFailure(ctx, w, cmd, err))
	}
	stdinDone := make(chan struct{})
	go func() {
		defer close(stdinDone)
		// Errors mean the command exited without reading all of its
		// input; its exit status tells the rest.
		_, _ = stdinPipe.Write(stdin)
		_ = stdinPipe.Close()
	}()
	waitErr := sess.Wait()
	elapsed := time.Since(started)
	sess.Close()
	<-stdinDone

	res := &Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if remoteTimeout > 0 && hasK == 0 {
		takeProbeVerdict(hc, res)
	}
	p.bytesReceived.Add(int64(len(res.Stdout) + len(res.Stderr)))
	status, err := exitStatus(ctx, w, waitErr, elapsed)
	if err != nil {
		return nil, fail(KindOutcomeUnknown, err)
	}
	res.ExitStatus = status
	tflog.Debug(ctx, "ssh script finished", map[string]any{"host": ep.key, "script": s.Name, "exit_status": res.ExitStatus,
		"duration": elapsed.Round(time.Millisecond).String(), "stdout_bytes": len(res.Stdout), "stderr_bytes": len(res.Stderr)})

	if remoteTimeout > 0 && (res.ExitStatus == 124 || res.ExitStatus == 128+9) && elapsed >= time.Duration(remoteTimeout)*time.Second {
		return nil, fail(KindOutcomeUnknown, fmt.Errorf("the remote timeout (%ds) stopped the script (exit status %d); it may have run partly", remoteTimeout, res.ExitStatus))
	}
	if sudo && res.ExitStatus != 0 {
		if kind, err := sudoFailure(ep, res); err != nil {
			return res, fail(kind, err)
		}
	}
	if stdout.truncated || stderr.truncated {
		return res, fail(KindOther, fmt.Errorf("the script printed more than %d bytes (exit status %d); output was truncated", MaxOutputBytes, res.ExitStatus))
	}
	return res, nil
}

// sessionWatch is what the deadline did to a session: closedByCtx is
// closed when ctx closed the session, connClosed set when the connection
// was closed too.
type sessionWatch struct {
	closedByCtx chan struct{}
	connClosed  atomic.Bool
}

// closedText says how the deadline ended the session; false when it did
// not.
func (w *sessionWatch) closedText() (string, bool) {
	select {
	case <-w.closedByCtx:
	default:
		return "", false
	}
	if w.connClosed.Load() {
		return "the host held the session open, so the connection was closed", true
	}
	return "the session was closed", true
}

// startFailure classifies an error of sess.Start.
func startFailure(ctx context.Context, w *sessionWatch, cmd string, err error) (Kind, error) {
	if closed, ok := w.closedText(); ok {
		return KindOutcomeUnknown, fmt.Errorf("the deadline passed while the host was starting the script; %s and the script may have run: %w", closed, ctx.Err())
	}
	if err.Error() == "ssh: command "+cmd+" failed" {
		return KindOther, errors.New("the host refused to run the command (exec request denied)")
	}
	return KindOutcomeUnknown, fmt.Errorf("the connection failed while starting the script; it may have run: %w", err)
}

// exitStatus is the script's exit status from sess.Wait's error; an error
// (the outcome is unknown) when the script did not exit on its own.
func exitStatus(ctx context.Context, w *sessionWatch, waitErr error, elapsed time.Duration) (int, error) {
	var exitErr *ssh.ExitError
	switch {
	case waitErr == nil:
		return 0, nil
	case errors.As(waitErr, &exitErr) && exitErr.Signal() == "":
		return exitErr.ExitStatus(), nil
	}
	if closed, ok := w.closedText(); ok {
		return 0, fmt.Errorf("the deadline passed after %s while the script was running or starting; %s and the script may have run partly or completely: %w",
			elapsed.Round(time.Millisecond), closed, ctx.Err())
	}
	if exitErr != nil {
		return 0, fmt.Errorf("the script was killed by signal %s after %s; it may have run partly", exitErr.Signal(), elapsed.Round(time.Millisecond))
	}
	var missing *ssh.ExitMissingError
	if errors.As(waitErr, &missing) {
		return 0, fmt.Errorf("the session ended without an exit status (connection lost?); the script may have run: %w", waitErr)
	}
	return 0, fmt.Errorf("the connection failed while the script was running; it may have run: %w", waitErr)
}

// takeProbeVerdict records the remote-timeout probe's verdict, printed
// before the script started, and strips it from the script's stderr.
func takeProbeVerdict(hc *hostConn, res *Result) {
	switch {
	case bytes.HasPrefix(res.Stderr, []byte(probeYes)):
		hc.timeoutK.Store(1)
		res.Stderr = res.Stderr[len(probeYes):]
	case bytes.HasPrefix(res.Stderr, []byte(probeNo)):
		hc.timeoutK.Store(-1)
		res.Stderr = res.Stderr[len(probeNo):]
	}
}

// sudoFailure recognises sudo's own refusals in a failed script's stderr.
func sudoFailure(ep *endpoint, res *Result) (Kind, error) {
	errText := string(res.Stderr)
	switch {
	case strings.Contains(errText, "a password is required"):
		return KindSudoPassword, fmt.Errorf("user %q cannot run sudo without a password; allow it with a NOPASSWD sudoers rule, or connect as root: %s",
			ep.user, firstLine(errText))
	case strings.Contains(errText, "you must have a tty"):
		return KindSudoTTY, fmt.Errorf("sudo on this host requires a terminal (Defaults requiretty); disable requiretty for user %q, or connect as root: %s",
			ep.user, firstLine(errText))
	}
	return 0, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// remoteTimeoutSeconds is the `timeout` given to the remote command for a
// deadline d away: one second less, so that the host stops the script just
// before we close the session, and at least one.
func remoteTimeoutSeconds(d time.Duration) int {
	n := int(d/time.Second) - 1
	if n < 1 {
		n = 1
	}
	return n
}

// ShellQuote quotes s as one POSIX shell word: inside single quotes nothing is
// special, and each single quote in s is written as close-quote,
// backslash-quote, open-quote.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Probe verdicts: the first line of stderr of a session that probed.
const (
	probeYes = "tcp-sshx: timeout -k\n"
	probeNo  = "tcp-sshx: no timeout -k\n"
)

// buildCommand is the exec command line for a script body. body is a
// constant of this program; timeoutSecs is computed from the deadline (0:
// none). hasK is what this host's `timeout` is known to support: 0 unknown,
// 1 `timeout -k`, -1 not. Unknown, the command probes the exact syntax used
// (a `timeout` without -k, old busybox, falls back to running without it)
// and prints the verdict as the first line of stderr, which Run strips and
// keeps for the host, so the probe (two programs) runs once per host, not
// per session. The body appears once: the probe only chooses the prefix, a
// constant of this program that $tcp_t expands to.
func buildCommand(body string, sudo bool, timeoutSecs int, hasK int32) string {
	inner := "sh -c " + ShellQuote(body)
	cmd := inner
	switch {
	case timeoutSecs <= 0:
	case hasK > 0:
		cmd = fmt.Sprintf("exec timeout -k %d %d %s", timeoutKillAfter, timeoutSecs, inner)
	case hasK < 0:
		cmd = "exec " + inner
	default:
		cmd = fmt.Sprintf("tcp_t=; if timeout -k %d 1 true >/dev/null 2>&1; then tcp_t='timeout -k %d %d'; echo 'tcp-sshx: timeout -k' >&2; else echo 'tcp-sshx: no timeout -k' >&2; fi; exec $tcp_t %s",
			timeoutKillAfter, timeoutKillAfter, timeoutSecs, inner)
	}
	if sudo {
		cmd = "sudo -n sh -c " + ShellQuote(cmd)
	}
	return cmd
}

// cappedBuffer keeps the first MaxOutputBytes written and discards the rest,
// never failing a write (so the remote side never blocks on us).
type cappedBuffer struct {
	buf       []byte
	truncated bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := MaxOutputBytes - len(b.buf)
	if len(p) > room {
		b.buf = append(b.buf, p[:max(room, 0)]...)
		b.truncated = true
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *cappedBuffer) Bytes() []byte {
	if b.buf == nil {
		return []byte{}
	}
	return b.buf
}
