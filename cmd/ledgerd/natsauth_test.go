package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/wire"
)

// watched is a NATS connection whose asynchronous errors (permission violations) a test reads.
type watched struct {
	*nats.Conn
	errs   chan error
	closed chan struct{}
}

func connectWatched(t *testing.T, url, token string) *watched {
	t.Helper()
	w := &watched{errs: make(chan error, 16), closed: make(chan struct{})}
	nc, err := client.Connect(url, token, nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case w.errs <- err:
			default:
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(w.closed) }))
	if err != nil {
		t.Fatalf("connect (with a token: %t): %v", token != "", err)
	}
	t.Cleanup(nc.Close)
	w.Conn = nc
	return w
}

// wantViolation waits for the server to refuse an operation on subject.
func (w *watched) wantViolation(t *testing.T, what, subject string) {
	t.Helper()
	select {
	case err := <-w.errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), what) || !strings.Contains(err.Error(), subject) {
			t.Fatalf("got %v; want a permissions violation for %s %q", err, what, subject)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no permissions violation for %s %q", what, subject)
	}
}

// wantNothing checks that sub received no message within a short while.
func wantNothing(t *testing.T, sub *nats.Subscription) {
	t.Helper()
	if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("received %s on %s", m.Data, m.Subject)
	}
}

// TestNATSConnectionsAreAuthenticated: a connection's token must be a usable ledger credential;
// one without a token may only validate license keys.
func TestNATSConnectionsAreAuthenticated(t *testing.T) {
	nc, admin := startAsAdmin(t)
	checkAdmission(t, nc.ConnectedUrl(), admin)
}

// checkAdmission checks who a ledger's NATS server admits, and to what (embedded or a cluster
// with the auth callout).
func checkAdmission(t *testing.T, url string, admin *client.Client) {
	t.Helper()
	ctx := context.Background()
	lic := setupLicense(t, admin, "n", 5)
	r, err := admin.Command(ctx, "license.rotate-key", map[string]any{"licenseId": lic}, "")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Split(strings.Split(string(r.Result), `"key":"`)[1], `"`)[0]

	for name, token := range map[string]string{
		"malformed": "not-a-token",
		"unknown":   "lic_0000000000000000000000000000000000000000000000000000000000",
	} {
		if _, err := client.Connect(url, token); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s token: connect got %v; want %v", name, err, nats.ErrAuthorization)
		}
	}
	if _, err := nats.Connect(url, nats.UserInfo("$ledgerd", "guess")); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("the ledger's own user with a guessed password: got %v", err)
	}

	anon := connectWatched(t, url, "")
	got, err := client.New(anon.Conn, "").Query(ctx, "license.validate", map[string]any{"key": key})
	if err != nil || !strings.Contains(string(got), `"valid":true`) {
		t.Fatalf("anonymous license.validate: %s %v", got, err)
	}
	before := lastSequence(t, admin, ctx)
	// Anything else is refused by the server before the ledger sees it, even with a good token
	// in the header: the connection is what lacks the permission.
	req := client.New(anon.Conn, admin.Token())
	req.Timeout = 500 * time.Millisecond
	if _, err := req.Command(ctx, "license.terminate", map[string]any{"licenseId": lic}, ""); err == nil {
		t.Fatal("an anonymous connection sent a command")
	}
	anon.wantViolation(t, "Publish", "ledger.v1.cmd.license.terminate")
	if _, err := req.Query(ctx, "usage.quota", map[string]any{"licenseId": lic}); err == nil {
		t.Fatal("an anonymous connection sent a query other than license.validate")
	}
	anon.wantViolation(t, "Publish", "ledger.v1.q.usage.quota")
	if after := lastSequence(t, admin, ctx); after != before+1 {
		t.Fatalf("refused requests appended: sequence %d -> %d", before, after)
	}
	// Anonymous replies come to "_INBOX."; the credentials' inboxes are out of its reach.
	if _, err := anon.SubscribeSync(wire.InboxNamespace + ".>"); err != nil {
		t.Fatal(err)
	}
	anon.wantViolation(t, "Subscription", wire.InboxNamespace+".>")
}

// TestPartnersCannotReadEachOthersReplies: each credential may subscribe only under its own
// inbox prefix, and nobody but the ledger may publish events or change the stream.
func TestPartnersCannotReadEachOthersReplies(t *testing.T) {
	nc, admin := startAsAdmin(t)
	checkIsolation(t, nc, admin)
}

// checkIsolation checks that partners' connections are kept apart; nc is admin's connection.
func checkIsolation(t *testing.T, nc *nats.Conn, admin *client.Client) {
	t.Helper()
	url := nc.ConnectedUrl()
	ctx := context.Background()
	setupLicense(t, admin, "p", 5)
	_, tokenA := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "pr"}})
	_, tokenB := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "pr"}})
	a := connectWatched(t, url, tokenA)
	b := connectWatched(t, url, tokenB)

	for _, subject := range []string{wire.InboxPrefix(tokenB) + ".>", wire.InboxNamespace + ".>", "_INBOX.>", ">", "ledger.v1.cmd.>"} {
		sub, err := a.SubscribeSync(subject)
		if err != nil {
			t.Fatal(err)
		}
		a.wantViolation(t, "Subscription", subject)
		// B's traffic goes on, and A sees none of it.
		if _, err := client.New(b.Conn, tokenB).Query(ctx, "usage.quota", map[string]any{"licenseId": "pl"}); err != nil {
			t.Fatalf("B's query: %v", err)
		}
		wantNothing(t, sub)
	}

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "LEDGER_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	mark := lastSequence(t, admin, ctx)
	waitStreamAt(t, js, mark)
	if err := a.Publish("ledger.v1.evt.license.terminated", []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	a.wantViolation(t, "Publish", "ledger.v1.evt.license.terminated")
	// Even an operator, who may read the stream, may not purge or delete it.
	op := connectWatched(t, url, admin.Token())
	for _, subject := range []string{"$JS.API.STREAM.PURGE.LEDGER_EVENTS", "$JS.API.STREAM.DELETE.LEDGER_EVENTS", "ledger.v1.evt.x"} {
		if err := op.Publish(subject, nil); err != nil {
			t.Fatal(err)
		}
		op.wantViolation(t, "Publish", subject)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.LastSeq != mark || info.State.Msgs != mark {
		t.Fatalf("stream changed: %d messages, last %d; want %d", info.State.Msgs, info.State.LastSeq, mark)
	}
	// A partner may not read the stream at all.
	aJS, err := jetstream.New(a.Conn)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := aJS.Stream(short, "LEDGER_EVENTS"); err == nil {
		t.Fatal("a partner read the event stream's info")
	}
	a.wantViolation(t, "Publish", "$JS.API.STREAM.INFO.LEDGER_EVENTS")
}

// TestChangedCredentialLosesItsConnections: disabling, revoking, deleting or rotating a credential closes
// the connections that authenticated with it, and its old token no longer connects.
func TestChangedCredentialLosesItsConnections(t *testing.T) {
	nc, admin := startAsAdmin(t)
	url := nc.ConnectedUrl()
	ctx := context.Background()
	for _, change := range []string{"credential.disable", "credential.revoke", "credential.delete", "credential.rotate"} {
		t.Run(change, func(t *testing.T) {
			id, token := issueCredential(t, admin, map[string]any{"role": "support-agent"})
			doomed := connectWatched(t, url, token)
			bystander := connectWatched(t, url, admin.Token())
			r, err := admin.Command(ctx, change, map[string]any{"credentialId": id}, "")
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-doomed.closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("the connection of a %s credential is still open", change)
			}
			if _, err := client.Connect(url, token); !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("reconnect with the old token: got %v; want %v", err, nats.ErrAuthorization)
			}
			_, err = client.New(bystander.Conn, token).Query(ctx, "credential.list", map[string]any{})
			wantCode(t, err, 401, "UNAUTHENTICATED")
			if bystander.IsClosed() {
				t.Fatal("another credential's connection was closed")
			}
			if change == "credential.rotate" {
				var fresh struct{ Token string }
				if err := json.Unmarshal(r.Result, &fresh); err != nil || fresh.Token == "" {
					t.Fatalf("rotate reply: %s", r.Raw)
				}
				c := connectWatched(t, url, fresh.Token)
				if _, err := client.New(c.Conn, fresh.Token).Query(ctx, "role.show", map[string]any{"role": "support-agent"}); err != nil {
					t.Fatalf("the new token over its own connection: %v", err)
				}
			}
		})
	}
}
