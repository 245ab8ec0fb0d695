package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/datasource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tcptune/terraform-provider-tcp/internal/tcpstats"
)

var (
	_ datasource.DataSourceWithConfigure      = (*statsDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*statsDataSource)(nil)
)

// statsDataSource is tcp_stats: one host's TIME_WAIT picture.
type statsDataSource struct {
	data *providerData
}

// NewStatsDataSource returns the tcp_stats data source.
func NewStatsDataSource() datasource.DataSource { return &statsDataSource{} }

type statsModel struct {
	Host          types.String   `tfsdk:"host"`
	Port          types.Int64    `tfsdk:"port"`
	User          types.String   `tfsdk:"user"`
	HostKey       types.String   `tfsdk:"host_key"`
	Top           types.Int64    `tfsdk:"top"`
	SampleSeconds types.Int64    `tfsdk:"sample_seconds"`
	Timeouts      timeouts.Value `tfsdk:"timeouts"`

	KernelRelease                   types.String  `tfsdk:"kernel_release"`
	ReadAt                          types.String  `tfsdk:"read_at"`
	States                          types.Map     `tfsdk:"states"`
	TimeWait                        types.Int64   `tfsdk:"time_wait"`
	SockstatTW                      types.Int64   `tfsdk:"sockstat_tw"`
	Orphaned                        types.Int64   `tfsdk:"orphaned"`
	TimeWaitByDestination           types.List    `tfsdk:"time_wait_by_destination"`
	TimeWaitByLocalPort             types.List    `tfsdk:"time_wait_by_local_port"`
	EphemeralPorts                  types.Object  `tfsdk:"ephemeral_ports"`
	PortExhaustion                  types.Object  `tfsdk:"port_exhaustion"`
	MaxConnectionRatePerDestination types.Float64 `tfsdk:"max_connection_rate_per_destination"`
	ConnectionRateWithoutReuse      types.Float64 `tfsdk:"connection_rate_without_reuse"`
	PortReuseCeiling                types.Float64 `tfsdk:"port_reuse_ceiling"`
	TWReuse                         types.String  `tfsdk:"tw_reuse"`
	ReuseDelay                      types.String  `tfsdk:"reuse_delay"`
	RateAssumptions                 types.String  `tfsdk:"rate_assumptions"`
	Rates                           types.Object  `tfsdk:"rates"`
	TWBuckets                       types.Object  `tfsdk:"tw_buckets"`
	Counters                        types.Map     `tfsdk:"counters"`
	Settings                        types.Map     `tfsdk:"settings"`
	Recommendations                 types.List    `tfsdk:"recommendations"`
}

var (
	destinationType = types.ObjectType{AttrTypes: map[string]attr.Type{"address": types.StringType, "port": types.Int64Type, "count": types.Int64Type}}
	localPortType   = types.ObjectType{AttrTypes: map[string]attr.Type{"port": types.Int64Type, "count": types.Int64Type}}
	ephemeralTypes  = map[string]attr.Type{"min": types.Int64Type, "max": types.Int64Type, "reserved": types.Int64Type, "usable": types.Int64Type}
	exhaustionTypes = map[string]attr.Type{"address": types.StringType, "port": types.Int64Type, "in_use": types.Int64Type, "usable": types.Int64Type, "ratio": types.Float64Type}
	bucketsTypes    = map[string]attr.Type{"limit": types.Int64Type, "used": types.Int64Type, "ratio": types.Float64Type}
	ratesTypes      = map[string]attr.Type{
		"seconds": types.Float64Type, "new_outgoing_connections": types.Float64Type, "new_incoming_connections": types.Float64Type,
		"time_wait_created": types.Float64Type, "time_wait_counted_at": types.StringType, "time_wait_taken_over": types.Float64Type,
		"time_wait_overflows": types.Float64Type, "orphaned_change": types.Float64Type,
		"worst_destination_sustainable": types.Float64Type, "seconds_to_exhaustion": types.Float64Type,
	}
)

func (d *statsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stats"
}

func (d *statsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	pd, diags := providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	d.data = pd
}

// ValidateConfig rejects a zero or negative read timeout before any read.
func (d *statsDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	resp.Diagnostics.Append(validateTimeouts(ctx, req.Config, "read")...)
}

func (d *statsDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	i64 := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads one host's TIME_WAIT picture: socket states, TIME_WAIT per destination and per local port, " +
			"how close each destination is to ephemeral-port exhaustion, the TIME_WAIT counters, the sysctls that govern TIME_WAIT, port reuse and " +
			"connection teardown, and plain recommendations.\n\n" +
			"Everything is gathered in one SSH round trip and aggregated on the host, so the answer stays small whatever the socket count.",
		Attributes: map[string]schema.Attribute{
			"host":     schema.StringAttribute{Required: true, MarkdownDescription: "Address or name of the host to read, over SSH.", Validators: []validator.String{hostValidator{}}},
			"port":     schema.Int64Attribute{Optional: true, MarkdownDescription: "SSH port. Defaults to the provider's `port`.", Validators: []validator.Int64{int64validator.Between(1, 65535)}},
			"user":     schema.StringAttribute{Optional: true, MarkdownDescription: "SSH user. Defaults to the provider's `user`.", Validators: []validator.String{userValidator{}}},
			"host_key": schema.StringAttribute{Optional: true, MarkdownDescription: "Pinned host key or `@cert-authority` CA key for this host.", Validators: []validator.String{hostKeyValidator{}}},
			"top": schema.Int64Attribute{Optional: true, MarkdownDescription: fmt.Sprintf("How many entries `time_wait_by_destination` and `time_wait_by_local_port` keep. Defaults to `%d`.", tcpstats.DefaultTop),
				Validators: []validator.Int64{int64validator.Between(0, tcpstats.MaxTop)}},
			"sample_seconds": schema.Int64Attribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("Read the kernel counters twice, this many seconds apart (1 to %d), in the same SSH exec, and report per-second `rates`. "+
					"The read, and so every plan, takes that much longer. Without it `rates` is null and the counters are totals since boot.", tcpstats.MaxSampleSeconds),
				Validators: []validator.Int64{int64validator.Between(1, tcpstats.MaxSampleSeconds)}},
			"kernel_release": schema.StringAttribute{Computed: true, MarkdownDescription: "The host's kernel release (`uname -r`). Facts that depend on the version (what `tcp_tw_reuse = 2` means, the reuse delay, when `TW` counts) are computed for it."},
			"read_at":        schema.StringAttribute{Computed: true, MarkdownDescription: "When the figures were read (RFC 3339, UTC)."},
			"states": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Number of TCP sockets (IPv4 and IPv6) per state, by kernel state name (`ESTABLISHED`, `TIME_WAIT`, `LISTEN`, …)."},
			"time_wait": i64("Exact number of sockets in TIME_WAIT, IPv4 and IPv6."),
			"sockstat_tw": i64("`tw` of `/proc/net/sockstat` (what `ss -s` calls timewait): TIME_WAIT **plus orphaned FIN_WAIT2** sockets, " +
				"the number `tcp_max_tw_buckets` limits. It can exceed `time_wait`."),
			"orphaned": i64("`orphan` of `/proc/net/sockstat`: full sockets no process holds any more (host-wide). TIME_WAIT and orphaned FIN_WAIT2 minisockets are not in it."),
			"time_wait_by_destination": schema.ListAttribute{Computed: true, ElementType: destinationType,
				MarkdownDescription: "Client-side TIME_WAIT (this host closed first; the local port is one `connect()` could have chosen: inside `ip_local_port_range`, not reserved, not listening), per remote `address` and `port`, most first, at most `top` entries. These sockets hold ephemeral ports."},
			"time_wait_by_local_port": schema.ListAttribute{Computed: true, ElementType: localPortType,
				MarkdownDescription: "Server-side TIME_WAIT (every other local port: a listening port, a reserved port or one outside `ip_local_port_range`), per local `port`, most first, at most `top` entries. These cost memory, not ports: let clients close first or use keep-alive."},
			"ephemeral_ports": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "`ip_local_port_range` (`min`, `max`), how many of its ports `ip_local_reserved_ports` excludes (`reserved`) and how many `connect()` can use (`usable`).",
				Attributes:          map[string]schema.Attribute{"min": i64("Lowest ephemeral port."), "max": i64("Highest ephemeral port."), "reserved": i64("Reserved ports inside the range."), "usable": i64("Usable ephemeral ports: range size minus reserved.")}},
			"port_exhaustion": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "The destination holding the most ephemeral ports: sockets of every state from ephemeral local ports to it (`in_use`), against `usable`. Without TIME_WAIT reuse for it, `ratio` 1 means the next `connect()` to it fails with `EADDRNOTAVAIL`; where reuse applies to it (see `tw_reuse`), its TIME_WAIT ports can be taken over and a ratio near 1 does not mean failure. With no client-side socket, `address` is empty and `in_use` and `ratio` are 0.",
				Attributes: map[string]schema.Attribute{
					"address": schema.StringAttribute{Computed: true, MarkdownDescription: "Remote address."},
					"port":    i64("Remote port."), "in_use": i64("Sockets to it from ephemeral ports."), "usable": i64("Usable ephemeral ports."),
					"ratio": schema.Float64Attribute{Computed: true, MarkdownDescription: "`in_use / usable`."},
				}},
			"max_connection_rate_per_destination": schema.Float64Attribute{Computed: true,
				MarkdownDescription: "New short-lived connections per second this host can open to one non-loopback destination `ip:port` with the current settings: " +
					"`port_reuse_ceiling` when TIME_WAIT reuse applies to such destinations, otherwise `connection_rate_without_reuse`. Read `rate_assumptions` before quoting it."},
			"connection_rate_without_reuse": schema.Float64Attribute{Computed: true,
				MarkdownDescription: "Usable ephemeral ports / 60 s of TIME_WAIT (28,232 / 60 ≈ 470 with the default range): the sustainable rate of new connections to one destination `ip:port` " +
					"when this host closes first, from one source address (more source addresses multiply it), without reuse. An upper bound: ports that programs hold with `bind()` are skipped for every destination."},
			"port_reuse_ceiling": schema.Float64Attribute{Computed: true,
				MarkdownDescription: "When TIME_WAIT reuse applies to non-loopback destinations (`tw_reuse` is `all destinations`): usable ports / the reuse delay of this kernel (`reuse_delay`). " +
					"A theoretical ceiling, not a rate the host will sustain: reuse needs the peer to send timestamps, and the application must keep up. `0` when reuse does not apply."},
			"tw_reuse": schema.StringAttribute{Computed: true,
				MarkdownDescription: "What `tcp_tw_reuse` does on this host's kernel with its `tcp_timestamps`: `off`, `loopback only` (`2` on Linux 4.18+) or `all destinations` (`1`, or any non-zero value before 4.18)."},
			"reuse_delay": schema.StringAttribute{Computed: true,
				MarkdownDescription: "When a TIME_WAIT port may be taken over on this kernel: `tcp_tw_reuse_delay` ms after the socket entered TIME_WAIT (6.14+), 0-1 s after the peer's last timestamped segment (4.18-6.13), 1-2 s (4.17 and older)."},
			"rate_assumptions": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The rate figures' assumptions, in one paragraph: who closes first, source addresses, `bind()`, reuse and its delay on this kernel."},
			"rates": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "Per-second rates between the two readings of `sample_seconds`; null without it. Counter deltas of the host's network namespace divided by the seconds the host measured.",
				Attributes: map[string]schema.Attribute{
					"seconds":                  schema.Float64Attribute{Computed: true, MarkdownDescription: "Seconds between the two readings (host clock)."},
					"new_outgoing_connections": schema.Float64Attribute{Computed: true, MarkdownDescription: "Tcp `ActiveOpens` per second: connections this host opened, to every destination."},
					"new_incoming_connections": schema.Float64Attribute{Computed: true, MarkdownDescription: "Tcp `PassiveOpens` per second: connections this host accepted."},
					"time_wait_created": schema.Float64Attribute{Computed: true, MarkdownDescription: "TcpExt `TW` + `TWKilled` per second: timewait minisockets (TIME_WAIT and orphaned FIN_WAIT2). " +
						"Before Linux 5.18 the kernel counts them when they expire, so this is the rate of 60 s ago (see `time_wait_counted_at`)."},
					"time_wait_counted_at": schema.StringAttribute{Computed: true, MarkdownDescription: "`creation` (Linux 5.18+) or `expiry` (older): when this kernel counts `TW`."},
					"time_wait_taken_over": schema.Float64Attribute{Computed: true, MarkdownDescription: "TcpExt `TWRecycled` per second: TIME_WAIT 4-tuples taken over by `connect()`, through `tcp_tw_reuse` or `SO_REUSEADDR` on both sockets. Unrelated to `tcp_tw_recycle`."},
					"time_wait_overflows":  schema.Float64Attribute{Computed: true, MarkdownDescription: "TcpExt `TCPTimeWaitOverflow` per second: closes that skipped TIME_WAIT (bucket table full or allocation failed)."},
					"orphaned_change":      schema.Float64Attribute{Computed: true, MarkdownDescription: "Change of the `orphaned` gauge per second (negative when orphans drain)."},
					"worst_destination_sustainable": schema.Float64Attribute{Computed: true, MarkdownDescription: "The rate `port_exhaustion`'s destination can take with the settings that apply to it " +
						"(its port-reuse ceiling where reuse applies to it, loopback included; otherwise `connection_rate_without_reuse`)."},
					"seconds_to_exhaustion": schema.Float64Attribute{Computed: true, MarkdownDescription: "How long the worst destination's free ports last if every new outgoing connection went to it at `new_outgoing_connections`, " +
						"each holding its port 60 s (or the reuse delay where reuse applies) while current sockets age out: `-1` when that rate fits, `0` when the ports are full."},
				}},
			"tw_buckets": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "`tcp_max_tw_buckets` (`limit`) against `sockstat_tw` (`used`). At the limit, a closing socket skips TIME_WAIT and `TCPTimeWaitOverflow` increments; existing TIME_WAIT sockets are not cleared.",
				Attributes:          map[string]schema.Attribute{"limit": i64("tcp_max_tw_buckets."), "used": i64("sockstat tw."), "ratio": schema.Float64Attribute{Computed: true, MarkdownDescription: "`used / limit`."}}},
			"counters": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Kernel counters by their kernel names, totals since boot (or since the network namespace was created; with `sample_seconds`, of the second reading): " +
					"TcpExt `TW` (timewait minisockets, TIME_WAIT **or orphaned FIN_WAIT2**, given a timer over 4 s; counted at creation since Linux 5.18, at expiry before), " +
					"`TWKilled` (the same with a timer of 4 s or less: mostly orphaned FIN_WAIT2 under a low `tcp_fin_timeout`), " +
					"`TWRecycled` (a historical name, **unrelated to `tcp_tw_recycle`**: TIME_WAIT 4-tuples taken over by `connect()`, through `tcp_tw_reuse` or `SO_REUSEADDR`), " +
					"`TCPTimeWaitOverflow` (closes that skipped TIME_WAIT because `tcp_max_tw_buckets` was full or the allocation failed, under whatever limit was set then) and other TIME_WAIT counters; " +
					"Tcp `ActiveOpens`, `PassiveOpens`, `CurrEstab` (a gauge). Only what the kernel has."},
			"settings": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Current values of the sysctls that govern TIME_WAIT, port reuse and connection teardown, by name under `net.ipv4` (`tcp_tw_reuse`, `tcp_timestamps`, `tcp_max_tw_buckets`, `ip_local_port_range` as `\"min max\"`, `tcp_fin_timeout`, …). " +
					"`tcp_fin_timeout` bounds orphaned FIN_WAIT2 only; it does not change the length of TIME_WAIT (fixed at 60 s)."},
			"recommendations": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Plain sentences, each naming its evidence and the lever to pull. Empty when nothing calls for action."},
		},
		Blocks: map[string]schema.Block{"timeouts": timeouts.Block(ctx)},
	}
}

func (d *statsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	resp.Diagnostics.Append(d.data.ready()...)
	var m statsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Read(ctx, defaultOpTime)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	t := d.data.resolve(target(m.Host, m.Port, m.User, m.HostKey))
	label := t.Label()
	top := int(int64Or(m.Top, tcpstats.DefaultTop))
	snap, err := tcpstats.CollectInput(ctx, d.data.pool, t, tcpstats.Input{Top: top, Sample: int(int64Or(m.SampleSeconds, 0))})
	if err != nil {
		resp.Diagnostics.Append(hostErrorDiag("Read TCP Statistics", label, err))
		return
	}
	r := tcpstats.Analyze(snap)

	m.KernelRelease = types.StringValue(r.KernelRelease)
	m.ReadAt = types.StringValue(time.Now().UTC().Format(time.RFC3339))
	m.States = int64Map(r.States)
	m.TimeWait = types.Int64Value(r.TimeWait)
	m.SockstatTW = types.Int64Value(r.SockstatTW)
	m.Orphaned = types.Int64Value(r.Orphaned)
	var dests []attr.Value
	for _, dc := range r.TimeWaitByDestination {
		dests = append(dests, types.ObjectValueMust(destinationType.AttrTypes, map[string]attr.Value{
			"address": types.StringValue(dc.Address), "port": types.Int64Value(dc.Port), "count": types.Int64Value(dc.Count)}))
	}
	m.TimeWaitByDestination = types.ListValueMust(destinationType, nonNil(dests))
	var locals []attr.Value
	for _, pc := range r.TimeWaitByLocalPort {
		locals = append(locals, types.ObjectValueMust(localPortType.AttrTypes, map[string]attr.Value{
			"port": types.Int64Value(pc.Port), "count": types.Int64Value(pc.Count)}))
	}
	m.TimeWaitByLocalPort = types.ListValueMust(localPortType, nonNil(locals))
	e := r.EphemeralPorts
	m.EphemeralPorts = types.ObjectValueMust(ephemeralTypes, map[string]attr.Value{
		"min": types.Int64Value(e.Min), "max": types.Int64Value(e.Max), "reserved": types.Int64Value(e.Reserved), "usable": types.Int64Value(e.Usable)})
	p := r.PortExhaustion
	m.PortExhaustion = types.ObjectValueMust(exhaustionTypes, map[string]attr.Value{
		"address": types.StringValue(p.Address), "port": types.Int64Value(p.Port), "in_use": types.Int64Value(p.InUse),
		"usable": types.Int64Value(p.Usable), "ratio": types.Float64Value(p.Ratio)})
	m.MaxConnectionRatePerDestination = types.Float64Value(r.MaxConnectionRatePerDestination)
	m.ConnectionRateWithoutReuse = types.Float64Value(r.RateWithoutReuse)
	m.PortReuseCeiling = types.Float64Value(r.PortReuseCeiling)
	m.TWReuse = types.StringValue(r.Reuse)
	m.ReuseDelay = types.StringValue(r.ReuseDelay)
	m.RateAssumptions = types.StringValue(r.RateAssumptions)
	m.Rates = types.ObjectNull(ratesTypes)
	if rt := r.Rates; rt != nil {
		countedAt := "expiry"
		if rt.TWCountedAtCreation {
			countedAt = "creation"
		}
		m.Rates = types.ObjectValueMust(ratesTypes, map[string]attr.Value{
			"seconds": types.Float64Value(rt.Seconds), "new_outgoing_connections": types.Float64Value(rt.NewOutgoing),
			"new_incoming_connections": types.Float64Value(rt.NewIncoming), "time_wait_created": types.Float64Value(rt.TimeWaitCreated),
			"time_wait_counted_at": types.StringValue(countedAt), "time_wait_taken_over": types.Float64Value(rt.TakenOver),
			"time_wait_overflows": types.Float64Value(rt.Overflows), "orphaned_change": types.Float64Value(rt.OrphanedChange),
			"worst_destination_sustainable": types.Float64Value(rt.WorstSustainable), "seconds_to_exhaustion": types.Float64Value(rt.SecondsToExhaustion),
		})
	}
	b := r.TWBuckets
	m.TWBuckets = types.ObjectValueMust(bucketsTypes, map[string]attr.Value{
		"limit": types.Int64Value(b.Limit), "used": types.Int64Value(b.Used), "ratio": types.Float64Value(b.Ratio)})
	m.Counters = int64Map(r.Counters)
	m.Settings = stringMapValue(r.Settings)
	var recs []attr.Value
	for _, s := range r.Recommendations {
		recs = append(recs, types.StringValue(s))
	}
	m.Recommendations = types.ListValueMust(types.StringType, nonNil(recs))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func int64Map(m map[string]int64) types.Map {
	out := map[string]attr.Value{}
	for k, v := range m {
		out[k] = types.Int64Value(v)
	}
	return types.MapValueMust(types.Int64Type, out)
}

func nonNil(v []attr.Value) []attr.Value {
	if v == nil {
		return []attr.Value{}
	}
	return v
}
