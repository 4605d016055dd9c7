package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/handlers/natsapi"
	"github.com/licledger/licledger/wire"
)

// TestViewsExportedToKV: the read models reach the ledger-views bucket. A burst of registrations
// on one license is written as a few debounced updates, not one per command; the license, its
// tenant and its reseller each have a key; a system admin can read and watch the bucket (with the
// stock nats CLI too), and a reseller's credential cannot read it at all.
func TestViewsExportedToKV(t *testing.T) {
	nc, admin := startAsAdmin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lic := setupLicense(t, admin, "kv", 100)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, natsapi.ViewsBucket)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.Watch(ctx, "license."+lic, jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const users = 40
	for i := range users {
		if _, err := admin.Command(ctx, "seat.register", seat(lic, fmt.Sprint("u", i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	var last struct {
		License struct {
			ResellerID string `json:"resellerId"`
			Quota      struct{ Active, Consumed, Remaining int }
		} `json:"license"`
		Sequence uint64 `json:"sequence"`
	}
	updates := 0
	for last.License.Quota.Active < users {
		select {
		case e := <-w.Updates():
			updates++
			if err := json.Unmarshal(e.Value(), &last); err != nil {
				t.Fatalf("license.%s = %s: %v", lic, e.Value(), err)
			}
		case <-ctx.Done():
			t.Fatalf("the bucket never showed %d active users; last %+v after %d updates", users, last, updates)
		}
	}
	if updates > users/4 {
		t.Errorf("%d registrations gave %d updates of the license's key: not debounced", users, updates)
	}
	if last.License.Quota.Remaining != 100-users || last.License.ResellerID != "kvr" || last.Sequence == 0 {
		t.Errorf("license.%s: %+v", lic, last)
	}
	var reseller struct {
		Summary struct{ Licenses, Seats, Active int } `json:"summary"`
	}
	for deadline := time.Now().Add(5 * time.Second); reseller.Summary.Active < users; time.Sleep(50 * time.Millisecond) {
		e, err := kv.Get(ctx, "reseller.kvr")
		if err == nil {
			err = json.Unmarshal(e.Value(), &reseller)
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("reseller.kvr: %+v, %v", reseller, err)
		}
	}
	if reseller.Summary.Licenses != 1 || reseller.Summary.Seats != 100 {
		t.Errorf("reseller.kvr: %+v", reseller)
	}
	if _, err := kv.Get(ctx, "tenant.kvt"); err != nil {
		t.Errorf("tenant.kvt: %v", err)
	}

	// A reseller's credential may not read the bucket.
	_, token := issueCredential(t, admin, map[string]any{"id": "kv-partner", "role": "reseller-admin", "scope": map[string]any{"resellerId": "kvr"}})
	pjs, err := jetstream.New(connect(t, nc.ConnectedUrl(), token))
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second) // a refused request gets no reply
	defer cancelShort()
	if _, err := pjs.KeyValue(short, natsapi.ViewsBucket); err == nil {
		t.Error("a reseller's credential opened the views bucket")
	}

	// The stock CLI, as docs/OPERATIONS.md shows it.
	natsBin, err := exec.LookPath("nats")
	if err != nil {
		t.Skip("the nats CLI is not on PATH; `make test` installs it into ./bin")
	}
	out, err := exec.Command(natsBin, "--server", nc.ConnectedUrl(), "--timeout", "3s", "--user", admin.Token(),
		"--inbox-prefix", wire.InboxPrefix(admin.Token()), "kv", "get", natsapi.ViewsBucket, "license."+lic, "--raw").CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf(`"active":%d`, users)) {
		t.Fatalf("nats kv get: %v\n%s", err, out)
	}
}
