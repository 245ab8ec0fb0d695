package hostops

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

func TestDelete(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		r := sc.runner(root)
		content := renderThree()
		ar, err := Apply(testCtx(t), r, noTarget, ApplyRequest{Owner: testOwner, Writes: threeWrites(), PersistPath: persistPath, FileContent: &content})
		if err != nil {
			t.Fatal(err)
		}
		// Kernel prints the range with a tab.
		writeFile(t, filepath.Join(root, "proc/sys/net/ipv4/ip_local_port_range"), "10000\t65001\n")
		var restore []Write
		for _, w := range threeWrites() {
			restore = append(restore, Write{Key: w.Key, Value: ar.Before[w.Key]})
		}
		restore = append(restore, Write{Key: "net.ipv4.tcp_tw_recycle", Value: "0"}) // gone from this kernel
		req := DeleteRequest{Owner: testOwner, Restore: restore, PersistPath: persistPath}
		got, err := Delete(testCtx(t), r, noTarget, req)
		if err != nil {
			t.Fatal(err)
		}
		want := &DeleteResult{
			Restored:    []string{"net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout"},
			Gone:        []string{"net.ipv4.tcp_tw_recycle"},
			FileRemoved: true,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Delete = %+v, want %+v", got, want)
		}
		for k, v := range map[string]string{"net.ipv4.tcp_tw_reuse": "2", "net.ipv4.ip_local_port_range": "32768\t60999", "net.ipv4.tcp_fin_timeout": "60"} {
			if got := procValue(t, root, k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if exists(filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")) {
			t.Errorf("file still there")
		}

		got, err = Delete(testCtx(t), r, noTarget, req)
		if err != nil {
			t.Fatal(err)
		}
		want = &DeleteResult{Same: []string{"net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_fin_timeout"}, Gone: []string{"net.ipv4.tcp_tw_recycle"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("second Delete = %+v, want %+v", got, want)
		}
	})
}

func TestDeleteSymlinkRemovesLinkOnly(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		linked := filepath.Join(root, "srv/tcp.conf")
		writeFile(t, linked, "x\n")
		link := filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")
		if err := os.Symlink("../../srv/tcp.conf", link); err != nil {
			t.Fatal(err)
		}
		got, err := Delete(testCtx(t), sc.runner(root), noTarget, DeleteRequest{Owner: testOwner, PersistPath: persistPath})
		if err != nil || !got.FileRemoved {
			t.Fatalf("Delete = %+v, %v", got, err)
		}
		if exists(link) || !exists(linked) {
			t.Errorf("link exists %v, target exists %v; want link gone, target kept", exists(link), exists(linked))
		}
	})
}

func TestDeleteContinuesPastFailures(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		writeFile(t, filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf"), "x\n")
		setImmutable(t, filepath.Join(root, "proc/sys/net/ipv4/tcp_tw_reuse"))
		req := DeleteRequest{Owner: testOwner,
			Restore: []Write{
				{Key: "net.ipv4.tcp_tw_reuse", Value: "0"},
				{Key: "net.ipv4.tcp_fin_timeout", Value: "45"},
			},
			PersistPath: persistPath,
		}
		got, err := Delete(testCtx(t), sc.runner(root), noTarget, req)
		var we *WriteError
		if !errors.As(err, &we) || we.Key != "net.ipv4.tcp_tw_reuse" || we.Errno != "EPERM" || we.Value != "0" || we.RolledBack {
			t.Fatalf("err = %+v, want EPERM on tcp_tw_reuse", err)
		}
		want := &DeleteResult{Restored: []string{"net.ipv4.tcp_fin_timeout"}, Failed: []string{"net.ipv4.tcp_tw_reuse"}, FileRemoved: true}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Delete = %+v, want %+v", got, want)
		}
		if v := procValue(t, root, "net.ipv4.tcp_fin_timeout"); v != "45" {
			t.Errorf("tcp_fin_timeout = %q, want 45", v)
		}
	})
}

func TestDeleteLeavesForeignFile(t *testing.T) {
	forShells(t, func(t *testing.T, sc shellCase) {
		root := fakeRoot(t)
		p := filepath.Join(root, "etc/sysctl.d/90-tcp-tuning.conf")
		req := DeleteRequest{Owner: testOwner, PersistPath: "/etc/sysctl.d/90-tcp-tuning.conf", Marker: DefaultMarker}
		writeFile(t, p, "net.core.somaxconn = 1234\n")
		res, err := Delete(testCtx(t), sc.runner(root), sshx.Target{}, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.FileRemoved || !res.FileForeign || !exists(p) {
			t.Errorf("result = %+v (file exists: %v), want the foreign file left alone", res, exists(p))
		}
		// A file that starts with the marker is ours and goes.
		writeFile(t, p, RenderFile(DefaultMarker, "x", map[string]string{"net.core.somaxconn": "1"}, nil))
		res, err = Delete(testCtx(t), sc.runner(root), sshx.Target{}, req)
		if err != nil || !res.FileRemoved || exists(p) {
			t.Errorf("managed file: %+v, %v (exists: %v)", res, err, exists(p))
		}
	})
}
