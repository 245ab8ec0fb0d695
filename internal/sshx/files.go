package sshx

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxKnownHostsBytes bounds the known_hosts file the pool reads: far above
// any real file (a line is about 100 bytes), small enough that a wrong
// path cannot exhaust memory.
const MaxKnownHostsBytes = 16 << 20

// readBoundedFile reads a configuration file that must be a regular file of
// at most limit bytes. It never blocks on a FIFO or device and never reads
// more than limit+1 bytes: the path is checked with stat before it is
// opened, opened without blocking, checked again on the open file (it must
// be the file that was checked), and read through a limit. The error says
// what the path is when it is not a regular file. A missing file's error
// satisfies errors.Is(err, fs.ErrNotExist).
func readBoundedFile(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regularWithin(st, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	fst, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := regularWithin(fst, limit); err != nil {
		return nil, err
	}
	if !os.SameFile(st, fst) {
		return nil, errors.New("the file was replaced while it was being opened; try again")
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the file grew beyond %s while it was read", byteSize(limit))
	}
	return data, nil
}

// regularWithin checks that st is a regular file of at most limit bytes.
func regularWithin(st fs.FileInfo, limit int64) error {
	m := st.Mode()
	var what string
	switch {
	case m.IsRegular():
		if st.Size() > limit {
			return fmt.Errorf("the file is %s, more than the %s allowed", byteSize(st.Size()), byteSize(limit))
		}
		return nil
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	default:
		what = "not a regular file"
	}
	return fmt.Errorf("the path is %s; it must be a regular file", what)
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
