package provider

import (
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
)

// TestMain lets the test binary act as the churn worker inside a fleet
// host (Host.Churn, Host.Listen, Host.Exhaust re-execute it).
func TestMain(m *testing.M) { labtest.Main(m) }
