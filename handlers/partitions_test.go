package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
	part := wire.Partition{Index: 0, Count: 2}
	l, _, dir := openTestLedger(t, eventstore.Options{}, part)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := l.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	go l.Run(ctx)
	admin, err := os.ReadFile(dir + "/" + BootstrapTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	reseller := "r0"
	for i := 1; !part.Owns(reseller); i++ {
		reseller = fmt.Sprintf("r%d", i)
	}
	command := func(token, name, body, addressed string, byScope bool) ([]byte, *Failure) {
		return l.Command(ctx, Request{Name: name, Body: []byte(body), Token: token, Reseller: addressed, AddressByScope: byScope})
	}
	systemToken := strings.TrimSpace(string(admin))
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
