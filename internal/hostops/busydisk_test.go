package hostops

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkApplyBusyDisk: an apply that writes 3 keys, the record and the
// persisted file on a host whose disk is busy (a writer keeps about
// TCP_BUSY_MIB MiB, default 1024, of dirty pages on the same filesystem),
// with the sync each script gets:
//
//   - own-files: this host's sync takes -d FILE, so the scripts flush the
//     record, the file and their directory only;
//   - global: a sync that ignores its arguments and flushes everything
//     (coreutils < 8.24, busybox < 1.27), which is what the scripts' old
//     fallback ran whenever `sync FILE` failed.
//
// Reproduce: go test -run '^$' -bench ApplyBusyDisk -benchtime 5x ./internal/hostops/
// (writes TCP_BUSY_MIB MiB to the test's temporary directory, repeatedly).
func BenchmarkApplyBusyDisk(b *testing.B) {
	mib := 1024
	if v, err := strconv.Atoi(os.Getenv("TCP_BUSY_MIB")); err == nil && v > 0 {
		mib = v
	}
	for _, mode := range []string{"own-files", "global"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			var env []string
			if mode == "global" {
				bin := filepath.Join(dir, "bin")
				if err := os.Mkdir(bin, 0o755); err != nil {
					b.Fatal(err)
				}
				// Ignores its arguments, like the old syncs: one global flush.
				if err := os.WriteFile(filepath.Join(bin, "sync"), []byte("#!/bin/sh\nexec /bin/sync\n"), 0o755); err != nil {
					b.Fatal(err)
				}
				env = []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // the busy disk: dirty pages, never flushed by the writer
				defer wg.Done()
				chunk := make([]byte, 1<<20)
				for i := 0; ctx.Err() == nil; i++ {
					f, err := os.Create(filepath.Join(dir, "busy"+strconv.Itoa(i%2)))
					if err != nil {
						return
					}
					for n := 0; n < mib/2 && ctx.Err() == nil; n++ {
						_, _ = f.Write(chunk)
					}
					f.Close()
				}
			}()
			defer func() { cancel(); wg.Wait() }()
			time.Sleep(2 * time.Second) // let dirty pages pile up
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				root := fakeRoot(b)
				r := LocalRunner{Shell: "sh", Root: root, Env: env}
				content := renderThree()
				req := ApplyRequest{Owner: testOwner, Writes: threeWrites(), PersistPath: persistPath, FileContent: &content}
				b.StartTimer()
				if _, err := Apply(context.Background(), r, noTarget, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
