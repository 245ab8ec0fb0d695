//go:build unix

package sshx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKnownHostsFileMustBeBoundedRegularFile: a known_hosts_file that is a
// device, a FIFO, a directory or a huge file is a ConfigError on
// known_hosts_file that says what the path is, found at once: nothing
// blocks (a FIFO without writer) and nothing is read without bound
// (/dev/zero).
func TestKnownHostsFileMustBeBoundedRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "huge")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxKnownHostsBytes + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"/dev/zero", "/dev/zero", "a character device"},
		{"fifo", fifo, "a named pipe (FIFO)"},
		{"directory", dir, "a directory"},
		{"oversized sparse file", sparse, "more than the 16 MiB allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := NewPool(Config{KnownHostsFile: tt.path, Password: "x"})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("NewPool with known_hosts_file = %s has not returned after 10 s", tt.path)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Attribute != "known_hosts_file" {
				t.Fatalf("err = %v, want a ConfigError on known_hosts_file", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not say %q about %s", err, tt.want, tt.path)
			}
		})
	}
}

func TestReadBoundedFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readBoundedFile(p, 5); err != nil || string(b) != "12345" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	if _, err := readBoundedFile(p, 4); err == nil || !strings.Contains(err.Error(), "more than the 4 bytes allowed") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := readBoundedFile(filepath.Join(dir, "missing"), 5); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v, want ErrNotExist", err)
	}
	// A symlink to a regular file is followed.
	l := filepath.Join(dir, "link")
	if err := os.Symlink(p, l); err != nil {
		t.Fatal(err)
	}
	if b, err := readBoundedFile(l, 5); err != nil || string(b) != "12345" {
		t.Errorf("symlink: %q, %v", b, err)
	}
}
