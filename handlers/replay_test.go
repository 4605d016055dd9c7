package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/schemas"
)

// TestWriteModelEqualsReplay sends a long pseudo-random sequence of commands (many of them
// refused) through the ledger, then rebuilds the model from the log alone: it must equal the
// write model the sequencer built in memory, command by command.
func TestWriteModelEqualsReplay(t *testing.T) {
	tl := newTestLedger(t)
	l, store, token, ctx := tl.Ledger, tl.store, tl.token, context.Background()

	for _, r := range baseWorld() {
		r.Token = token
		if _, f := l.Command(ctx, r); f != nil {
			t.Fatalf("%s: %+v", r.Name, f.Err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for range 2500 {
		name, body := randomCommand(rng)
		if _, f := l.Command(ctx, Request{Name: name, Body: []byte(body), Token: token}); f == nil {
			accepted++
		} else if f.Status >= 500 {
			t.Fatalf("%s %s: %+v", name, body, f.Err)
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d commands accepted: the sequence tests too little", accepted)
	}
	if !sameState(l.state, replayState(t, store)) {
		t.Fatal("the write model differs from the model replayed from the log")
	}
	t.Logf("%d of 2500 commands accepted, %d events", accepted, store.Durable())

	// Every event in the log matches its schema, and every event type occurred.
	v := schemas.NewValidator()
	seen := map[string]bool{}
	if _, err := store.Read(1, 0, func(e eventstore.Event) error {
		env, err := eventstore.DecodeEnvelope(e.Bytes)
		if err != nil {
			return err
		}
		if err := v.Envelope(e.Bytes); err != nil {
			return fmt.Errorf("event %d envelope: %w", e.Sequence, err)
		}
		if err := v.EventData(env.Type, env.Data); err != nil {
			return fmt.Errorf("event %d (%s): %w", e.Sequence, env.Type, err)
		}
		seen[env.Type] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, typ := range domain.EventTypes {
		if !seen[typ] {
			t.Errorf("the random sequence never produced %s: widen it", typ)
		}
	}
}

// baseWorld is the world the random command sequences act on: resellers r0-r2 with tenants
// t0-t2, plans of tiers 0-2, licenses l0-l5.
func baseWorld() []Request {
	base := []Request{{Name: "product.create", Body: []byte(`{"id":"p","name":"P"}`)},
		{Name: "entitlement.create", Body: []byte(`{"code":"e0","name":"E0"}`)},
		{Name: "entitlement.create", Body: []byte(`{"code":"e1","name":"E1","productId":"p"}`)}}
	for i := range 3 {
		base = append(base,
			Request{Name: "reseller.create", Body: []byte(fmt.Sprintf(`{"id":"r%d","name":"R"}`, i))},
			Request{Name: "tenant.create", Body: []byte(fmt.Sprintf(`{"id":"t%d","resellerId":"r%d","name":"T"}`, i, i))},
			Request{Name: "plan.create", Body: []byte(fmt.Sprintf(`{"id":"plan%d","productId":"p","name":"P","tier":%d,"seats":%d,"machines":%d,"durationDays":%d,"floating":%t}`, i, i, 2+i, 1+i, 30*(i%2), i == 0))},
		)
	}
	for i := range 6 {
		base = append(base, Request{Name: "license.create", Body: []byte(fmt.Sprintf(`{"id":"l%d","resellerId":"r%d","tenantId":"t%d","planId":"plan%d"}`, i, i%3, i%3, i%3))})
	}
	return base
}

// randomCommand draws one command on the base world; many of them are refused, which is part
// of the point.
// webhookRNG draws the webhook commands of randomCommand.
var webhookRNG = rand.New(rand.NewPCG(3, 4))

func randomCommand(rng *rand.Rand) (name, body string) {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	ids := func(prefix string) string {
		n := 3
		if prefix == "l" || prefix == "u" || prefix == "c" {
			n = 6
		}
		return prefix + fmt.Sprint(rng.IntN(n))
	}
	lic := ids("l")
	switch op := rng.IntN(100); {
	case op < 30:
		name, body = pick("seat.register", "seat.unregister"), fmt.Sprintf(`{"licenseId":%q,"endUserCompany":%q,"endUserName":%q}`, lic, pick("Acme", "Bolt"), ids("u"))
	case op < 40:
		name, body = pick("license.suspend", "license.reinstate", "license.reinstate", "license.renew", "license.expire"), fmt.Sprintf(`{"licenseId":%q}`, lic)
	case op < 48:
		name, body = pick("license.upgrade", "license.downgrade"), fmt.Sprintf(`{"licenseId":%q,"planId":%q}`, lic, ids("plan"))
	case op < 56:
		name, body = pick("machine.activate", "machine.deactivate", "machine.heartbeat"), fmt.Sprintf(`{"licenseId":%q,"fingerprint":%q}`, lic, ids("fp"))
	case op < 59:
		name, body = "license.set-quota", fmt.Sprintf(`{"licenseId":%q,"seats":%d}`, lic, rng.IntN(4))
	case op < 60:
		name, body = "license.note", fmt.Sprintf(`{"licenseId":%q,"note":"n"}`, lic)
	case op < 64:
		lic = pick("l0", "l1") // few licenses, so that a detach often finds what an attach did
		code := ids("e")
		switch rng.IntN(5) {
		case 0:
			name, body = "entitlement.create", fmt.Sprintf(`{"code":%q,"name":"E"}`, code)
		case 1, 2:
			name, body = pick("plan.attach-entitlements", "plan.detach-entitlements"), fmt.Sprintf(`{"planId":%q,"codes":[%q]}`, ids("plan"), code)
		default:
			name, body = pick("license.attach-entitlements", "license.detach-entitlements"), fmt.Sprintf(`{"licenseId":%q,"codes":[%q]}`, lic, code)
		}
	case op < 65:
		name, body = "license.checkout", fmt.Sprintf(`{"licenseId":%q}`, lic)
		if rng.IntN(2) == 0 {
			name, body = "license.checkout", fmt.Sprintf(`{"licenseId":%q,"fingerprint":%q,"ttlSeconds":3600}`, lic, ids("fp"))
		}
	case op < 68:
		name, body = "license.rotate-key", fmt.Sprintf(`{"licenseId":%q}`, lic)
	case op < 73:
		name, body = "admin.create", fmt.Sprintf(`{"resellerId":%q,"username":%q,"userProfileType":%q,"tenantId":%q}`, ids("r"), ids("a"), pick("reseller-admin", "tenant-admin"), ids("t"))
	case op < 78:
		name, body = pick("admin.update", "admin.delete"), fmt.Sprintf(`{"username":%q,"firstName":"F"}`, ids("a"))
		if name == "admin.delete" {
			body = fmt.Sprintf(`{"username":%q}`, ids("a"))
		}
	case op < 82:
		name, body = "tenant.update", fmt.Sprintf(`{"tenantId":%q,"name":%q}`, ids("t"), pick("A", "B"))
		// Half the time a webhook command instead, drawn from a generator of its own so that the
		// rest of the sequence stays as it was.
		if hooks := webhookRNG; hooks.IntN(2) == 0 {
			w := fmt.Sprint("w", hooks.IntN(3))
			names := []string{"webhook.create", "webhook.create", "webhook.update", "webhook.disable", "webhook.enable", "webhook.delete"}
			switch name = names[hooks.IntN(len(names))]; name {
			case "webhook.create":
				body = fmt.Sprintf(`{"id":%q,"url":"https://h.example/%s","eventTypes":["seat.registered.v1"]}`, w, w)
			case "webhook.update":
				body = fmt.Sprintf(`{"webhookId":%q,"url":"https://h.example/%s/2"}`, w, w)
			default:
				body = fmt.Sprintf(`{"webhookId":%q}`, w)
			}
		}
	case op < 85:
		name, body = "credential.issue", fmt.Sprintf(`{"id":%q,"role":"developer","scope":{}}`, ids("c"))
	case op < 97:
		name, body = pick("credential.disable", "credential.enable", "credential.rotate"), fmt.Sprintf(`{"credentialId":%q}`, ids("c"))
		switch rng.IntN(8) {
		case 0, 1:
			name, body = "credential.set-access", fmt.Sprintf(`{"credentialId":%q,"access":{"licenses":%q}}`, ids("c"), pick("basic", "detail"))
		case 2:
			name, body = "credential.update", fmt.Sprintf(`{"credentialId":%q,"description":%q}`, ids("c"), pick("sync", "billing", ""))
		}
	case op < 98:
		// Rarely: revoking is final, like terminating, and the world must not run out.
		name, body = pick("credential.revoke", "credential.delete", "credential.enable", "credential.enable", "credential.enable", "credential.enable"), fmt.Sprintf(`{"credentialId":%q}`, ids("c"))
	default:
		name, body = pick("license.terminate", "license.renew", "license.renew", "license.renew", "license.renew"), fmt.Sprintf(`{"licenseId":%q}`, lic)
	}
	return name, body
}
