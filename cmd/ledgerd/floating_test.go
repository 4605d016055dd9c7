package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/client"
)

// TestFloatingMachines: on a plan with a 2-second heartbeat window, a machine validates only
// once its heartbeats started; only the first heartbeat is an event; a machine that keeps
// beating stays while one that stops is deactivated by the ledger, with the reason, and its slot
// is reused; across a restart every machine gets a full window before it is culled; the license
// token reads its own machines.
func TestFloatingMachines(t *testing.T) {
	data := t.TempDir()
	url, _, stop := startLogging(t, data, io.Discard)
	token := readToken(t, data)
	admin := client.New(connect(t, url, token), token)
	ctx := context.Background()
	for _, s := range []struct {
		name string
		body map[string]any
	}{
		{"reseller.create", map[string]any{"id": "fr", "name": "R"}},
		{"tenant.create", map[string]any{"id": "ft", "resellerId": "fr", "name": "T"}},
		{"product.create", map[string]any{"id": "fp", "name": "P"}},
		{"plan.create", map[string]any{"id": "float", "productId": "fp", "name": "Floating", "tier": 1, "seats": 5, "machines": 2, "floating": true, "heartbeatSeconds": 2}},
		{"plan.create", map[string]any{"id": "fixed", "productId": "fp", "name": "Fixed", "tier": 2, "seats": 5}},
		{"license.create", map[string]any{"id": "fl", "resellerId": "fr", "tenantId": "ft", "planId": "float"}},
		{"license.create", map[string]any{"id": "nl", "resellerId": "fr", "tenantId": "ft", "planId": "fixed"}},
		{"machine.activate", map[string]any{"licenseId": "fl", "fingerprint": "m1"}},
		{"machine.activate", map[string]any{"licenseId": "fl", "fingerprint": "m2"}},
		{"machine.activate", map[string]any{"licenseId": "nl", "fingerprint": "n1"}},
	} {
		if _, err := admin.Command(ctx, s.name, s.body, ""); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	r, err := admin.Command(ctx, "license.rotate-key", map[string]any{"licenseId": "fl"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var rotated struct{ Key string }
	json.Unmarshal(r.Result, &rotated)
	validate := func(c *client.Client, fp string) string {
		t.Helper()
		raw, err := c.Query(ctx, "license.validate", map[string]any{"key": rotated.Key, "fingerprint": fp})
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Code string }
		json.Unmarshal(raw, &v)
		return v.Code
	}
	if code := validate(admin, "m1"); code != "HEARTBEAT_NOT_STARTED" {
		t.Fatalf("before the first heartbeat: %s", code)
	}
	beat := func(c *client.Client, fp string) *client.CommandReply {
		t.Helper()
		r, err := c.Command(ctx, "machine.heartbeat", map[string]any{"licenseId": "fl", "fingerprint": fp}, "")
		if err != nil {
			t.Fatalf("heartbeat %s: %v", fp, err)
		}
		return r
	}
	for _, fp := range []string{"m1", "m2"} {
		if r := beat(admin, fp); len(r.Events) != 1 || r.Events[0].Type != "machine.heartbeat-started.v1" {
			t.Fatalf("the first heartbeat of %s: %s", fp, r.Raw)
		}
	}
	if r := beat(admin, "m1"); len(r.Events) != 0 {
		t.Fatalf("a later heartbeat appended: %s", r.Raw)
	}
	if code := validate(admin, "m1"); code != "VALID" {
		t.Fatalf("a beating machine: %s", code)
	}
	before := lastSequence(t, admin, ctx)
	beat(admin, "m2") // a later heartbeat: nothing appended either
	for _, c := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"licenseId": "nl", "fingerprint": "n1"}, "INVALID_ARGUMENT"},
		{map[string]any{"licenseId": "fl", "fingerprint": "m9"}, "MACHINE_NOT_FOUND"},
	} {
		if _, err := admin.Command(ctx, "machine.heartbeat", c.body, ""); err == nil || !strings.Contains(err.Error(), c.code) {
			t.Errorf("heartbeat %v: %v, want %s", c.body, err, c.code)
		}
	}
	if after := lastSequence(t, admin, ctx); after != before+1 { // its own marker
		t.Fatalf("a later heartbeat and refused ones appended %d events", after-before-1)
	}

	// m1 keeps beating, m2 does not: m2 is culled within a few seconds, with the reason, and
	// its slot takes m3.
	deadline := time.Now().Add(10 * time.Second)
	for {
		beat(admin, "m1")
		raw, err := admin.Query(ctx, "license.details", map[string]any{"resellerId": "fr", "format": "detail"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"m2"`) {
			if !strings.Contains(string(raw), `"m1"`) {
				t.Fatalf("the beating machine was culled too: %s", raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("m2 was never culled: %s", raw)
		}
		time.Sleep(300 * time.Millisecond)
	}
	raw, err := admin.Query(ctx, "audit.events", map[string]any{"type": "machine.deactivated.v1"})
	if err != nil || !strings.Contains(string(raw), "no heartbeat within the window") {
		t.Fatalf("the culling's event has no reason: %v %s", err, raw)
	}
	if _, err := admin.Command(ctx, "machine.activate", map[string]any{"licenseId": "fl", "fingerprint": "m3"}, ""); err != nil {
		t.Fatalf("the freed slot: %v", err)
	}

	// A restart: m1's last heartbeat was just now, and nothing beats while the ledger is down or
	// right after; m1 must live a full window after the start, then go.
	beat(admin, "m1")
	stop()
	time.Sleep(2500 * time.Millisecond) // longer than the window, while the ledger is down
	url, _, _ = startLogging(t, data, io.Discard)
	admin = client.New(connect(t, url, token), token)
	time.Sleep(1200 * time.Millisecond) // past the culling's first round (every second), inside the window
	raw, err = admin.Query(ctx, "license.details", map[string]any{"resellerId": "fr", "format": "detail"})
	if err != nil || !strings.Contains(string(raw), `"m1"`) {
		t.Fatalf("within a window of the restart m1 was culled: %v %s", err, raw)
	}
	time.Sleep(2500 * time.Millisecond)
	raw, _ = admin.Query(ctx, "license.details", map[string]any{"resellerId": "fr", "format": "detail"})
	if strings.Contains(string(raw), `"m1"`) {
		t.Fatalf("a full window after the restart m1, which sent nothing, is still there: %s", raw)
	}

	// The license's own token reads its machines.
	_, lt := issueCredential(t, admin, map[string]any{"role": "license", "scope": map[string]any{"licenseId": "fl"}})
	lc := client.New(connect(t, url, lt), lt)
	raw, err = lc.Query(ctx, "license.details", map[string]any{"format": "detail"})
	if err != nil || !strings.Contains(string(raw), `"m3"`) {
		t.Fatalf("the license token reads its machines: %v %s", err, raw)
	}
}
