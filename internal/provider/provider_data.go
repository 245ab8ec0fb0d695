package provider

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// providerData is what Configure hands to resources and data sources.
type providerData struct {
	pool    *sshx.Pool
	user    string // provider default user
	port    int    // provider default port
	unknown bool   // provider configuration not yet known (plan before dependencies exist)

	mu     sync.Mutex
	facts  map[string]cachedRead  // target+persist path -> last read in this process
	reads  uint64                 // reads remembered so far: the order of facts
	claims map[string]string      // user@host:port/ + sysctl key -> resource name
	hostMu map[string]*sync.Mutex // one host operation at a time per host
	// created: user@host:port/ + name -> persist path of an object this
	// process created. A later delete of that name on that host in the
	// same process is its superseded predecessor (create_before_destroy).
	created map[string]string
}

// markCreated records that this process created the named object on t.
func (d *providerData) markCreated(t sshx.Target, name, persistPath string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.created == nil {
		d.created = map[string]string{}
	}
	d.created[targetKey(t)+name] = persistPath
}

// supersededBy returns the persist path of the object of this name that
// this process created on t, if any.
func (d *providerData) supersededBy(t sshx.Target, name string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.created[targetKey(t)+name]
	return p, ok
}

// cachedRead is a host read kept so ModifyPlan can run host-aware rules
// on the facts the refresh just read, without a second round trip.
type cachedRead struct {
	at   time.Time
	seq  uint64 // order of remembering, for eviction
	keys map[string]bool
	res  *hostops.ReadResult
}

// factsTTL bounds how old a refresh may be for plan-time rules to reuse it.
const factsTTL = 2 * time.Minute

func (d *providerData) remember(t sshx.Target, persistPath string, keys []string, res *hostops.ReadResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.facts == nil {
		d.facts = map[string]cachedRead{}
	}
	k := map[string]bool{}
	for _, key := range keys {
		k[key] = true
	}
	d.reads++
	d.facts[targetKey(t)+persistPath] = cachedRead{at: time.Now(), seq: d.reads, keys: k, res: res}
	for len(d.facts) > maxCachedReads {
		d.evictOldest()
	}
}

// maxCachedReads bounds the reads kept at once. A read is reused moments
// after it was made (the refresh's by the plan of the same resource, the
// final plan's by its apply), so only the hosts being worked on need one;
// unbounded, a plan process kept every host's read until it ended (a
// 1,000-host drift repair, 1,000 reads). The oldest go first: a read evicted
// before its use costs one more read of that host, never a wrong answer.
const maxCachedReads = 256

// evictOldest forgets the oldest cached read; d.mu is held.
func (d *providerData) evictOldest() {
	var oldest string
	var seq uint64
	for k, c := range d.facts {
		if oldest == "" || c.seq < seq {
			oldest, seq = k, c.seq
		}
	}
	delete(d.facts, oldest)
}

// recall returns a recent read of t that covered every key in keys.
func (d *providerData) recall(t sshx.Target, persistPath string, keys []string) *hostops.ReadResult {
	return d.recallWithin(t, persistPath, keys, factsTTL)
}

// recallWithin is recall with a maximum age.
func (d *providerData) recallWithin(t sshx.Target, persistPath string, keys []string, maxAge time.Duration) *hostops.ReadResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.facts[targetKey(t)+persistPath]
	if !ok || time.Since(c.at) > maxAge {
		return nil
	}
	for _, k := range keys {
		if !c.keys[k] {
			return nil
		}
	}
	return c.res
}

// forget drops every cached read of t's host: after a change there, no
// resource may plan or apply on what it read before.
func (d *providerData) forget(t sshx.Target, _ string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	prefix := targetKey(t)
	for k := range d.facts {
		if strings.HasPrefix(k, prefix) {
			delete(d.facts, k)
		}
	}
}

// drop forgets the cached read of one resource (t and its persisted file).
func (d *providerData) drop(t sshx.Target, persistPath string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.facts, targetKey(t)+persistPath)
}

func targetKey(t sshx.Target) string {
	return t.Label() + "/"
}

// providerDataFrom converts what the framework passes to Configure
// callbacks of resources and data sources.
func providerDataFrom(v any) (*providerData, diag.Diagnostics) {
	var diags diag.Diagnostics
	if v == nil {
		return nil, diags
	}
	d, ok := v.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *providerData, got %T. Please report this issue to the provider developers.", v))
		return nil, diags
	}
	return d, diags
}

// ready reports whether hosts can be reached; it explains why not.
func (d *providerData) ready() diag.Diagnostics {
	var diags diag.Diagnostics
	switch {
	case d == nil:
		diags.AddError("Provider Not Configured", "The tcp provider was not configured, so no host can be reached. This is a bug in Terraform or the provider; please report it.")
	case d.unknown || d.pool == nil:
		diags.AddError("Provider Configuration Unknown",
			"The tcp provider block depends on values that are not known yet (for example a key created in this same apply), "+
				"so hosts cannot be reached in this phase. Apply the dependencies first (terraform apply -target=...), then apply again.")
	}
	return diags
}

// target builds the transport target from a resource's or data source's
// per-host attributes; unset fields fall back to the provider block.
func target(host types.String, port types.Int64, user types.String, hostKey types.String) sshx.Target {
	return sshx.Target{
		Host:    host.ValueString(),
		Port:    int(port.ValueInt64()),
		User:    user.ValueString(),
		HostKey: hostKey.ValueString(),
	}
}

// resolve fills a target's unset user and port from the provider block.
func (d *providerData) resolve(t sshx.Target) sshx.Target {
	if t.User == "" {
		t.User = d.user
	}
	if t.Port == 0 {
		t.Port = d.port
	}
	return t
}

// claim records that the resource named name manages key on t, and returns
// the name of another resource that already claimed it in this process.
func (d *providerData) claim(t sshx.Target, key, name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.claims == nil {
		d.claims = map[string]string{}
	}
	k := targetKey(t) + key
	if other, ok := d.claims[k]; ok && other != name {
		return other
	}
	d.claims[k] = name
	return ""
}

// lockHost serializes this process's read-check-apply sequences on one
// host; call the returned function to unlock.
func (d *providerData) lockHost(t sshx.Target) func() {
	d.mu.Lock()
	if d.hostMu == nil {
		d.hostMu = map[string]*sync.Mutex{}
	}
	m, ok := d.hostMu[targetKey(t)]
	if !ok {
		m = &sync.Mutex{}
		d.hostMu[targetKey(t)] = m
	}
	d.mu.Unlock()
	m.Lock()
	return m.Unlock
}
