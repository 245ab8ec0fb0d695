package lab

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestProcStartTime(t *testing.T) {
	if procStartTime(os.Getpid()) == "" {
		t.Fatal("no start time for this process")
	}
	if procStartTime(1<<30) != "" {
		t.Fatal("start time for a pid that cannot exist")
	}
}

func TestGC(t *testing.T) {
	requireFleet(t)
	parent := t.TempDir()
	// A finished process: its pid is dead (or reused with another start time).
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(prefix string, pid int) string {
		dir := filepath.Join(parent, "tcplab-"+prefix+"-1")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(owner{PID: pid, StartTime: procStartTime(pid), Prefix: prefix})
		if err := os.WriteFile(filepath.Join(dir, "owner.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	deadPrefix, err := freePrefix()
	if err != nil {
		t.Fatal(err)
	}
	livePrefix, err := freePrefix()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Cleanup(deadPrefix); _ = Cleanup(livePrefix) })
	deadDir := mk(deadPrefix, dead.Process.Pid)
	liveDir := mk(livePrefix, os.Getpid())
	for _, p := range []string{deadPrefix, livePrefix} {
		if err := addNetns(context.Background(), p+"-1"); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(netnsEtcDir, p+"-1"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cleaned, err := GC(parent)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cleaned, []string{deadPrefix}) {
		t.Errorf("GC cleaned %v, want [%s]", cleaned, deadPrefix)
	}
	if leftovers(deadPrefix) {
		t.Errorf("namespace or /etc/netns entry of the dead fleet survived")
	}
	if _, err := os.Stat(deadDir); !os.IsNotExist(err) {
		t.Errorf("dead fleet dir survived: %v", err)
	}
	if !leftovers(livePrefix) {
		t.Errorf("GC removed the namespace of a live fleet")
	}
	if _, err := os.Stat(liveDir); err != nil {
		t.Errorf("GC removed a live fleet's dir: %v", err)
	}
}
