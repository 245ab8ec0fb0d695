package rules

import (
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/hostscript"
)

// BootDirs are the directories systemd-sysctl reads at boot, earliest
// first. A file shadows files with the same basename in later directories.
// The list is the host scripts' (read.sh lists their files).
var BootDirs = hostscript.BootDirs

// SysctlConf is /etc/sysctl.conf, applied after every sysctl.d file
// (procps reads it last; Debian links it as /etc/sysctl.d/99-sysctl.conf).
const SysctlConf = hostscript.SysctlConf

// fileValue returns the raw value a file sets for key, matching keys in
// dotted or slash form (and systemd's "-" prefix). Glob patterns are not
// expanded. When a file sets the key more than once under different
// spellings, the lexically last spelling is used, so the result does not
// depend on map order.
func fileValue(f SysctlFile, key string) (string, bool) {
	if v, ok := f.Values[key]; ok {
		return v, true
	}
	var found []string
	for k := range f.Values {
		if catalog.NormalizeKey(k) == key {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	slices.Sort(found)
	return f.Values[found[len(found)-1]], true
}

// bootEntry is a file as systemd-sysctl orders it.
type bootEntry struct {
	file SysctlFile
	own  bool
	rank int    // index in BootDirs; len(BootDirs) for /etc/sysctl.conf
	base string // basename
}

func classify(p string) (rank int, base string, ok bool) {
	if p == SysctlConf {
		return len(BootDirs), "", true
	}
	dir, base := path.Dir(p), path.Base(p)
	if !strings.HasSuffix(base, ".conf") {
		return 0, "", false
	}
	i := slices.Index(BootDirs, dir)
	if i < 0 {
		return 0, "", false
	}
	return i, base, true
}

// WinsAtBoot reports which file's value for key is in effect after boot
// when this resource's file at ownPath sets key: it returns the other file
// that overrides ownPath and true, or nil and false when ownPath's value
// wins (or ownPath is not in a directory systemd-sysctl reads).
//
// The order is systemd-sysctl's: files of BootDirs are sorted by basename
// and applied in that order, so a later basename wins; a file with the same
// basename as one in an earlier directory is ignored entirely (shadowed);
// /etc/sysctl.conf comes last. A file with the same basename in an earlier
// directory that shadows ownPath is returned even if it does not set key,
// since this resource's file is then never read. Files that do not set key
// are otherwise ignored. The file at ownPath in files, if any, is ignored
// (ownPath is assumed to set key).
func WinsAtBoot(files []SysctlFile, ownPath string, key string) (*SysctlFile, bool) {
	ownRank, ownBase, ok := classify(ownPath)
	if !ok || ownPath == SysctlConf {
		return nil, false
	}
	// Shadowing by basename: keep the earliest directory per basename.
	byBase := map[string]bootEntry{ownBase: {file: SysctlFile{Path: ownPath}, own: true, rank: ownRank, base: ownBase}}
	var conf *SysctlFile
	for _, f := range files {
		if f.Path == ownPath {
			continue
		}
		rank, base, ok := classify(f.Path)
		if !ok {
			continue
		}
		if rank == len(BootDirs) {
			fc := f
			conf = &fc
			continue
		}
		cur, seen := byBase[base]
		if !seen || rank < cur.rank || (rank == cur.rank && !cur.own && f.Path < cur.file.Path) {
			byBase[base] = bootEntry{file: f, rank: rank, base: base}
		}
	}
	if e := byBase[ownBase]; !e.own {
		f := e.file
		return &f, true
	}
	// Apply in basename order; the last file that sets key wins.
	bases := slices.Sorted(maps.Keys(byBase))
	var winner *bootEntry
	for _, b := range bases {
		e := byBase[b]
		if e.own {
			winner = &e
			continue
		}
		if _, sets := fileValue(e.file, key); sets {
			winner = &e
		}
	}
	if conf != nil {
		if _, sets := fileValue(*conf, key); sets {
			return conf, true
		}
	}
	if winner == nil || winner.own {
		return nil, false
	}
	f := winner.file
	return &f, true
}
