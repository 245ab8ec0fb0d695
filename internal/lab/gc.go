package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// owner identifies the process that runs a fleet, written to <Dir>/owner.json
// so that GC can tell a crashed fleet from a running one.
type owner struct {
	PID       int    `json:"pid"`
	StartTime string `json:"start_time"` // field 22 of /proc/<pid>/stat
	Prefix    string `json:"prefix"`
}

// procStartTime returns a process's start time in clock ticks since boot
// (with the pid, a unique identity), or "" when it does not exist.
func procStartTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may contain spaces
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22 overall; f[0] is field 3
}

func writeOwner(dir, prefix string) error {
	o := owner{PID: os.Getpid(), StartTime: procStartTime(os.Getpid()), Prefix: prefix}
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "owner.json"), b, 0o644)
}

// alive reports whether the process recorded in o is still running.
func (o owner) alive() bool {
	if o.PID <= 0 {
		return false
	}
	if err := syscall.Kill(o.PID, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	return o.StartTime == "" || procStartTime(o.PID) == o.StartTime
}

// GC removes what crashed fleets left behind: for every tcplab-<prefix>-*
// directory in parent ("" = os.TempDir()) whose owner process is gone, it
// deletes the namespaces and /etc/netns entries of that prefix and the
// directory. Fleets whose owner still runs are left alone. It returns the
// prefixes it cleaned.
func GC(parent string) ([]string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil, err
	}
	var cleaned []string
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "tcplab-") {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "owner.json"))
		if err != nil {
			continue // not a fleet directory, or still being created
		}
		var o owner
		if json.Unmarshal(b, &o) != nil || validPrefix(o.Prefix) != nil || !strings.HasPrefix(e.Name(), "tcplab-"+o.Prefix+"-") {
			continue
		}
		if o.alive() {
			continue
		}
		if err := Cleanup(o.Prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		cleaned = append(cleaned, o.Prefix)
	}
	return cleaned, errors.Join(errs...)
}
