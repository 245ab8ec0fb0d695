package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// wrapperShell is the login shell of root and the lab users on a host: it
// sources the host's exec hook, when one is set, and then runs /bin/sh with
// the arguments sshd gave (`-c COMMAND`, or none for an interactive login).
func wrapperShell(name, hookFile string) string {
	return "#!/bin/sh\n" +
		"# tcplab login shell of test host " + name + ": run the exec hook, if set, then /bin/sh.\n" +
		"if [ -r '" + hookFile + "' ]; then . '" + hookFile + "'; fi\n" +
		"exec /bin/sh \"$@\"\n"
}

func (h *Host) hookFile() string { return filepath.Join(h.hookDir, "exec-hook") }

// SetExecHook installs a POSIX sh fragment that every SSH login on this host
// sources before its command or shell starts, as the logged-in user (root,
// tcpsudo or tcppass), with the command's arguments in "$@" ("-c" "COMMAND").
// It can delay (`sleep 5`), fail every command (`exit 1`), or signal a test
// (write a file). "" removes the hook. The hook applies to sessions that
// start after the call.
func (h *Host) SetExecHook(script string) error {
	if err := h.requireNS(); err != nil {
		return err
	}
	if script == "" {
		err := os.Remove(h.hookFile())
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	if !strings.HasSuffix(script, "\n") {
		script += "\n"
	}
	return writeFileAtomic(h.hookFile(), []byte(script), 0o644)
}

// CutOnNextExec arms a one-shot fault for "the connection was cut during an
// apply": the next session that starts on this host (any user) whose command
// contains match ("" = any command) pauses before its command runs, the lab then cuts every live connection of
// the host (the client sees its connection drop after the session started,
// without an exit status), and the hook is removed. With thenRun the command
// continues afterwards, with stdin closed and nowhere to write output (what
// happens on a real host when the client vanishes); without it the command
// never runs (exit 255).
//
// The returned channel is closed once the cut happened. Arming replaces any
// exec hook. The pause is bounded to 30 s; the lab waits for the session
// until the host is closed.
func (h *Host) CutOnNextExec(match string, thenRun bool) (<-chan struct{}, error) {
	if err := h.requireNS(); err != nil {
		return nil, err
	}
	claim := filepath.Join(h.hookDir, "cut-claimed")
	if err := os.RemoveAll(claim); err != nil {
		return nil, err
	}
	after := ""
	if !thenRun {
		after = "  exit 255\n"
	}
	// mkdir is atomic: exactly one session claims the cut.
	script := fmt.Sprintf("if mkdir '%s' 2>/dev/null; then\n"+
		"  _tcplab_i=0\n"+
		"  while [ -d '%s' ] && [ \"$_tcplab_i\" -lt 600 ]; do sleep 0.05; _tcplab_i=$((_tcplab_i+1)); done\n"+
		"%s"+
		"fi\n", claim, claim, after)
	if match != "" {
		// The hook sees the command as "$2" (sh -c COMMAND).
		script = "case \"$2\" in\n*" + sshx.ShellQuote(match) + "*)\n" + script + ";;\nesac\n"
	}
	if err := h.SetExecHook(script); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.closed:
				return
			case <-t.C:
			}
			if _, err := os.Stat(claim); err != nil {
				continue
			}
			h.CutConnections()
			_ = h.SetExecHook("")
			_ = os.RemoveAll(claim) // releases the paused session
			close(done)
			return
		}
	}()
	return done, nil
}

// RotateHostKey gives the host a new ed25519 host key. Known_hosts files
// (including the fleet's) keep the old key, so clients now see a host key
// mismatch. HostKey is updated to the new key; connections opened from now
// on present it.
func (h *Host) RotateHostKey() error {
	if err := h.newHostKey("tcplab-" + h.label() + "-rotated"); err != nil {
		return err
	}
	if h.daemon != nil {
		// A listening sshd loads its host keys once: restart it.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		h.daemon.stop()
		if err := h.daemon.start(ctx); err != nil {
			return fmt.Errorf("lab: restart bastion after key rotation: %w", err)
		}
	}
	return nil
}
