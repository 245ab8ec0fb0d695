// Package labtest is the test support of the test fleet: the one policy
// for a test whose prerequisite is missing (skip with the reason, or fail
// under TCP_REQUIRE_LAB=1), -short meaning no fleet, fleets started for one
// test, and the TestMain that lets a test binary act as the churn worker.
// Only tests import it.
package labtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
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

// Unavailable is the project's one policy for a test whose prerequisite is
// missing: skip with the reason, or fail under TCP_REQUIRE_LAB=1 (as
// .ci/run sets), where every test must run.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if lab.Required() {
		t.Fatalf("%s (required: %s=1)", msg, lab.RequireLabEnv)
	}
	t.Skipf("%s (%s=1 makes this a failure)", msg, lab.RequireLabEnv)
}

// SkipShort skips a test that needs the fleet, sshd or network namespaces
// under -short (make testunit): -short means no fleet, whatever
// TCP_REQUIRE_LAB says.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no test fleet, sshd or network namespaces")
	}
}

// Require skips the test under -short, and skips (or fails, by
// Unavailable) when the fleet cannot run here (not root, no `ip netns`, no
// sshd, no unshare).
func Require(t testing.TB) {
	t.Helper()
	SkipShort(t)
	if err := lab.Available(); err != nil {
		Unavailable(t, "test fleet unavailable: %v", err)
	}
}

// RequireAcc runs the rest of a test that drives terraform or the fleet
// only with TF_ACC set (make test sets it), and not under -short; what
// names the test's kind.
func RequireAcc(t testing.TB, what string) {
	t.Helper()
	SkipShort(t)
	if os.Getenv("TF_ACC") == "" {
		Unavailable(t, "%s: set TF_ACC=1 (make test does)", what)
	}
}

// Strace returns the path of an strace that can trace here (make deps
// installs it), or skips / fails the test by Unavailable.
func Strace(t testing.TB) string {
	t.Helper()
	st, err := lab.StracePath()
	if err != nil {
		Unavailable(t, "%v", err)
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
