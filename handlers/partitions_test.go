package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/wire"
)

// TestOnlyPartitionZeroDecidesSystemWideData: every partition holds the system-wide data, but a
// partition other than 0 only copies it. Asked to decide some (here the bootstrap credential; in
// ledgerd, a system webhook's pause or an unaddressed HTTP command), it refuses with
// MISADDRESSED and appends nothing; partition 0 decides it.
func TestOnlyPartitionZeroDecidesSystemWideData(t *testing.T) {
	for _, part := range []wire.Partition{{Index: 0, Count: 2}, {Index: 1, Count: 2}} {
		l, store, dir := openTestLedger(t, eventstore.Options{}, part)
		_, err := l.Bootstrap(context.Background(), dir)
		var de *domain.Error
		switch {
		case part.Index == 0 && err != nil:
			t.Errorf("%s: bootstrap: %v", part, err)
		case part.Index > 0 && (!errors.As(err, &de) || de.Code != CodeMisaddressed):
			t.Errorf("%s decided system-wide data (bootstrap: %v); want MISADDRESSED", part, err)
		case part.Index > 0 && store.Durable() != 0:
			t.Errorf("%s refused, yet its log holds %d events", part, store.Durable())
		}
	}
}

// TestHTTPAddressesByTheCredentialsReseller: HTTP has no addressed form, so on a partitioned
// ledger a reseller's credential addresses its commands to its reseller (Request.AddressByScope,
// which the HTTP edge sets). Unaddressed without it, the same command is MISADDRESSED, as over
// NATS; a system credential still has to address reseller data.
func TestHTTPAddressesByTheCredentialsReseller(t *testing.T) {
	l, ctx, systemToken, reseller := partitionZero(t)
	command := func(token, name, body, addressed string, byScope bool) ([]byte, *Failure) {
		return l.Command(ctx, Request{Name: name, Body: []byte(body), Token: token, Reseller: addressed, AddressByScope: byScope})
	}
	if _, f := command(systemToken, "reseller.create", `{"id":"`+reseller+`","name":"R"}`, reseller, false); f != nil {
		t.Fatal(f.Err)
	}
	reply, f := command(systemToken, "credential.issue", `{"role":"reseller-admin","scope":{"resellerId":"`+reseller+`"}}`, reseller, false)
	if f != nil {
		t.Fatal(f.Err)
	}
	var issued struct {
		Result struct{ Token string } `json:"result"`
	}
	if err := json.Unmarshal(reply, &issued); err != nil || issued.Result.Token == "" {
		t.Fatalf("credential.issue: %s (%v)", reply, err)
	}
	for _, c := range []struct {
		who, token string
		byScope    bool
		ok         bool
	}{
		{"the reseller's credential, by NATS unaddressed", issued.Result.Token, false, false},
		{"the reseller's credential, by HTTP", issued.Result.Token, true, true},
		{"a system credential, by HTTP", systemToken, true, false},
	} {
		_, f := command(c.token, "tenant.create", `{"resellerId":"`+reseller+`","name":"T"}`, "", c.byScope)
		switch {
		case c.ok && f != nil:
			t.Errorf("%s: tenant.create refused: %v", c.who, f.Err)
		case !c.ok && (f == nil || f.Err.Code != CodeMisaddressed):
			t.Errorf("%s: tenant.create unaddressed: %v; want MISADDRESSED", c.who, f)
		case !c.ok && c.byScope != strings.Contains(f.Err.Message, "HTTP cannot address"):
			t.Errorf("%s: the refusal says %q; it should say what to do %s", c.who, f.Err.Message, map[bool]string{true: "over HTTP", false: "on NATS"}[c.byScope])
		}
	}
	// A reseller's admin logs in the same way: its session is its reseller's credential.
	if _, f := command(systemToken, "admin.create", `{"resellerId":"`+reseller+`","username":"ann","userProfileType":"reseller-admin","password":"Secret12"}`, reseller, false); f != nil {
		t.Fatal(f.Err)
	}
	// A login checks the password against the read models: a query waits until they have the admin.
	if _, f := l.Query(ctx, Request{Name: "admin.get", Body: []byte(`{"username":"ann"}`), Token: systemToken, Reseller: reseller}); f != nil {
		t.Fatal(f.Err)
	}
	for _, byScope := range []bool{false, true} {
		_, f := command("", "admin.login", `{"username":"ann","password":"Secret12"}`, "", byScope)
		switch {
		case byScope && f != nil:
			t.Errorf("admin.login by HTTP: %v", f.Err)
		case !byScope && (f == nil || f.Err.Code != CodeMisaddressed):
			t.Errorf("admin.login by NATS unaddressed: %v; want MISADDRESSED", f)
		}
	}
}

// TestPartitionPausesItsResellersWebhooks: the ledger pauses a webhook after failed deliveries
// as itself (DisableWebhook), unaddressed; on a partitioned ledger the pause of a reseller's
// webhook is addressed to that reseller, or it would be refused MISADDRESSED and the webhook
// would never pause.
func TestPartitionPausesItsResellersWebhooks(t *testing.T) {
	l, ctx, admin, reseller := partitionZero(t)
	for _, step := range [][2]string{
		{"reseller.create", `{"id":"` + reseller + `","name":"R"}`},
		{"webhook.create", `{"id":"hook","resellerId":"` + reseller + `","url":"https://partner.example.com/hook"}`},
	} {
		r := Request{Name: step[0], Body: []byte(step[1]), Token: admin, Reseller: reseller}
		if _, f := l.Command(ctx, r); f != nil {
			t.Fatalf("%s: %v", step[0], f.Err)
		}
	}
	// A query waits until the read models have the webhook.
	list := Request{Name: "webhook.list", Body: []byte(`{}`), Token: admin, Reseller: reseller}
	if _, f := l.Query(ctx, list); f != nil {
		t.Fatal(f.Err)
	}
	var hook domain.Webhook // as the deliverer has it: from the read models
	for _, w := range l.Webhooks() {
		if w.ID == "hook" {
			hook = w
		}
	}
	if err := l.DisableWebhook(ctx, hook, "paused after 3 failed deliveries"); err != nil {
		t.Fatalf("pausing a reseller's webhook on %s: %v", l.Partition(), err)
	}
	for _, w := range l.Webhooks() {
		if w.ID == "hook" && w.Enabled {
			t.Error("the webhook is still enabled after its pause")
		}
	}
}

// partitionZero is partition 0 of a ledger of two, bootstrapped and running, with its system
// admin's token and the id of a reseller it would own (not yet made).
func partitionZero(t *testing.T) (l *Ledger, ctx context.Context, admin, reseller string) {
	t.Helper()
	tl := newTestLedgerIn(t, eventstore.Options{}, wire.Partition{Index: 0, Count: 2})
	reseller = "r0"
	for i := 1; !tl.Partition().Owns(reseller); i++ {
		reseller = fmt.Sprintf("r%d", i)
	}
	return tl.Ledger, context.Background(), tl.token, reseller
}
