package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
)

// TestResellersDay drives a license through its life over NATS: seats to the quota, an
// upgrade, machines up to the plan's limit with fingerprint-scoped validation, suspension (validation says so, seats refused), reinstatement, a key rotation (the old
// key stops validating), a note, a quota override, and termination (final).
func TestResellersDay(t *testing.T) {
	nc, c := startAsAdmin(t)
	anon := client.New(nc, "") // license.validate is open to anonymous callers
	ctx := context.Background()
	lic := setupLicense(t, c, "d", 2)
	must := func(name string, body map[string]any) json.RawMessage {
		t.Helper()
		r, err := c.Command(ctx, name, body, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r.Result
	}
	validate := func(key string, fingerprint ...string) (valid bool, code string) {
		t.Helper()
		q := map[string]string{"key": key}
		if len(fingerprint) > 0 {
			q["fingerprint"] = fingerprint[0]
		}
		raw, err := anon.Query(ctx, "license.validate", q)
		if err != nil {
			t.Fatalf("validate: %v", err)
		}
		var v struct {
			Valid bool
			Code  string
		}
		json.Unmarshal(raw, &v)
		return v.Valid, v.Code
	}
	// The key from creation: create a second license to see it (setupLicense drops the reply).
	var created struct{ ID, Key string }
	json.Unmarshal(must("license.create", map[string]any{"resellerId": "dr", "tenantId": "dt", "planId": "dplan"}), &created)
	lic = created.ID
	if ok, code := validate(created.Key); !ok || code != "VALID" {
		t.Fatalf("new license validates as %v %s", ok, code)
	}
	if _, code := validate("NOPE-NOPE"); code != "NOT_FOUND" {
		t.Fatalf("unknown key: %s", code)
	}

	must("seat.register", map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": "ann"})
	must("seat.register", map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": "bob"})
	_, err := c.Command(ctx, "seat.register", seat(lic, "cy"), "")
	wantCode(t, err, 422, "QUOTA_EXCEEDED")
	authenticated := func(user string) (bool, string) {
		t.Helper()
		raw, err := c.Query(ctx, "seat.authenticate", map[string]string{"endUserCompany": "Acme", "endUserName": user})
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Authenticated bool
			Code          string
		}
		json.Unmarshal(raw, &a)
		return a.Authenticated, a.Code
	}
	if ok, code := authenticated("ann"); !ok || code != "VALID" {
		t.Fatalf("ann authenticates as %v %s", ok, code)
	}
	if ok, code := authenticated("cy"); ok || code != "NO_SEAT" {
		t.Fatalf("cy authenticates as %v %s", ok, code)
	}
	raw, err := c.Query(ctx, "license.details", map[string]string{"endUserCompany": "Acme", "endUserName": "bob"})
	if err != nil {
		t.Fatal(err)
	}
	var details struct {
		Items []struct {
			LicenseID string
			Users     []struct{ EndUserName string }
		}
	}
	if json.Unmarshal(raw, &details); len(details.Items) != 1 || details.Items[0].LicenseID != lic || len(details.Items[0].Users) != 1 {
		t.Fatalf("license.details for bob: %s", raw)
	}

	// Upgrade to a bigger plan: more seats, the same consumption.
	must("plan.create", map[string]any{"id": "dbig", "productId": "dp", "name": "Big", "tier": 2, "seats": 5, "machines": 1})
	_, err = c.Command(ctx, "license.downgrade", map[string]any{"licenseId": lic, "planId": "dbig"}, "")
	wantCode(t, err, 422, "NOT_A_DOWNGRADE")
	var summary struct {
		Status, PlanID string
		Seats          int
	}
	json.Unmarshal(must("license.upgrade", map[string]any{"licenseId": lic, "planId": "dbig"}), &summary)
	if summary.PlanID != "dbig" || summary.Seats != 5 || summary.Status != "active" {
		t.Fatalf("after upgrade: %+v", summary)
	}
	if u := quota(t, c, lic); u != (usage{Seats: 5, Active: 2, Consumed: 2, Remaining: 3}) {
		t.Fatalf("usage after upgrade: %+v", u)
	}

	// Machines: one allowed by the new plan; validation scoped to a fingerprint.
	if _, code := validate(created.Key, "laptop-1"); code != "NO_MACHINE" {
		t.Fatalf("fingerprint before activation: %s", code)
	}
	must("machine.activate", map[string]any{"licenseId": lic, "fingerprint": "laptop-1", "name": "Ann's laptop"})
	if ok, code := validate(created.Key, "laptop-1"); !ok || code != "VALID" {
		t.Fatalf("activated machine validates as %v %s", ok, code)
	}
	if _, code := validate(created.Key, "laptop-2"); code != "FINGERPRINT_SCOPE_MISMATCH" {
		t.Fatalf("another machine: %s", code)
	}
	_, err = c.Command(ctx, "machine.activate", map[string]any{"licenseId": lic, "fingerprint": "laptop-2"}, "")
	wantCode(t, err, 422, "TOO_MANY_MACHINES")

	// Suspension: validation says so, seats and activations are refused; reinstatement undoes it.
	must("license.suspend", map[string]any{"licenseId": lic, "reason": "invoice overdue"})
	if ok, code := validate(created.Key); ok || code != "SUSPENDED" {
		t.Fatalf("suspended license validates as %v %s", ok, code)
	}
	_, err = c.Command(ctx, "seat.register", seat(lic, "cy"), "")
	wantCode(t, err, 422, "LICENSE_NOT_ACTIVE")
	if ok, code := authenticated("ann"); ok || code != "SUSPENDED" {
		t.Fatalf("ann on a suspended license authenticates as %v %s", ok, code)
	}
	_, err = c.Command(ctx, "machine.deactivate", map[string]any{"licenseId": lic, "fingerprint": "laptop-9"}, "")
	wantCode(t, err, 404, "MACHINE_NOT_FOUND")
	must("machine.deactivate", map[string]any{"licenseId": lic, "fingerprint": "laptop-1"})
	_, err = c.Command(ctx, "machine.activate", map[string]any{"licenseId": lic, "fingerprint": "laptop-2"}, "")
	wantCode(t, err, 422, "LICENSE_NOT_ACTIVE")
	must("license.reinstate", map[string]any{"licenseId": lic})
	must("machine.activate", map[string]any{"licenseId": lic, "fingerprint": "laptop-2"})
	must("seat.register", map[string]any{"licenseId": lic, "endUserCompany": "Acme", "endUserName": "cy"})

	// Key rotation: the new key is shown once, the old one stops at once.
	var rotated struct{ Key string }
	json.Unmarshal(must("license.rotate-key", map[string]any{"licenseId": lic}), &rotated)
	if rotated.Key == "" || rotated.Key == created.Key {
		t.Fatalf("rotate-key returned %q", rotated.Key)
	}
	if _, code := validate(created.Key); code != "NOT_FOUND" {
		t.Fatalf("old key after rotation: %s", code)
	}
	if ok, _ := validate(rotated.Key); !ok {
		t.Fatal("new key does not validate")
	}

	must("license.note", map[string]any{"licenseId": lic, "note": "customer asked for more seats"})
	json.Unmarshal(must("license.set-quota", map[string]any{"licenseId": lic, "seats": 8}), &summary)
	if summary.Seats != 8 {
		t.Fatalf("after set-quota: %+v", summary)
	}
	_, err = c.Command(ctx, "license.renew", map[string]any{"licenseId": lic}, "")
	wantCode(t, err, 422, "LICENSE_PERPETUAL")

	// Termination is final.
	must("license.terminate", map[string]any{"licenseId": lic, "reason": "contract ended"})
	if ok, code := validate(rotated.Key); ok || code != "TERMINATED" {
		t.Fatalf("terminated license validates as %v %s", ok, code)
	}
	_, err = c.Command(ctx, "license.reinstate", map[string]any{"licenseId": lic}, "")
	wantCode(t, err, 422, "LICENSE_TERMINATED")

	// Only license.validate is open without a token.
	_, err = anon.Query(ctx, "usage.quota", map[string]string{"licenseId": lic})
	wantCode(t, err, 401, "UNAUTHENTICATED")

	// Every event of the day matches its schema.
	js, _ := jetstream.New(nc)
	waitStreamAt(t, js, lastSequence(t, c, ctx))
	seen := validateEvents(t, readStream(t, js))
	for _, typ := range []string{"license.upgraded.v1", "license.suspended.v1", "license.reinstated.v1", "license.key-rotated.v1",
		"license.noted.v1", "license.quota-set.v1", "license.terminated.v1", "machine.activated.v1", "machine.deactivated.v1"} {
		if seen[typ] == 0 {
			t.Errorf("no %s event was published", typ)
		}
	}
}
