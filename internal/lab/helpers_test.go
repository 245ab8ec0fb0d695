package lab

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

// This package's tests cannot import labtest (which imports lab):
// requireFleet and startT are labtest.Require and labtest.StartT for them,
// on testenv's policy.

func requireFleet(t testing.TB) {
	t.Helper()
	testenv.SkipShort(t)
	if err := Available(); err != nil {
		testenv.Unavailable(t, "test fleet unavailable: %v", err)
	}
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
