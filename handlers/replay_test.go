package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/licledger/licledger/eventstore"
)

// TestWriteModelEqualsReplay sends a long pseudo-random sequence of commands (many of them
// refused) through the ledger, then rebuilds the model from the log alone: it must equal the
// write model the sequencer built in memory, command by command.
func TestWriteModelEqualsReplay(t *testing.T) {
	dir := t.TempDir()
	store, err := eventstore.Open(dir+"/log", eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l, err := NewLedger(store, testSecrets(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := l.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	go l.Run(ctx)
	tok, _ := os.ReadFile(dir + "/" + BootstrapTokenFile)
	token := strings.TrimSpace(string(tok))

	// A base world: resellers r0-r2 with tenants t0-t2, plans of tiers 0-2, licenses l0-l5.
	base := []Request{{Name: "product.create", Body: []byte(`{"id":"p","name":"P"}`)}}
	for i := range 3 {
		base = append(base,
			Request{Name: "reseller.create", Body: []byte(fmt.Sprintf(`{"id":"r%d","name":"R"}`, i))},
			Request{Name: "tenant.create", Body: []byte(fmt.Sprintf(`{"id":"t%d","resellerId":"r%d","name":"T"}`, i, i))},
			Request{Name: "plan.create", Body: []byte(fmt.Sprintf(`{"id":"plan%d","productId":"p","name":"P","tier":%d,"seats":%d,"machines":%d,"durationDays":%d}`, i, i, 2+i, 1+i, 30*(i%2)))},
		)
	}
	for i := range 6 {
		base = append(base, Request{Name: "license.create", Body: []byte(fmt.Sprintf(`{"id":"l%d","resellerId":"r%d","tenantId":"t%d","planId":"plan%d"}`, i, i%3, i%3, i%3))})
	}
	for _, r := range base {
		r.Token = token
		if _, f := l.Command(ctx, r); f != nil {
			t.Fatalf("%s: %+v", r.Name, f.Err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	ids := func(prefix string) string {
		n := 3
		if prefix == "l" || prefix == "u" {
			n = 6
		}
		return prefix + fmt.Sprint(rng.IntN(n))
	}
	accepted := 0
	for range 600 {
		var name, body string
		op := rng.IntN(40)
		switch {
		case op < 5:
			op = 5 + op%2 // mostly seats
		case op < 14:
		default:
			op = 5 + op%9 // the operations on existing licenses, admins and credentials
		}
		if op == 13 && rng.IntN(8) == 0 {
			op = 14 // termination is final: keep it rare
		}
		switch op {
		case 0:
			name, body = "reseller.create", fmt.Sprintf(`{"id":%q,"name":"R"}`, ids("r"))
		case 1:
			name, body = "tenant.create", fmt.Sprintf(`{"id":%q,"resellerId":%q,"name":"T"}`, ids("t"), ids("r"))
		case 2:
			name, body = "product.create", `{"id":"p","name":"P"}`
		case 3:
			name, body = "plan.create", fmt.Sprintf(`{"id":%q,"productId":"p","name":"Plan","tier":%d,"seats":%d,"machines":%d,"durationDays":%d}`,
				ids("plan"), rng.IntN(3), rng.IntN(4), rng.IntN(3), rng.IntN(2)*30)
		case 4:
			name, body = "license.create", fmt.Sprintf(`{"id":%q,"resellerId":%q,"tenantId":%q,"planId":%q}`, ids("l"), ids("r"), ids("t"), ids("plan"))
		case 5, 6:
			name, body = pick("seat.register", "seat.unregister"), fmt.Sprintf(`{"licenseId":%q,"endUserCompany":"Acme","endUserName":%q}`, ids("l"), ids("u"))
		case 7:
			name, body = pick("license.suspend", "license.reinstate", "license.renew", "license.expire"), fmt.Sprintf(`{"licenseId":%q}`, ids("l"))
		case 8:
			name, body = pick("license.upgrade", "license.downgrade"), fmt.Sprintf(`{"licenseId":%q,"planId":%q}`, ids("l"), ids("plan"))
		case 9:
			name, body = pick("machine.activate", "machine.deactivate"), fmt.Sprintf(`{"licenseId":%q,"fingerprint":%q}`, ids("l"), ids("fp"))
		case 10:
			name, body = pick("license.set-quota", "license.note", "license.rotate-key"), fmt.Sprintf(`{"licenseId":%q,"seats":%d}`, ids("l"), rng.IntN(4))
			if name == "license.note" {
				body = fmt.Sprintf(`{"licenseId":%q,"note":"n"}`, ids("l"))
			} else if name == "license.rotate-key" {
				body = fmt.Sprintf(`{"licenseId":%q}`, ids("l"))
			}
		case 11:
			name, body = "admin.create", fmt.Sprintf(`{"resellerId":%q,"username":%q,"userProfileType":%q,"tenantId":%q}`, ids("r"), ids("a"), pick("reseller-admin", "tenant-admin"), ids("t"))
		case 12:
			name, body = pick("admin.update", "admin.delete"), fmt.Sprintf(`{"username":%q}`, ids("a"))
		case 13:
			name, body = "credential.issue", `{"role":"developer"}`
		case 14:
			name, body = "license.terminate", fmt.Sprintf(`{"licenseId":%q}`, ids("l"))
		}
		if _, f := l.Command(ctx, Request{Name: name, Body: []byte(body), Token: token}); f == nil {
			accepted++
		} else if f.Status >= 500 {
			t.Fatalf("%s %s: %+v", name, body, f.Err)
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d commands accepted: the sequence tests too little", accepted)
	}
	rebuilt, err := NewLedger(store, testSecrets(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.state, rebuilt.state) {
		t.Fatal("the write model differs from the model replayed from the log")
	}
	t.Logf("%d of 600 commands accepted, %d events", accepted, store.Durable())
}
