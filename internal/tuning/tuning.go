// Package tuning holds the lifecycle decisions of one tcp_tuning resource,
// free of the Terraform framework: which original value each key has (the
// host's record wins over Terraform state), which keys go back when a
// setting is removed, what state to keep when the outcome on the host is
// unknown, who owns a key on a host, and how an interrupted run is
// recovered. It talks to hosts only through hostops, over a Runner, so it is
// unit-tested against a fake root without SSH or root.
//
// internal/provider translates between its models and the types here and
// builds the diagnostics; it does not decide.
package tuning

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// Spec is what one resource wants on its host.
type Spec struct {
	Name        string            // the resource's name: owner of its keys in the host record
	PersistPath string            // /etc/sysctl.d/<priority>-<name>.conf
	Persist     bool              // write the persisted file
	Desired     map[string]string // sysctl key -> canonical value
	// Replaces is the name this resource had before (a rename, applied in
	// place): the keys the host's record gives that name are its own.
	Replaces string
}

// Prior is what Terraform state held before this operation.
type Prior struct {
	Spec
	Originals map[string]string // key -> canonical original
}

// Applied is the outcome of a successful apply: the values state records.
type Applied struct {
	KernelRelease string
	Originals     map[string]string // canonical original of every desired key, from the host's record
	Wrote         []string
	Released      []string
	// RecordKept is set when the record could not be shrunk at the end
	// (harmless: the next apply or delete does it).
	RecordKept string
}

// Failure is a failed apply. Err is what went wrong; when Unknown, the
// host may hold some of the new values and Keep is the state to record so
// that nothing is lost: the planned settings plus the keys being given
// back, with every original known.
type Failure struct {
	Err     error
	Unknown bool
	Keep    *Prior
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// LockWait is how long a host operation with deadline ctx waits for the
// host lock: the time left less a margin for the work itself, at most
// MaxLockWait.
func LockWait(ctx context.Context) time.Duration {
	const margin = 5 * time.Second
	dl, ok := ctx.Deadline()
	if !ok {
		return MaxLockWait
	}
	return min(max(time.Until(dl)-margin, 0), MaxLockWait)
}

// MaxLockWait bounds the wait for the host lock.
const MaxLockWait = 60 * time.Second

// Originals decides each desired key's original value before an apply:
// the host's record entry owned by this resource (or by the resource it
// replaces) wins, then the original Terraform state holds, then the live
// value (the key was never changed by us). Keys the host cannot show are
// left out.
func Originals(spec Spec, prior *Prior, facts *hostops.ReadResult) map[string]string {
	out := map[string]string{}
	rec := recordOf(facts)
	for k := range spec.Desired {
		if e, ok := rec[k]; ok && (e.Owner == spec.Name || (spec.Replaces != "" && e.Owner == spec.Replaces)) {
			if c, err := catalog.CanonicalForKey(k, e.Value); err == nil {
				out[k] = c
				continue
			}
		}
		if prior != nil {
			if v, ok := prior.Originals[k]; ok {
				out[k] = v
				continue
			}
		}
		if facts != nil {
			if v, ok := LiveCanonical(facts, k); ok {
				out[k] = v
			}
		}
	}
	return out
}

// Conflict is a key another resource owns on the host.
type Conflict struct {
	Key   string
	Owner string
}

// Conflicts lists the desired keys the host's record gives to another
// resource than spec's own (or the one it replaces).
func Conflicts(spec Spec, facts *hostops.ReadResult) []Conflict {
	var out []Conflict
	rec := recordOf(facts)
	for _, k := range slices.Sorted(maps.Keys(spec.Desired)) {
		e, ok := rec[k]
		if ok && e.Owner != spec.Name && e.Owner != spec.Replaces {
			out = append(out, Conflict{Key: k, Owner: e.Owner})
		}
	}
	return out
}

// Recovered lists the keys the host's record gives to this resource that
// Terraform state does not know: left by a run that was interrupted after
// the host changed (their originals come from the host).
func Recovered(spec Spec, prior *Prior, facts *hostops.ReadResult) []string {
	var out []string
	for _, e := range recordEntries(facts) {
		if e.Owner != spec.Name {
			continue
		}
		if prior == nil || !hasKey(prior.Originals, e.Key) {
			out = append(out, e.Key)
		}
	}
	slices.Sort(out)
	return out
}

// OwnedBy lists the record's entries owned by name.
func OwnedBy(facts *hostops.ReadResult, name string) []hostops.RecordEntry {
	var out []hostops.RecordEntry
	for _, e := range recordEntries(facts) {
		if e.Owner == name {
			out = append(out, e)
		}
	}
	return out
}

// Apply brings the host to spec in one all-or-nothing host operation under
// the host lock. prior is the state before an update (nil on create);
// facts is a recent read of the host (for originals and the persisted
// file's comments); keys prior managed that spec does not are given back.
// The originals returned are the host record's, so an interrupted earlier
// run loses nothing.
func Apply(ctx context.Context, r hostops.Runner, t sshx.Target, spec Spec, prior *Prior, facts *hostops.ReadResult) (*Applied, error) {
	if prior != nil && prior.Name != spec.Name {
		spec.Replaces = prior.Name // a rename: the old name's keys move over
	}
	originals := Originals(spec, prior, facts)
	req := hostops.ApplyRequest{
		Owner:       spec.Name,
		From:        spec.Replaces,
		LockWait:    LockWait(ctx),
		Writes:      Writes(spec.Desired),
		PersistPath: spec.PersistPath,
	}
	removed := removedKeys(spec, prior)
	if prior != nil {
		for _, k := range slices.Sorted(maps.Keys(removed)) {
			if orig, ok := prior.Originals[k]; ok {
				req.Release = append(req.Release, WriteFor(k, orig))
			}
		}
	}
	if spec.Persist {
		content := hostops.RenderFile(hostops.DefaultMarker, spec.Name, spec.Desired, originals)
		req.FileContent = &content
	} else if prior != nil {
		req.RemoveFile = true
	}
	if prior != nil && prior.PersistPath != "" && prior.PersistPath != spec.PersistPath {
		req.OldPersistPath = prior.PersistPath // a new name or priority moves the file
	}
	res, err := hostops.Apply(ctx, r, t, req)
	if err != nil {
		return nil, applyFailure(err, spec, prior, originals, removed)
	}
	return applied(res, spec, facts, originals), nil
}

// removedKeys are the keys prior managed that spec does not, with prior's
// desired values.
func removedKeys(spec Spec, prior *Prior) map[string]string {
	removed := map[string]string{}
	if prior == nil {
		return removed
	}
	for k, v := range prior.Desired {
		if _, still := spec.Desired[k]; !still {
			removed[k] = v
		}
	}
	return removed
}

// applyFailure is a failed Apply's error. When the outcome is unknown it
// keeps what state must hold on to: spec, and the removed keys with their
// originals, as the host may have any of them.
func applyFailure(err error, spec Spec, prior *Prior, originals, removed map[string]string) *Failure {
	f := &Failure{Err: err, Unknown: OutcomeUnknown(err)}
	if !f.Unknown {
		return f
	}
	keep := Prior{Spec: spec, Originals: originals}
	keep.Desired = maps.Clone(spec.Desired)
	for k, v := range removed {
		keep.Desired[k] = v
		if o, ok := prior.Originals[k]; ok {
			keep.Originals[k] = o
		}
	}
	f.Keep = &keep
	return f
}

// applied is a successful Apply's result: the host record's originals of
// spec's keys, canonical (originals' value where the record's does not
// parse).
func applied(res *hostops.ApplyResult, spec Spec, facts *hostops.ReadResult, originals map[string]string) *Applied {
	out := &Applied{Originals: map[string]string{}, Wrote: res.Wrote, Released: res.Released, RecordKept: res.RecordKept}
	if facts != nil {
		out.KernelRelease = facts.KernelRelease
	}
	for k := range spec.Desired {
		raw, ok := res.Originals[k]
		if !ok {
			continue
		}
		c, err := catalog.CanonicalForKey(k, raw)
		if err != nil {
			c = originals[k]
		}
		out.Originals[k] = c
	}
	return out
}

// Delete gives every key of the resource back (the host record's originals,
// with originals as the fallback for a record that lacks them) and removes
// its persisted file; the record entries go last. Running it twice is
// harmless. restore false drops the record entries and leaves the values.
func Delete(ctx context.Context, r hostops.Runner, t sshx.Target, spec Spec, originals map[string]string, restore bool) (*hostops.DeleteResult, error) {
	req := hostops.DeleteRequest{
		Owner:       spec.Name,
		LockWait:    LockWait(ctx),
		PersistPath: spec.PersistPath,
		Marker:      hostops.DefaultMarker,
		NoRestore:   !restore,
	}
	if restore {
		for _, k := range slices.Sorted(maps.Keys(originals)) {
			req.Restore = append(req.Restore, WriteFor(k, originals[k]))
		}
	}
	return hostops.Delete(ctx, r, t, req)
}

// DeleteSuperseded is the delete of an object that a newer object of the
// same name on the same host has already replaced (create_before_destroy,
// or terraform apply -replace): the newer one took its keys and their
// originals over, so only a persisted file at another path than newPath
// (the newer one's) is removed.
func DeleteSuperseded(ctx context.Context, r hostops.Runner, t sshx.Target, spec Spec, newPath string) (*hostops.DeleteResult, error) {
	req := hostops.DeleteRequest{Owner: spec.Name, LockWait: LockWait(ctx), FileOnly: true, Marker: hostops.DefaultMarker}
	if spec.PersistPath != newPath {
		req.PersistPath = spec.PersistPath
	}
	return hostops.Delete(ctx, r, t, req)
}

// OutcomeUnknown reports whether a failed operation may have changed the
// host: unreadable or cut output, a lost connection or a deadline during
// the script, a rollback that did not complete.
func OutcomeUnknown(err error) bool {
	var pe *hostops.ProtocolError
	if errors.As(err, &pe) {
		return true
	}
	var we *hostops.WriteError
	if errors.As(err, &we) {
		return !we.RolledBack
	}
	var le *hostops.LockError
	var oe *hostops.OwnedError
	if errors.As(err, &le) || errors.As(err, &oe) {
		return false
	}
	return sshx.KindOf(err) == sshx.KindOutcomeUnknown
}

// Writes builds the host writes for a key -> canonical map, in key order.
func Writes(desired map[string]string) []hostops.Write {
	var ws []hostops.Write
	for _, k := range slices.Sorted(maps.Keys(desired)) {
		ws = append(ws, WriteFor(k, desired[k]))
	}
	return ws
}

// WriteFor is the host write of one canonical value: the text the kernel
// takes, and what it prints back.
func WriteFor(key, canonical string) hostops.Write {
	kind := catalog.KindString
	if s, ok := catalog.ByKey(key); ok {
		kind = s.Kind
	}
	return hostops.Write{Key: key, Value: catalog.KernelValue(kind, canonical), Expect: canonical}
}

// LiveCanonical is a key's live value in canonical form.
func LiveCanonical(res *hostops.ReadResult, key string) (string, bool) {
	ks, ok := res.Keys[key]
	if !ok || !ks.Exists || !ks.Readable {
		return "", false
	}
	c, err := catalog.CanonicalForKey(key, ks.Value)
	if err != nil {
		return "", false
	}
	return c, true
}

func recordEntries(facts *hostops.ReadResult) []hostops.RecordEntry {
	if facts == nil {
		return nil
	}
	return facts.Record
}

func recordOf(facts *hostops.ReadResult) map[string]hostops.RecordEntry {
	m := map[string]hostops.RecordEntry{}
	for _, e := range recordEntries(facts) {
		m[e.Key] = e
	}
	return m
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
