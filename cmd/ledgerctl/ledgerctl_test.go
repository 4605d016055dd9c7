package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/natsapi"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/wire"
)

// startLedger serves a real ledger (Pebble, embedded NATS) and returns its URL and token file.
func startLedger(t *testing.T) (url, tokenFile string) {
	t.Helper()
	dir := t.TempDir()
	store, err := eventstore.Open(filepath.Join(dir, "log"), eventstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := datadir.LoadServerKey(dir, handlers.ServerKeySize)
	secrets, _ := handlers.NewSecrets(key)
	keys, err := datadir.LoadLicenseKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := handlers.NewLedger(handlers.Options{Store: store, Secrets: secrets,
		LicenseKeys: []handlers.LicenseKey{{Private: keys[0].Private}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := l.Bootstrap(ctx, dir); err != nil {
		t.Fatal(err)
	}
	go l.Run(ctx)
	// The server admits ledger credentials only, as ledgerd's embedded server does.
	auth := natsapi.NewNATSAuth(l, slog.New(slog.DiscardHandler))
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, CustomClientAuthentication: auth})
	if err != nil {
		t.Fatal(err)
	}
	auth.Attach(ns)
	ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL(), auth.LedgerOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := natsapi.Serve(ctx, nc, l, natsapi.ServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Stop()
		cancel()
		nc.Close()
		store.Close()
		ns.Shutdown()
	})
	return ns.ClientURL(), filepath.Join(dir, handlers.BootstrapTokenFile)
}

// ledgerctlFor runs ledgerctl against the ledger at url with the token in tokenFile, and returns
// what it printed.
func ledgerctlFor(url, tokenFile string) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"--nats-url", url, "--token-file", tokenFile}, args...), func(string) string { return "" }, &out, &errOut)
		return out.String(), err
	}
}

// catalogue is what the tests' ledgers start from: reseller r1 with customer acme, product p1.
var catalogue = [][]string{
	{"reseller", "create", "--id", "r1", "--name", "Reseller One"},
	{"tenant", "create", "--reseller", "r1", "--id", "acme", "--name", "Acme"},
	{"product", "create", "--id", "p1", "--name", "Product"},
}

// runAll runs each ledgerctl invocation in turn; any failure fails the test.
func runAll(t *testing.T, ctl func(args ...string) (string, error), steps ...[]string) {
	t.Helper()
	for _, args := range steps {
		if _, err := ctl(args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
}

func TestLedgerctlSendsCommandsAndQueries(t *testing.T) {
	url, tokenFile := startLedger(t)
	ctl := ledgerctlFor(url, tokenFile)
	for _, args := range [][]string{
		{"reseller", "create", "--id", "r1", "--name", "Reseller One"},
		{"tenant", "create", "--reseller", "r1", "--id", "acme", "--name", "Acme"},
		{"product", "create", "--id", "p1", "--name", "Product"},
		{"plan", "create", "--id", "one", "--product", "p1", "--name", "One seat", "--tier", "1", "--seats", "1"},
		{"license", "create", "--id", "l1", "--reseller", "r1", "--tenant", "acme", "--plan", "one"},
		{"license", "create", "--id", "l2", "--reseller", "r1", "--tenant", "acme", "--plan", "one", "--protected", "true"},
		{"seat", "register", "--license", "l1", "--company", "Acme", "--user", "ann"},
	} {
		if _, err := ctl(args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	// --address sends a command to ledger.v1.cmd.<command>.<reseller>: served for the reseller
	// whose data it changes, refused with a hint for another.
	create := []string{"license", "create", "--id", "l3", "--reseller", "r1", "--tenant", "acme", "--plan", "one"}
	if _, err := ctl(append([]string{"--address", "r9"}, create...)...); err == nil || !strings.Contains(err.Error(), "MISADDRESSED") || !strings.Contains(err.Error(), "hint: ") {
		t.Fatalf("addressed to another reseller: %v", err)
	}
	if _, err := ctl(append([]string{"--address", "r1"}, create...)...); err != nil {
		t.Fatalf("addressed to its reseller: %v", err)
	}
	_, err := ctl("seat", "register", "--license", "l1", "--company", "Acme", "--user", "bob")
	// The refusal names the wire field and the flag that sets it.
	if err == nil || !strings.Contains(err.Error(), "QUOTA_EXCEEDED") || !strings.Contains(err.Error(), "(field endUserName), set by --user") {
		t.Fatalf("over quota: %v", err)
	}
	out, err := ctl("usage", "quota", "--license", "l1")
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Result struct{ Seats, Active, Consumed, Remaining int }
	}
	if err := json.Unmarshal([]byte(out), &reply); err != nil || reply.Result.Seats != 1 || reply.Result.Consumed != 1 || reply.Result.Remaining != 0 {
		t.Fatalf("usage quota printed %s (%v)", out, err)
	}
	out, err = ctl("license", "set-quota", "--license", "l1", "--seats", "3")
	if err != nil || !strings.Contains(out, `"seats": 3`) {
		t.Fatalf("set-quota: %v\n%s", err, out)
	}
	if _, err := ctl("license", "suspend", "--license", "l1", "--reason", "unpaid"); err != nil {
		t.Fatal(err)
	}
	out, err = ctl("license", "validate", "--key", "NOT-A-KEY")
	if err != nil || !strings.Contains(out, `"NOT_FOUND"`) {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if _, err := ctl("admin", "create", "--reseller", "r1", "--username", "boss", "--profile", "reseller-admin"); err != nil {
		t.Fatal(err)
	}
	out, err = ctl("credential", "issue", "--role", "reseller-admin", "--scope-reseller", "r1", "--scope-user", "boss", "--expires-in", "720h")
	if err != nil || !strings.Contains(out, `"token": "lic_`) || !strings.Contains(out, `"userId": "boss"`) || !strings.Contains(out, `"expiresAt": "`) {
		t.Fatalf("credential issue: %v\n%s", err, out)
	}
	if _, err := ctl("credential", "issue", "--role", "user", "--scope-company", "Acme", "--scope-end-user", "ann", "--expires-in", "-1h"); err == nil || !strings.Contains(err.Error(), "--expires-in") {
		t.Fatalf("credential issue --expires-in -1h: %v", err)
	}
	out, err = ctl("credential", "issue", "--role", "user", "--scope-company", "Acme", "--scope-end-user", "ann")
	if err != nil || !strings.Contains(out, `"endUserCompany": "Acme"`) {
		t.Fatalf("credential issue for an end user: %v\n%s", err, out)
	}
	// A credential for the whole system is said outright; a forgotten scope is refused.
	if out, err := ctl("credential", "issue", "--role", "developer", "--scope-system", "true"); err != nil || !strings.Contains(out, `"scope": {}`) {
		t.Fatalf("credential issue --scope-system: %v\n%s", err, out)
	}
	if out, err := ctl("credential", "issue", "--role", "developer"); err == nil || !strings.Contains(err.Error(), "scope") {
		t.Fatalf("credential issue without a scope: %v\n%s", err, out)
	}
	var issued struct{ Result struct{ ID string } }
	json.Unmarshal([]byte(out), &issued)
	out, err = ctl("credential", "set-access", "--credential", issued.Result.ID, "--access", "licenses=detail, credentials=basic")
	if err != nil || !strings.Contains(out, `"credentials": "basic"`) {
		t.Fatalf("set-access: %v\n%s", err, out)
	}
	out, err = ctl("role", "show", "--role", "client-advanced")
	if err != nil || !strings.Contains(out, `"license.downgrade"`) || strings.Contains(out, `"license.suspend"`) {
		t.Fatalf("role show: %v\n%s", err, out)
	}
	if _, err := ctl("plan", "create", "--seats", "many"); err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Fatalf("bad number: %v", err)
	}
	if _, err := ctl("license", "create", "--plan", "one", "--protected", "maybe"); err == nil || !strings.Contains(err.Error(), "neither true nor false") {
		t.Fatalf("bad boolean: %v", err)
	}
	if _, err := ctl("reseller", "create", "--id", "r1", "--name", "Again"); err == nil || !strings.Contains(err.Error(), "409 ALREADY_EXISTS") || !strings.Contains(err.Error(), "hint: "+hints["ALREADY_EXISTS"]) {
		t.Fatalf("a taken id: %v", err)
	}
	if _, err := ctl("license", "explode"); err == nil {
		t.Fatal("unknown command accepted")
	}
	out, err = ctl("--output", "table", "license", "details", "--reseller", "r1")
	if err != nil || !regexp.MustCompile(`(?m)^LICENSEID +PLANID .*\n(l1|l2) +one +`).MatchString(out) {
		t.Fatalf("license details as a table: %v\n%s", err, out)
	}
	// Nested values are columns of their own, not one-line JSON.
	if !regexp.MustCompile(`(?m)^LICENSEID .* QUOTA\.ACTIVE +QUOTA\.CONSUMED .*QUOTA\.REMAINING`).MatchString(out) || strings.Contains(out, `{"active"`) {
		t.Fatalf("license details' quota is not flattened: %s", out)
	}
	out, err = ctl("--output", "table", "license", "details", "--limit", "1")
	if err != nil || !strings.Contains(out, "more after l1 (pass --after l1)") {
		t.Fatalf("a table's next page: %v\n%s", err, out)
	}
	out, err = ctl("--output", "table", "usage", "quota", "--license", "l1")
	if err != nil || !regexp.MustCompile(`(?m)^licenseId +l1$`).MatchString(out) || !regexp.MustCompile(`(?m)^seats +\d+$`).MatchString(out) {
		t.Fatalf("usage quota as a table: %v\n%s", err, out)
	}
	out, err = ctl("--output", "table", "license", "note", "--license", "l1", "--note", "called")
	if err != nil || !regexp.MustCompile(`(?m)^event +license\.noted\.v1 at sequence \d+$`).MatchString(out) {
		t.Fatalf("a command as a table: %v\n%s", err, out)
	}
	if _, err := ctl("--output", "xml", "usage", "quota", "--license", "l1"); err == nil || !strings.Contains(err.Error(), "neither json nor table") {
		t.Fatalf("--output xml: %v", err)
	}
	out, err = ctl("inbox-prefix")
	if token, _ := os.ReadFile(tokenFile); err != nil || strings.TrimSpace(out) != wire.InboxPrefix(strings.TrimSpace(string(token))) {
		t.Fatalf("inbox-prefix: %v %q", err, out)
	}
	os.Remove(tokenFile)
	if _, err := ctl("usage", "quota", "--license", "l1"); err == nil || !strings.Contains(err.Error(), "hint:") {
		t.Fatalf("missing token: %v", err)
	}
}

// TestEveryCodeHasAHint: a new error code must come with advice for the person at the terminal.
func TestEveryCodeHasAHint(t *testing.T) {
	for _, c := range handlers.Codes() {
		if hints[string(c)] == "" {
			t.Errorf("no hint for %s", c)
		}
	}
	if len(hints) != len(handlers.Codes()) {
		t.Errorf("%d hints for %d codes: a hint for a code the ledger no longer answers", len(hints), len(handlers.Codes()))
	}
}

// TestDemoSeedsEveryQuery: ledgerctl demo fills a fresh ledger so that the queries show real
// numbers, and a second run applies nothing new.
func TestDemoSeedsEveryQuery(t *testing.T) {
	ctl := ledgerctlFor(startLedger(t))
	// The first run says what it made; the second, that nothing changed.
	out, err := ctl("demo")
	if err != nil || !strings.Contains(out, "demo: created 1 reseller, 2 customers, 1 product, 2 plans, 4 licenses, ") {
		t.Fatalf("demo, first run: %v\n%s", err, out)
	}
	if out, err := ctl("demo"); err != nil || !strings.Contains(out, "already there") || strings.Contains(out, "created") {
		t.Fatalf("demo, again: %v\n%s", err, out)
	}
	out, err = ctl("usage", "quota", "--reseller", "demo-partners")
	if err != nil {
		t.Fatal(err)
	}
	var usage struct {
		Result struct{ Licenses, Seats, Active, Consumed int }
	}
	if err := json.Unmarshal([]byte(out), &usage); err != nil {
		t.Fatal(err)
	}
	// 5 + 25 + 5 + 5 seats; 5 + 3 + 1 users now; milton also counts as consumed this period.
	if u := usage.Result; u.Licenses != 4 || u.Seats != 40 || u.Active != 9 || u.Consumed != 10 {
		t.Fatalf("reseller usage after the demo (run twice): %+v", u)
	}
	out, err = ctl("license", "details", "--status", "suspended")
	if err != nil || !strings.Contains(out, `"demo-initech-2"`) || strings.Contains(out, `"demo-globex-1"`) {
		t.Fatalf("suspended licenses: %v\n%s", err, out)
	}
	if _, err := ctl("seat", "register", "--license", "demo-globex-1", "--company", "Globex Corp", "--user", "frank"); err == nil || !strings.Contains(err.Error(), "QUOTA_EXCEEDED") {
		t.Fatalf("the demo's full license took another user: %v", err)
	}
}

// TestEveryEndpointHasASubcommand: ledgerctl sends every command and query the ledger serves,
// with a flag for every field of its request schema, and knows which are queries.
func TestEveryEndpointHasASubcommand(t *testing.T) {
	for _, e := range handlers.Endpoints() {
		fields, ok := requests[e.Name]
		if !ok {
			t.Errorf("no ledgerctl subcommand for %s %s", e.Kind, e.Name)
			continue
		}
		if isQuery[e.Name] != (e.Kind == "query") {
			t.Errorf("ledgerctl sends %s as the wrong kind", e.Name)
		}
		flagged := map[string]bool{"commandId": true, "expectedVersion": true} // --command-id; optimistic writes are for programs
		for _, f := range fields {
			top, _, _ := strings.Cut(f.json, ".")
			flagged[top] = true
		}
		props, _ := e.RequestSchema()["properties"].(map[string]any)
		for name := range props {
			if !flagged[name] && !readOnlyAttribute[name] && !(e.Name == "admin.update" && (name == "resellerId" || name == "tenantId")) {
				t.Errorf("ledgerctl %s has no flag for %q", strings.Replace(e.Name, ".", " ", 1), name)
			}
		}
	}
}

// readOnlyAttribute are APIO's read-only admin attributes: the schema lists them (and an admin's
// reseller and tenant on admin.update, which cannot change) so that the ledger can refuse them
// by name (FIELD_NOT_ALLOWED); ledgerctl has no flag to send them.
var readOnlyAttribute = map[string]bool{"accessType": true, "userLevel": true, "readOnly": true, "language_code": true}

// TestPartitionNamesTheStream: --partition k reads partition k's stream and subjects, which
// `audit replay --stream` and `events follow` use; without it, the unpartitioned ones.
func TestPartitionNamesTheStream(t *testing.T) {
	for _, c := range []struct{ partition, stream, prefix string }{
		{"", "LEDGER_EVENTS", "ledger.v1.evt."},
		{"1", "LEDGER_EVENTS_1", "ledger.v1.p.1.evt."},
	} {
		g := global{partition: c.partition}
		if g.streamName() != c.stream || g.eventPrefix() != c.prefix {
			t.Errorf("--partition %q: stream %q, subjects %q; want %q, %q", c.partition, g.streamName(), g.eventPrefix(), c.stream, c.prefix)
		}
	}
}
