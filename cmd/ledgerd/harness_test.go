package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/handlers/handlerstest"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// freeAddr returns a loopback address with a port that was free a moment ago, and that it never
// returned before: the kernel may hand a port just closed out again, and a ledgerd given the
// same port for NATS and HTTP never gets ready.
func freeAddr(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, seen := addrsHandedOut.LoadOrStore(addr, true); !seen {
			return addr
		}
	}
}

var addrsHandedOut sync.Map

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, httpAddr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("ledgerd at %s not ready within %s", httpAddr, within)
}

func readToken(t *testing.T, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "bootstrap-admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// connect opens a NATS connection authenticated with token ("" for anonymous).
func connect(t *testing.T, url, token string) *nats.Conn {
	t.Helper()
	// No reconnect buffer: a request sent while the server is down fails at once instead of
	// being delivered to the next server long after its caller gave up on it. A connection to a
	// cluster waits for the auth callout's answer from a ledgerd, which on a loaded machine (the
	// race detector, other packages' tests) can take longer than nats.go's 2 s default.
	nc, err := client.Connect(url, token, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectBufSize(-1), nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// setupLicense creates a reseller, tenant, product, plan with the given seats and one license,
// and returns the license id.
func setupLicense(t *testing.T, c *client.Client, prefix string, seats int) string {
	t.Helper()
	ctx := context.Background()
	for _, s := range []struct {
		name string
		body map[string]any
	}{
		{"reseller.create", map[string]any{"id": prefix + "r", "name": "Reseller " + prefix}},
		{"tenant.create", map[string]any{"id": prefix + "t", "resellerId": prefix + "r", "name": "Acme"}},
		{"product.create", map[string]any{"id": prefix + "p", "name": "Product"}},
		{"plan.create", map[string]any{"id": prefix + "plan", "productId": prefix + "p", "name": "Plan", "tier": 1, "seats": seats}},
		{"license.create", map[string]any{"id": prefix + "l", "resellerId": prefix + "r", "tenantId": prefix + "t", "planId": prefix + "plan"}},
	} {
		if _, err := c.Command(ctx, s.name, s.body, ""); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	return prefix + "l"
}

func seat(license, user string) map[string]string {
	return map[string]string{"licenseId": license, "endUserCompany": "Acme", "endUserName": user}
}

func wantCode(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	ce, ok := err.(*client.Error)
	if !ok || ce.Status != status || ce.Code != code {
		t.Fatalf("got %v; want %d %s", err, status, code)
	}
	return ce
}

// lockedWriter makes a writer safe for the logger and the test to share.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// validateEvents checks every event's envelope and data against the embedded JSON Schemas, and
// returns the event types seen.
func validateEvents(t *testing.T, msgs []streamMsg) map[string]int {
	t.Helper()
	v := schemas.NewValidator()
	seen := map[string]int{}
	for _, m := range msgs {
		if err := v.Envelope(m.data); err != nil {
			t.Fatalf("event %d: envelope: %v\n%s", m.seq, err, m.data)
		}
		var env struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(m.data, &env); err != nil {
			t.Fatal(err)
		}
		if err := v.EventData(env.Type, env.Data); err != nil {
			t.Fatalf("event %d (%s): data: %v\n%s", m.seq, env.Type, err, env.Data)
		}
		seen[env.Type]++
	}
	return seen
}

// startAsAdmin runs a fresh in-process ledger and returns a NATS connection to it and a client
// holding the bootstrap system-admin token.
func startAsAdmin(t *testing.T) (*nats.Conn, *client.Client) {
	t.Helper()
	data := t.TempDir()
	url, _, _ := startInProcess(t, data)
	token := readToken(t, data)
	nc := connect(t, url, token)
	return nc, client.New(nc, token)
}

// issueCredential issues a credential as c and returns its id and its token (shown once).
// A body without a scope gets the whole system ({}), which the ledger wants said outright.
func issueCredential(t *testing.T, c *client.Client, body map[string]any) (id, token string) {
	t.Helper()
	if _, ok := body["scope"]; !ok {
		body["scope"] = map[string]any{}
	}
	r, err := c.Command(context.Background(), "credential.issue", body, "")
	if err != nil {
		t.Fatalf("credential.issue %v: %v", body, err)
	}
	var cred struct{ ID, Token, InboxPrefix string }
	if err := json.Unmarshal(r.Result, &cred); err != nil || cred.Token == "" {
		t.Fatalf("credential.issue reply: %s", r.Raw)
	}
	// What a stock NATS client must pass as its inbox prefix to connect with this token.
	if cred.InboxPrefix != wire.InboxPrefix(cred.Token) || !strings.HasPrefix(cred.InboxPrefix, wire.InboxNamespace+".") {
		t.Fatalf("credential.issue inboxPrefix %q; want %q", cred.InboxPrefix, wire.InboxPrefix(cred.Token))
	}
	return cred.ID, cred.Token
}

// seatLoad is goroutines registering seats on one license until stopped, keeping what clients
// were told. A command that was not answered may or may not be in the log; one refused with a 4xx
// fails the test, because the load itself must be valid.
type seatLoad struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	acked  []ack
}

// startSeatLoad runs perClient goroutines on each client. Command ids are prefix+"g<goroutine>-n<n>",
// end-user names user(id) (the id itself if user is nil).
func startSeatLoad(t *testing.T, clients []*client.Client, perClient int, lic, prefix string, user func(id string) string) *seatLoad {
	if user == nil {
		user = func(id string) string { return id }
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &seatLoad{cancel: cancel}
	for g := range len(clients) * perClient {
		c := clients[g%len(clients)]
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				id := fmt.Sprintf("%sg%d-n%d", prefix, g, n)
				r, err := c.Command(ctx, "seat.register", seat(lic, user(id)), id)
				var refused *client.Error
				if errors.As(err, &refused) && refused.Status < 500 {
					t.Errorf("%s refused: %v", id, err)
					return
				}
				if err != nil {
					time.Sleep(5 * time.Millisecond) // the ledger or NATS is down: do not spin
					continue
				}
				if len(r.Events) != 1 {
					t.Errorf("%s: reply with %d events", id, len(r.Events))
					continue
				}
				l.mu.Lock()
				l.acked = append(l.acked, ack{id: id, reply: r.Raw, event: r.Events[0]})
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// more waits until n more commands are acknowledged: the ledger is serving. what names the moment
// for a failure.
func (l *seatLoad) more(t *testing.T, n int, what string) {
	t.Helper()
	want, deadline := l.count()+n, time.Now().Add(60*time.Second)
	for l.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d acknowledged, waiting for %d", what, l.count(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loadClients connects n clients with token, each with a request timeout.
func loadClients(t *testing.T, url, token string, n int, timeout time.Duration) []*client.Client {
	t.Helper()
	var clients []*client.Client
	for range n {
		c := client.New(connect(t, url, token), token)
		c.Timeout = timeout
		clients = append(clients, c)
	}
	return clients
}

// startJetStream runs an in-process nats-server with JetStream, without authentication.
func startJetStream(t *testing.T) *server.Server {
	t.Helper()
	return handlerstest.StartNATS(t, server.Options{JetStream: true, StoreDir: t.TempDir()})
}

// count is how many commands were acknowledged so far.
func (l *seatLoad) count() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.acked) }

// stop ends the load and returns every acknowledged command.
func (l *seatLoad) stop() []ack {
	l.cancel()
	l.wg.Wait()
	return l.acked
}

// logBytes reads every event of the stopped log in dir.
func logBytes(t *testing.T, dir string) [][]byte {
	t.Helper()
	s, err := eventstore.Open(dir, eventstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out [][]byte
	if _, err := s.Read(1, 0, func(e eventstore.Event) error {
		out = append(out, bytes.Clone(e.Bytes))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// metricsReaders maps a ledgerd's HTTP address to the data dir whose bootstrap token may read its
// /metrics (only operators' tokens may: httpapi.OperatorOnly). The starters register
// their ledgers; a partition without a token of its own is registered with partition 0's.
var metricsReaders sync.Map

// metricsTokens caches, by data dir, the token last read there, and holds the tokens registered
// by HTTP address (noteMetricsToken).
var metricsTokens sync.Map

func noteMetricsReader(httpAddr, dataDir string) { metricsReaders.Store(httpAddr, dataDir) }

// getMetrics reads a ledgerd's /metrics with an operator's token.
func getMetrics(t *testing.T, httpAddr string) string {
	t.Helper()
	if token, ok := metricsTokens.Load(httpAddr); ok { // registered as such (noteMetricsToken)
		return readMetrics(t, httpAddr, token.(string))
	}
	dir, ok := metricsReaders.Load(httpAddr)
	if !ok {
		t.Fatalf("no data dir registered for the ledgerd at %s", httpAddr)
	}
	// A data dir restored from the stream has no token file: the one read before it still works.
	token, cached := metricsTokens.Load(dir)
	if b, err := os.ReadFile(filepath.Join(dir.(string), "bootstrap-admin.token")); err == nil {
		token = strings.TrimSpace(string(b))
		metricsTokens.Store(dir, token)
	} else if !cached {
		t.Fatalf("no token to read /metrics of %s with: %v", httpAddr, err)
	}
	return readMetrics(t, httpAddr, token.(string))
}

// noteMetricsToken registers the token that reads the /metrics of the ledgerd at httpAddr (one
// whose data dir holds none, as after a restore).
func noteMetricsToken(httpAddr, token string) { metricsTokens.Store(httpAddr, token) }

func readMetrics(t *testing.T, httpAddr, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+httpAddr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %s %s", resp.Status, body)
	}
	return string(body)
}
