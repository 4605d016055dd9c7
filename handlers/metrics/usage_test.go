package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/handlerstest"
)

// TestUsageMetricsPerReseller: the per-reseller gauges add up each reseller's licenses (a reseller
// without any shows zeros), pass the Prometheus linter, and carry no label but reseller and
// status.
func TestUsageMetricsPerReseller(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	c := handlerstest.Start(t, handlers.Options{Clock: func() time.Time { return now }})
	for _, step := range [][2]string{
		{"reseller.create", `{"id":"r1","name":"R"}`},
		{"reseller.create", `{"id":"r2","name":"R2"}`},
		{"tenant.create", `{"resellerId":"r1","id":"t1","name":"T"}`},
		{"product.create", `{"id":"p1","name":"P"}`},
		{"plan.create", `{"id":"small","productId":"p1","name":"Small","tier":1,"seats":4,"machines":3}`},
		{"license.create", `{"id":"la","resellerId":"r1","tenantId":"t1","planId":"small"}`},
		{"license.create", `{"id":"lb","resellerId":"r1","tenantId":"t1","planId":"small"}`},
		{"seat.register", `{"licenseId":"la","endUserCompany":"Acme","endUserName":"ann"}`},
		{"seat.register", `{"licenseId":"la","endUserCompany":"Acme","endUserName":"bob"}`},
		{"seat.unregister", `{"licenseId":"la","endUserCompany":"Acme","endUserName":"bob"}`},
		{"seat.register", `{"licenseId":"lb","endUserCompany":"Acme","endUserName":"cy"}`},
		{"machine.activate", `{"licenseId":"lb","fingerprint":"m1"}`},
		{"license.suspend", `{"licenseId":"lb"}`},
	} {
		c.Must(t, step[0], step[1])
	}
	// The gauges read the read models, which apply the last command a moment after its reply.
	for deadline := time.Now().Add(5 * time.Second); c.Ledger.Projected() < c.Store.Durable(); {
		if time.Now().After(deadline) {
			t.Fatalf("the read models stay at %d of %d", c.Ledger.Projected(), c.Store.Durable())
		}
		time.Sleep(time.Millisecond)
	}
	reg := prometheus.NewPedanticRegistry()
	RegisterUsage(reg, c.Ledger)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP licledger_reseller_active_users End users holding a seat on a reseller's licenses.
# TYPE licledger_reseller_active_users gauge
licledger_reseller_active_users{reseller="r1"} 2
licledger_reseller_active_users{reseller="r2"} 0
# HELP licledger_reseller_consumed_seats Seats consumed in the current quota period on a reseller's licenses.
# TYPE licledger_reseller_consumed_seats gauge
licledger_reseller_consumed_seats{reseller="r1"} 3
licledger_reseller_consumed_seats{reseller="r2"} 0
# HELP licledger_reseller_licenses Licenses of a reseller, by status.
# TYPE licledger_reseller_licenses gauge
licledger_reseller_licenses{reseller="r1",status="active"} 1
licledger_reseller_licenses{reseller="r1",status="expired"} 0
licledger_reseller_licenses{reseller="r1",status="suspended"} 1
licledger_reseller_licenses{reseller="r1",status="terminated"} 0
licledger_reseller_licenses{reseller="r2",status="active"} 0
licledger_reseller_licenses{reseller="r2",status="expired"} 0
licledger_reseller_licenses{reseller="r2",status="suspended"} 0
licledger_reseller_licenses{reseller="r2",status="terminated"} 0
# HELP licledger_reseller_machines Machines activated on a reseller's licenses.
# TYPE licledger_reseller_machines gauge
licledger_reseller_machines{reseller="r1"} 1
licledger_reseller_machines{reseller="r2"} 0
# HELP licledger_reseller_remaining_seats Seats left in the current quota period on a reseller's licenses.
# TYPE licledger_reseller_remaining_seats gauge
licledger_reseller_remaining_seats{reseller="r1"} 5
licledger_reseller_remaining_seats{reseller="r2"} 0
# HELP licledger_reseller_seats Seats (quota) of a reseller's licenses.
# TYPE licledger_reseller_seats gauge
licledger_reseller_seats{reseller="r1"} 8
licledger_reseller_seats{reseller="r2"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
