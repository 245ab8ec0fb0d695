package catalog

import (
	"fmt"
)

// Capacity is what an ephemeral port range (minus its reserved ports)
// allows towards one destination ip:port, as the provider function
// port_capacity reports it.
type Capacity struct {
	// Usable is the number of ports in the range that are not reserved: at
	// most this many connections to one destination can exist at once.
	Usable int64
	// RatePerDestination is the sustainable rate of new short connections
	// per second to one destination without TIME_WAIT reuse: every usable
	// port carries one connection per TIME_WAIT period, Usable / 60 s.
	RatePerDestination float64
	// ReuseCeiling is the port-reuse ceiling with tcp_tw_reuse in effect
	// for the destination: Usable / ReuseDelayMs. A theoretical figure (it
	// needs timestamps on both ends and connections shorter than the delay).
	ReuseCeiling float64
	// ReuseDelayMs is the reuse delay ReuseCeiling assumes.
	ReuseDelayMs int64
}

// CapacityAssumptions states what every Capacity figure assumes, in the
// words docs and function results use.
const CapacityAssumptions = "This host closes first (client-side TIME_WAIT), connections go to one destination " +
	"ip:port from one source address (each extra source address or destination multiplies the figures), and " +
	"usable ports is an upper bound (ports held by bind() are skipped for every destination). " +
	"The rate without reuse holds because TIME_WAIT lasts 60 s whatever the sysctls. " +
	"The reuse figure is a theoretical ceiling: it needs tcp_tw_reuse in effect for the destination " +
	"(1; 2 means loopback only on Linux 4.18 and later, every destination before), TCP timestamps on both ends, " +
	"and a reuse delay of 1000 ms (tcp_tw_reuse_delay's default on Linux 6.14 and later; older kernels " +
	"reuse after 0 to 2 s)."

// RangeError is an invalid ip_local_port_range value.
type RangeError struct {
	// Field is "min" or "max" for a bound out of the ports that exist, ""
	// when the range is reversed.
	Field  string
	Range  PortRange
	Reason string
}

func (e *RangeError) Error() string { return e.Reason }

// CheckPortRange reports whether r is a port range the kernel can hold: both
// ends within the ports the ip_local_port_range row allows (1–65535) and
// min <= max. It does not apply the kernel's ip_unprivileged_port_start,
// which only the host knows.
func CheckPortRange(r PortRange) error {
	row := table[byAttribute["ip_local_port_range"]]
	switch {
	case r.Min < row.Min || r.Min > row.Max:
		return &RangeError{Field: "min", Range: r, Reason: fmt.Sprintf("min is %d, but ports are %d-%d", r.Min, row.Min, row.Max)}
	case r.Max < row.Min || r.Max > row.Max:
		return &RangeError{Field: "max", Range: r, Reason: fmt.Sprintf("max is %d, but ports are %d-%d", r.Max, row.Min, row.Max)}
	case r.Min > r.Max:
		return &RangeError{Range: r, Reason: fmt.Sprintf("reversed range: min %d is greater than max %d", r.Min, r.Max)}
	}
	return nil
}

// CapacityOf returns the capacity of the ephemeral range r with the
// reserved spans removed, computed as the tcp_tuning rules and tcp_stats do
// (UsablePorts, SustainableRate with the default reuse delay). r should pass
// CheckPortRange; a reversed range has no usable ports.
func CapacityOf(r PortRange, reserved []PortSpan) Capacity {
	usable := UsablePorts(r.Min, r.Max, reserved)
	return Capacity{
		Usable:             usable,
		RatePerDestination: SustainableRate(usable, false, 0),
		ReuseCeiling:       SustainableRate(usable, true, DefaultReuseDelayMs),
		ReuseDelayMs:       DefaultReuseDelayMs,
	}
}
