package natsapi

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/handlerstest"
)

// testClock is the ledger's clock in a test: the sequencer decides at the time it says, so a
// quota period can end without waiting a year. The domain never reads the wall clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestDBSyncPartnerOverNATS plays the DBSync seed's partner API over NATS: a credential scoped to
// one license (the partner's application key) registers, authenticates, counts and unregisters
// end users without naming the license; unregistering frees no seat of the annual quota, and the
// quota resets at the license's anniversary, decided at a chosen time.
func TestDBSyncPartnerOverNATS(t *testing.T) {
	start := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	clock := &testClock{now: start}
	l := handlerstest.Start(t, handlers.Options{Clock: clock.Now})
	ns := handlerstest.StartNATS(t, server.Options{})
	serverSide, err := client.Connect(ns.ClientURL(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(serverSide.Close)
	svc, err := Serve(context.Background(), serverSide, l.Ledger, ServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop() })
	ctx := context.Background()
	connect := func(token string) *client.Client {
		nc, err := client.Connect(ns.ClientURL(), token)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return client.New(nc, token)
	}
	admin := connect(l.Token)
	for _, c := range []struct {
		name string
		body string
	}{
		{"reseller.create", `{"id":"dbr","name":"Reseller"}`},
		{"tenant.create", `{"id":"dbt","resellerId":"dbr","name":"Acme"}`},
		{"product.create", `{"id":"dbp","name":"Sync"}`},
		{"plan.create", `{"id":"dbplan","productId":"dbp","name":"One seat","tier":1,"seats":1}`},
		{"license.create", `{"id":"dbl","resellerId":"dbr","tenantId":"dbt","planId":"dbplan"}`},
	} {
		if _, err := admin.Command(ctx, c.name, json.RawMessage(c.body), ""); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	r, err := admin.Command(ctx, "credential.issue", map[string]any{"role": "client-limited",
		"scope": map[string]string{"resellerId": "dbr", "tenantId": "dbt", "licenseId": "dbl"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var issued struct{ Token string }
	json.Unmarshal(r.Result, &issued)
	partner := connect(issued.Token)

	user := func(name string) map[string]string {
		return map[string]string{"endUserCompany": "Acme", "endUserName": name}
	}
	register := func(name string) error {
		r, err := partner.Command(ctx, "seat.register", user(name), "")
		if err == nil {
			var seat struct {
				LicenseID  string
				Registered bool
			}
			if json.Unmarshal(r.Result, &seat); seat.LicenseID != "dbl" || !seat.Registered {
				t.Fatalf("seat.register %s: %s", name, r.Raw)
			}
		}
		return err
	}
	quota := func() (consumed, period int) {
		t.Helper()
		raw, err := partner.Query(ctx, "usage.quota", map[string]any{})
		if err != nil {
			t.Fatalf("usage.quota without licenseId: %v", err)
		}
		var u struct {
			LicenseID        string
			Consumed, Period int
		}
		if json.Unmarshal(raw, &u); u.LicenseID != "dbl" {
			t.Fatalf("usage.quota: %s", raw)
		}
		return u.Consumed, u.Period
	}

	if err := register("ann"); err != nil {
		t.Fatalf("seat.register without licenseId: %v", err)
	}
	raw, err := partner.Query(ctx, "seat.authenticate", user("ann"))
	var auth struct{ Authenticated bool }
	if json.Unmarshal(raw, &auth); err != nil || !auth.Authenticated {
		t.Fatalf("seat.authenticate without licenseId: %s %v", raw, err)
	}
	if consumed, period := quota(); consumed != 1 || period != 0 {
		t.Fatalf("after one registration: consumed %d in period %d", consumed, period)
	}
	if _, err := partner.Command(ctx, "seat.unregister", user("ann"), ""); err != nil {
		t.Fatalf("seat.unregister without licenseId: %v", err)
	}
	// Unregistering frees nothing this year (the seed's unregisterUser).
	if e, ok := register("bob").(*client.Error); !ok || e.Code != "QUOTA_EXCEEDED" {
		t.Fatalf("bob in the same period: %v; want QUOTA_EXCEEDED", e)
	}
	clock.Set(start.AddDate(1, 0, 0).Add(-time.Second))
	if e, ok := register("bob").(*client.Error); !ok || e.Code != "QUOTA_EXCEEDED" {
		t.Fatalf("bob a second before the anniversary: %v; want QUOTA_EXCEEDED", e)
	}
	clock.Set(start.AddDate(1, 0, 0))
	if err := register("bob"); err != nil {
		t.Fatalf("bob at the anniversary: %v", err)
	}
	if consumed, period := quota(); consumed != 1 || period != 1 {
		t.Fatalf("in the second year: consumed %d in period %d; want 1 in 1", consumed, period)
	}

	// Without a license in the scope, the license must be named; the refusal appends nothing.
	before := l.Store.Durable()
	_, err = admin.Command(ctx, "seat.register", user("cy"), "")
	if e, ok := err.(*client.Error); !ok || e.Code != "INVALID_ARGUMENT" || e.Field != "licenseId" {
		t.Fatalf("seat.register without licenseId by a system credential: %v", err)
	}
	// A license-scoped credential naming another license is outside its scope.
	_, err = partner.Command(ctx, "seat.register", map[string]string{"licenseId": "other", "endUserCompany": "Acme", "endUserName": "cy"}, "")
	if e, ok := err.(*client.Error); !ok || (e.Code != "LICENSE_NOT_FOUND" && e.Code != "OUT_OF_SCOPE") {
		t.Fatalf("seat.register on another license: %v", err)
	}
	if after := l.Store.Durable(); after != before {
		t.Fatalf("refusals appended %d events", after-before)
	}
}
