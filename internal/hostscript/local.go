package hostscript

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// LocalRunner runs scripts on this machine as `Prefix... Shell -c BODY`,
// pointed at a fake root through the scripts' path prefixes. It is a Runner
// for tests (no SSH); the Target is ignored.
type LocalRunner struct {
	Shell   string   // "dash", "busybox sh", ...; split on spaces; default "sh"
	Root    string   // TCP_TUNING_ROOT: prefix of every path
	Proc    string   // TCP_TUNING_PROC: proc mount point (default Root+"/proc")
	EtcRoot string   // TCP_TUNING_ETC_ROOT: prefix of /etc, /run, /usr, /lib (default Root)
	Prefix  []string // command prefix, e.g. {"ip", "netns", "exec", "ns1"}
	Env     []string // extra KEY=VALUE entries (e.g. a PATH of busybox applets)
}

var _ Runner = LocalRunner{}

// Run runs s.Body with stdin and returns its output and exit status. A
// non-zero exit is not an error; failing to start or a cancelled ctx is.
func (l LocalRunner) Run(ctx context.Context, _ sshx.Target, s sshx.Script, stdin []byte) (*sshx.Result, error) {
	shell := strings.Fields(l.Shell)
	if len(shell) == 0 {
		shell = []string{"sh"}
	}
	argv := append(append(append([]string{}, l.Prefix...), shell...), "-c", s.Body)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	env := make([]string, 0, len(os.Environ())+len(l.Env)+3)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TCP_TUNING_") {
			env = append(env, e)
		}
	}
	if l.Root != "" {
		env = append(env, "TCP_TUNING_ROOT="+l.Root)
	}
	if l.Proc != "" {
		env = append(env, "TCP_TUNING_PROC="+l.Proc)
	}
	if l.EtcRoot != "" {
		env = append(env, "TCP_TUNING_ETC_ROOT="+l.EtcRoot)
	}
	cmd.Env = append(env, l.Env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, ctx.Err())
	}
	res := &sshx.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitStatus = ee.ExitCode()
	default:
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	return res, nil
}
