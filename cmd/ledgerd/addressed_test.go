package main

import (
	"context"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestAddressedCommands: a command sent on ledger.v1.cmd.<command>.<reseller> (the form a cluster
// partitioned by reseller routes, docs/SCALING.md) is served when everything it changes is that
// reseller's, and refused 400 MISADDRESSED, appending nothing, when it changes another reseller's
// data or system-wide data. Unaddressed commands are served as before. Queries may be addressed
// as well.
func TestAddressedCommands(t *testing.T) {
	data := t.TempDir()
	url, _, _ := startInProcess(t, data)
	token := readToken(t, data)
	nc := connect(t, url, token)
	admin := client.New(nc, token)
	lic := setupLicense(t, admin, "a", 10) // reseller "ar", unaddressed
	setupLicense(t, admin, "b", 10)        // reseller "br"
	ctx := context.Background()

	ar := client.New(nc, token)
	ar.Reseller = "ar"
	r, err := ar.Command(ctx, "seat.register", seat(lic, "ann"), "")
	if err != nil {
		t.Fatalf("addressed to the license's reseller: %v", err)
	}
	after := r.Events[0].Sequence
	if _, err := ar.Command(ctx, "tenant.create", map[string]any{"id": "at2", "resellerId": "ar", "name": "Second"}, ""); err != nil {
		t.Fatalf("a tenant of the addressed reseller: %v", err)
	}

	br := client.New(nc, token)
	br.Reseller = "br"
	for _, c := range []struct {
		name string
		body any
	}{
		{"seat.register", seat(lic, "bob")},                                                     // ar's license
		{"tenant.create", map[string]any{"id": "bt2", "resellerId": "ar", "name": "Elsewhere"}}, // a tenant of ar
		{"product.create", map[string]any{"id": "bp2", "name": "System-wide"}},                  // nobody's
	} {
		_, err := br.Command(ctx, c.name, c.body, "")
		if e := wantCode(t, err, 400, "MISADDRESSED"); e.Field != "subject" {
			t.Errorf("%s: field %q, want subject", c.name, e.Field)
		}
	}
	if u := quota(t, admin, lic); u.Active != 1 {
		t.Fatalf("after the refusals the license has %d active seats, want 1", u.Active)
	}
	// Queries may be addressed too (ledger.v1.q.<query>.<reseller>), and a single ledger answers
	// them as it answers unaddressed ones.
	if u := quota(t, ar, lic); u.Active != 1 {
		t.Fatalf("an addressed usage.quota says %d active seats, want 1", u.Active)
	}
	if _, err := ar.Request(ctx, "ledger.v1.p.0.q.usage.quota.ar", map[string]string{"licenseId": lic}, ""); err != nil {
		t.Fatalf("the subject a cluster's mapping for one partition sends it to: %v", err)
	}
	// Nothing was appended by the refusals: the next command lands right after the tenant.
	r, err = admin.Command(ctx, "seat.register", seat(lic, "cy"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Events[0].Sequence != after+2 {
		t.Fatalf("the refused commands appended: next event at %d, want %d", r.Events[0].Sequence, after+2)
	}
}
