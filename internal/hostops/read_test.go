package hostops

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadKeys(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		// A read-only entry (owner bits decide for root) and a directory.
		if err := os.Chmod(filepath.Join(root, "proc/sys/net/ipv4/tcp_max_tw_buckets"), 0o444); err != nil {
			t.Fatal(err)
		}
		req := ReadRequest{
			Keys: []string{
				"net.ipv4.tcp_tw_reuse",
				"net.ipv4.ip_local_port_range",
				"net.ipv4.ip_local_reserved_ports",
				"net.ipv4.tcp_tw_recycle",
				"net.ipv4.tcp_max_tw_buckets",
				"net.ipv4", // a directory, not a key
			},
			PersistPath: "/etc/sysctl.d/90-tcp-tuning.conf",
		}
		got, err := Read(testCtx(t), sc.runner(root), noTarget, req)
		if err != nil {
			t.Fatal(err)
		}
		if got.KernelRelease != "6.1.0-fake" {
			t.Errorf("KernelRelease = %q", got.KernelRelease)
		}
		want := map[string]KeyState{
			"net.ipv4.tcp_tw_reuse":            {Exists: true, Readable: true, Writable: true, Value: "2"},
			"net.ipv4.ip_local_port_range":     {Exists: true, Readable: true, Writable: true, Value: "32768\t60999"},
			"net.ipv4.ip_local_reserved_ports": {Exists: true, Readable: true, Writable: true, Value: ""},
			"net.ipv4.tcp_tw_recycle":          {},
			"net.ipv4.tcp_max_tw_buckets":      {Exists: true, Readable: true, Writable: false, Value: "262144"},
			"net.ipv4":                         {},
		}
		if !reflect.DeepEqual(got.Keys, want) {
			t.Errorf("Keys =\n%#v\nwant\n%#v", got.Keys, want)
		}
		if got.File != nil {
			t.Errorf("File = %+v, want nil (absent)", got.File)
		}
		if got.ListeningPorts != nil || got.SysctlFiles != nil || got.UnprivilegedPortStart != 0 {
			t.Errorf("facts reported without Facts: %+v", got)
		}
	})
}

func TestReadPersistedFile(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		content := DefaultMarker + "\n# name: web\nnet.ipv4.tcp_tw_reuse = 1\n  net.ipv4.ip_local_port_range\t=  10000\t65001  \n" +
			"kernel.pid_max = 1\n# net.ipv4.tcp_fin_timeout = 5\nnet.ipv4.tcp_tw_reuse = 0\ntrailing \\ back\\slash $HOME `x` 'q'"
		writeFile(t, filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf"), content)
		got, err := Read(testCtx(t), sc.runner(root), noTarget, ReadRequest{PersistPath: "/etc/sysctl.d/90-tcp-tuning.conf"})
		if err != nil {
			t.Fatal(err)
		}
		want := &SysctlFile{
			Path:    "/etc/sysctl.d/90-tcp-tuning.conf",
			Managed: true,
			Name:    "web",
			Values: map[string]string{
				"net.ipv4.tcp_tw_reuse":        "0", // later lines win
				"net.ipv4.ip_local_port_range": "10000\t65001",
			},
			Content: content,
		}
		if !reflect.DeepEqual(got.File, want) {
			t.Errorf("File =\n%#v\nwant\n%#v", got.File, want)
		}
	})
}

func TestReadPersistedSymlink(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		writeFile(t, filepath.Join(root, "srv/conf/tcp.conf"), "net.core.somaxconn = 1024\n")
		if err := os.Symlink("../../srv/conf/tcp.conf", filepath.Join(root, "etc/sysctl.d/90-a.conf")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/srv/nowhere.conf", filepath.Join(root, "etc/sysctl.d/91-b.conf")); err != nil {
			t.Fatal(err)
		}
		r := sc.runner(root)
		got, err := Read(testCtx(t), r, noTarget, ReadRequest{PersistPath: "/etc/sysctl.d/90-a.conf"})
		if err != nil {
			t.Fatal(err)
		}
		want := &SysctlFile{Path: "/etc/sysctl.d/90-a.conf", Target: "../../srv/conf/tcp.conf",
			Values: map[string]string{"net.core.somaxconn": "1024"}, Content: "net.core.somaxconn = 1024\n"}
		if !reflect.DeepEqual(got.File, want) {
			t.Errorf("File = %#v, want %#v", got.File, want)
		}
		got, err = Read(testCtx(t), r, noTarget, ReadRequest{PersistPath: "/etc/sysctl.d/91-b.conf"})
		if err != nil {
			t.Fatal(err)
		}
		want = &SysctlFile{Path: "/etc/sysctl.d/91-b.conf", Target: "/srv/nowhere.conf", Missing: true, Values: map[string]string{}}
		if !reflect.DeepEqual(got.File, want) {
			t.Errorf("dangling File = %#v, want %#v", got.File, want)
		}
	})
}

func TestReadFacts(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		writeFile(t, filepath.Join(root, "proc/sys/net/ipv4/ip_unprivileged_port_start"), "80\n")
		ours := RenderFile(DefaultMarker, "web", map[string]string{"net.ipv4.tcp_tw_reuse": "1", "net.core.somaxconn": "8192"}, nil)
		writeFile(t, filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf"), ours)
		writeFile(t, filepath.Join(root, "etc/sysctl.d/50-other.conf"),
			"# vendor\n; also a comment\nnet/ipv4/tcp_tw_reuse=0\n-net.ipv4.tcp_fin_timeout = 15\nnet.ipv4.tcp_fin_timeout = 20\nvm.swappiness = 1\nnet.ipv4.tcp_timestamps = 0\n")
		writeFile(t, filepath.Join(root, "etc/sysctl.d/not-a-conf.txt"), "net.ipv4.tcp_tw_reuse = 0\n")
		writeFile(t, filepath.Join(root, "etc/sysctl.d/.hidden.conf.tmp"), "net.ipv4.tcp_tw_reuse = 0\n")
		writeFile(t, filepath.Join(root, "usr/lib/sysctl.d/50-default.conf"), "net.ipv4.tcp_fin_timeout = 30\n")
		writeFile(t, filepath.Join(root, "run/sysctl.d/99-late.conf"), "net.ipv4.tcp_tw_reuse = 2\n")
		writeFile(t, filepath.Join(root, "etc/sysctl.conf"), "net.ipv4.tcp_fin_timeout=45\n")
		if err := os.Symlink("../sysctl.conf", filepath.Join(root, "etc/sysctl.d/99-sysctl.conf")); err != nil {
			t.Fatal(err)
		}
		req := ReadRequest{Keys: []string{"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout"}, Facts: true}
		got, err := Read(testCtx(t), sc.runner(root), noTarget, req)
		if err != nil {
			t.Fatal(err)
		}
		if got.UnprivilegedPortStart != 80 {
			t.Errorf("UnprivilegedPortStart = %d, want 80", got.UnprivilegedPortStart)
		}
		if want := []int64{443, 6379, 8080}; !reflect.DeepEqual(got.ListeningPorts, want) {
			t.Errorf("ListeningPorts = %v, want %v", got.ListeningPorts, want)
		}
		want := []SysctlFile{
			{Path: "/etc/sysctl.d/50-other.conf", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "0", "net.ipv4.tcp_fin_timeout": "20"}},
			{Path: "/etc/sysctl.d/90-tcp-tuning.conf", Managed: true, Name: "web", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "1"}},
			{Path: "/etc/sysctl.d/99-sysctl.conf", Target: "../sysctl.conf", Values: map[string]string{"net.ipv4.tcp_fin_timeout": "45"}},
			{Path: "/run/sysctl.d/99-late.conf", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "2"}},
			{Path: "/usr/lib/sysctl.d/50-default.conf", Values: map[string]string{"net.ipv4.tcp_fin_timeout": "30"}},
			{Path: "/etc/sysctl.conf", Values: map[string]string{"net.ipv4.tcp_fin_timeout": "45"}},
		}
		if !reflect.DeepEqual(got.SysctlFiles, want) {
			t.Errorf("SysctlFiles =\n%#v\nwant\n%#v", got.SysctlFiles, want)
		}
	})
}

func TestReadFactsWithoutTCP6(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		if err := os.Remove(filepath.Join(root, "proc/net/tcp6")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(root, "proc/sys/net/ipv4/ip_unprivileged_port_start")); err != nil {
			t.Fatal(err)
		}
		got, err := Read(testCtx(t), sc.runner(root), noTarget, ReadRequest{Facts: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{6379, 8080}; !reflect.DeepEqual(got.ListeningPorts, want) {
			t.Errorf("ListeningPorts = %v, want %v", got.ListeningPorts, want)
		}
		if got.UnprivilegedPortStart != 1024 {
			t.Errorf("UnprivilegedPortStart = %d, want the pre-4.11 default 1024", got.UnprivilegedPortStart)
		}
		if len(got.SysctlFiles) != 0 {
			t.Errorf("SysctlFiles = %v, want none", got.SysctlFiles)
		}
	})
}
