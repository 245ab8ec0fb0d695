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

var _ datasource.DataSourceWithConfigure = (*statsDataSource)(nil)

const defaultTop = 10

// statsDataSource is tcp_stats: one host's TIME_WAIT picture.
type statsDataSource struct {
	data *providerData
}

// NewStatsDataSource returns the tcp_stats data source.
func NewStatsDataSource() datasource.DataSource { return &statsDataSource{} }

type statsModel struct {
	Host     types.String   `tfsdk:"host"`
	Port     types.Int64    `tfsdk:"port"`
	User     types.String   `tfsdk:"user"`
	HostKey  types.String   `tfsdk:"host_key"`
	Top      types.Int64    `tfsdk:"top"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`

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
)

func (d *statsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_stats"
}

func (d *statsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	pd, diags := providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	d.data = pd
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
			"host":     schema.StringAttribute{Required: true, MarkdownDescription: "Address or name of the host to read, over SSH."},
			"port":     schema.Int64Attribute{Optional: true, MarkdownDescription: "SSH port. Defaults to the provider's `port`.", Validators: []validator.Int64{int64validator.Between(1, 65535)}},
			"user":     schema.StringAttribute{Optional: true, MarkdownDescription: "SSH user. Defaults to the provider's `user`."},
			"host_key": schema.StringAttribute{Optional: true, MarkdownDescription: "Pinned host key or `@cert-authority` CA key for this host.", Validators: []validator.String{hostKeyValidator{}}},
			"top": schema.Int64Attribute{Optional: true, MarkdownDescription: fmt.Sprintf("How many entries `time_wait_by_destination` and `time_wait_by_local_port` keep. Defaults to `%d`.", defaultTop),
				Validators: []validator.Int64{int64validator.Between(0, tcpstats.MaxTop)}},
			"kernel_release": schema.StringAttribute{Computed: true, MarkdownDescription: "The host's kernel release (`uname -r`)."},
			"read_at":        schema.StringAttribute{Computed: true, MarkdownDescription: "When the figures were read (RFC 3339, UTC)."},
			"states": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Number of TCP sockets (IPv4 and IPv6) per state, by kernel state name (`ESTABLISHED`, `TIME_WAIT`, `LISTEN`, …)."},
			"time_wait": i64("Exact number of sockets in TIME_WAIT, IPv4 and IPv6."),
			"sockstat_tw": i64("`tw` of `/proc/net/sockstat` (what `ss -s` calls timewait): TIME_WAIT **plus orphaned FIN_WAIT2** sockets, " +
				"the number `tcp_max_tw_buckets` limits. It can exceed `time_wait`."),
			"orphaned": i64("`orphan` of `/proc/net/sockstat`: sockets no process holds any more (host-wide)."),
			"time_wait_by_destination": schema.ListAttribute{Computed: true, ElementType: destinationType,
				MarkdownDescription: "Client-side TIME_WAIT (this host closed first; the local port is one `connect()` could have chosen: inside `ip_local_port_range`, not reserved, not listening), per remote `address` and `port`, most first, at most `top` entries. These sockets hold ephemeral ports."},
			"time_wait_by_local_port": schema.ListAttribute{Computed: true, ElementType: localPortType,
				MarkdownDescription: "Server-side TIME_WAIT (every other local port: a listening port, a reserved port or one outside `ip_local_port_range`), per local `port`, most first, at most `top` entries. These cost memory, not ports: let clients close first or use keep-alive."},
			"ephemeral_ports": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "`ip_local_port_range` (`min`, `max`), how many of its ports `ip_local_reserved_ports` excludes (`reserved`) and how many `connect()` can use (`usable`).",
				Attributes:          map[string]schema.Attribute{"min": i64("Lowest ephemeral port."), "max": i64("Highest ephemeral port."), "reserved": i64("Reserved ports inside the range."), "usable": i64("Usable ephemeral ports: range size minus reserved.")}},
			"port_exhaustion": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "The destination holding the most ephemeral ports: sockets of every state from ephemeral local ports to it (`in_use`), against `usable`; `ratio` 1 means the next `connect()` to it fails with `EADDRNOTAVAIL`. With no client-side socket, `address` is empty and `in_use` and `ratio` are 0.",
				Attributes: map[string]schema.Attribute{
					"address": schema.StringAttribute{Computed: true, MarkdownDescription: "Remote address."},
					"port":    i64("Remote port."), "in_use": i64("Sockets to it from ephemeral ports."), "usable": i64("Usable ephemeral ports."),
					"ratio": schema.Float64Attribute{Computed: true, MarkdownDescription: "`in_use / usable`."},
				}},
			"max_connection_rate_per_destination": schema.Float64Attribute{Computed: true,
				MarkdownDescription: "Sustainable new short-lived connections per second from this host to one destination before ports run out: usable ports / 60 s " +
					"(TIME_WAIT lasts 60 s: 28,232 / 60 ≈ 470/s with the default range), or usable ports / `tcp_tw_reuse_delay` when `tcp_tw_reuse = 1` and timestamps are on (a ceiling: the peer must send timestamps too)."},
			"tw_buckets": schema.SingleNestedAttribute{Computed: true,
				MarkdownDescription: "`tcp_max_tw_buckets` (`limit`) against `sockstat_tw` (`used`). At the limit, a closing socket skips TIME_WAIT and `TCPTimeWaitOverflow` increments; existing TIME_WAIT sockets are not cleared.",
				Attributes:          map[string]schema.Attribute{"limit": i64("tcp_max_tw_buckets."), "used": i64("sockstat tw."), "ratio": schema.Float64Attribute{Computed: true, MarkdownDescription: "`used / limit`."}}},
			"counters": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Cumulative kernel counters: TcpExt `TW` (sockets that entered TIME_WAIT), `TWKilled`, `TWRecycled` (tw_reuse reuses), `TCPTimeWaitOverflow` (refusals at `tcp_max_tw_buckets`) and other TIME_WAIT counters; Tcp `ActiveOpens`, `PassiveOpens`, `CurrEstab` (a gauge). Only what the kernel has."},
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
	label := fmt.Sprintf("%s@%s:%d", t.User, t.Host, t.Port)
	top := int(int64Or(m.Top, defaultTop))
	snap, err := tcpstats.Collect(ctx, d.data.pool, t, top)
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
