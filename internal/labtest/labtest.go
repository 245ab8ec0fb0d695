// Package labtest is the tests' support for the test fleet: Require (the
// fleet can run here, and not under -short, by testenv's policy), fleets
// started for one test, and the TestMain that lets a test binary act as the
// churn worker. Only tests import it.
package labtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

// Main is TestMain for a package whose tests drive Host.Churn, Host.Listen
// or Host.Exhaust: started as the churn worker inside a host's namespace
// (lab.WorkerEnv), the test binary runs the worker instead of the tests.
func Main(m *testing.M) {
	if args, ok := lab.WorkerArgs(); ok {
		os.Exit(lab.WorkerMain(args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Require skips the test under -short, and skips (or fails, by
// testenv.Unavailable) when the fleet cannot run here (not root, no `ip netns`, no
// sshd, no unshare).
func Require(t testing.TB) {
	t.Helper()
	testenv.SkipShort(t)
	if err := lab.Available(); err != nil {
		testenv.Unavailable(t, "test fleet unavailable: %v", err)
	}
}

// RequireAcc runs the rest of a test that drives terraform or the fleet
// only with TF_ACC set (make test sets it), and not under -short; what
// names the test's kind.
func RequireAcc(t testing.TB, what string) {
	t.Helper()
	testenv.SkipShort(t)
	if os.Getenv("TF_ACC") == "" {
		testenv.Unavailable(t, "%s: set TF_ACC=1 (make test does)", what)
	}
}

// Strace returns the path of an strace that can trace here (make deps
// installs it), or skips / fails the test by testenv.Unavailable.
func Strace(t testing.TB) string {
	t.Helper()
	st, err := lab.StracePath()
	if err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	return st
}

// StartT is Require, then lab.Start (bounded to 2 minutes), with Close
// registered in t.Cleanup. When the test failed, Cleanup first logs the
// tail of each host's sshd log.
func StartT(t testing.TB, o lab.Options) *lab.Fleet {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := lab.Start(ctx, o)
	if err != nil {
		t.Fatalf("lab: start fleet: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, tail := range f.SSHDLogTails(15) {
				t.Log(tail)
			}
		}
		if err := f.Close(); err != nil {
			t.Errorf("lab: close fleet: %v", err)
		}
	})
	return f
}
