package lab

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// This package's tests cannot import labtest (which imports lab):
// requireFleet, unavailable and startT are labtest.Require, Unavailable
// and StartT for them, on the same lab.Required policy.

func requireFleet(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no test fleet, sshd or network namespaces")
	}
	if err := Available(); err != nil {
		unavailable(t, "test fleet unavailable: %v", err)
	}
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (required: %s=1)", msg, RequireLabEnv)
	}
	t.Skipf("%s (%s=1 makes this a failure)", msg, RequireLabEnv)
}

func startT(t testing.TB, o Options) *Fleet {
	t.Helper()
	requireFleet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f, err := Start(ctx, o)
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

// TestMain lets the test binary act as the churn worker (labtest.Main).
func TestMain(m *testing.M) {
	if args, ok := WorkerArgs(); ok {
		os.Exit(WorkerMain(args, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
