package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/wire"
)

// TestPartitionEdges runs a ledger split into two partitions on one nats-server
// (deploy/nats-server.conf) and looks at what reaches it by its edges other than addressed NATS
// requests: webhooks and HTTP.
func TestPartitionEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server and ledgerd as subprocesses")
	}
	root := t.TempDir()
	ledgerd := buildLedgerd(t)
	data := []string{filepath.Join(root, "data0"), filepath.Join(root, "data1")}
	d := prepareNATS(t, root, data[0])
	ns := d.server(t, root, "nats-server.conf", "nats")
	logs := []string{filepath.Join(root, "ledgerd-0.log"), filepath.Join(root, "ledgerd-1.log")}
	url := startNATS(t, []*natsServer{ns}, logs...)
	httpAddr := []string{freeAddr(t), freeAddr(t)}
	for k := range 2 {
		if k > 0 {
			copyKeys(t, data[0], data[k], datadir.ServerKeyFile, datadir.CalloutIssuerFile)
		}
		startSubprocess(t, ledgerd, logs[k], []string{"LICLEDGER_NATS_PASSWORD=" + d.password},
			"--data", data[k], "--nats-url", url, "--http-listen", httpAddr[k], "--partition", strconv.Itoa(k), "--partitions", "2",
			"--webhook-allow-private", "true", "--webhook-timeout", "500ms", "--webhook-backoff", "50ms", "--webhook-max-failures", "3")
	}
	token := readToken(t, data[0])
	nc := connect(t, url, token)
	admin := client.New(nc, token) // unaddressed: partition 0 (this server maps nothing)
	to := func(k int, reseller string) *client.Client {
		c := client.New(nc, token)
		c.Partition, c.Reseller = strconv.Itoa(k), reseller
		return c
	}
	// Partition 1 serves the system admin once it has copied its credential.
	waitFor(t, "partition 1 knowing the system admin", 30*time.Second, func() bool {
		_, err := to(1, "").Query(t.Context(), "role.show", map[string]any{"role": "support-agent"})
		return err == nil
	})
	command := func(c *client.Client, name string, body map[string]any) json.RawMessage {
		t.Helper()
		raw, err := c.Command(t.Context(), name, body, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return raw.Result
	}
	t.Run("a system webhook", func(t *testing.T) {
		systemWebhook(t, admin, to, command, ownerJetStream(t, url, d.password))
	})
	t.Run("HTTP", func(t *testing.T) {
		partitionedHTTP(t, httpAddr, to, command)
	})
	t.Run("a reseller's feed", func(t *testing.T) {
		partitionedFeed(t, url, to, command)
	})
}

// systemWebhook: a system webhook (no reseller) made on partition 0 receives every event of both
// partitions once: partition 0's own, and partition 1's own, but not partition 1's copies of
// partition 0's system-wide events. When deliveries of partition 1's events keep failing, the
// webhook is paused where it was decided, on partition 0, with the reason; partition 1 decides
// no system-wide data of its own.
func systemWebhook(t *testing.T, admin *client.Client, to func(int, string) *client.Client,
	command func(*client.Client, string, map[string]any) json.RawMessage, js jetstream.JetStream) {
	recv := newReceiver(t, "200")
	command(admin, "webhook.create", map[string]any{"id": "everything", "url": recv.srv.URL})
	command(admin, "product.create", map[string]any{"id": "p", "name": "Product"})
	command(admin, "plan.create", map[string]any{"id": "plan", "productId": "p", "name": "Plan", "tier": 1, "seats": 100})
	for k, reseller := range []string{resellerIn(0, 2), resellerIn(1, 2)} {
		c := to(k, reseller)
		command(c, "reseller.create", map[string]any{"id": reseller, "name": reseller})
		command(c, "tenant.create", map[string]any{"resellerId": reseller, "id": "t-" + reseller, "name": "T"})
		command(c, "license.create", map[string]any{"id": "l-" + reseller, "resellerId": reseller, "tenantId": "t-" + reseller, "planId": "plan"})
		command(c, "seat.register", map[string]any{"licenseId": "l-" + reseller, "endUserCompany": "Acme", "endUserName": "u"})
	}

	// What it should get: partition 0's events from the webhook's on, partition 1's own ones.
	want, copies := map[string]string{}, map[string]string{}
	waitFor(t, "partition 1 copying the plan", 15*time.Second, func() bool {
		return holdsType(t, readStreamNamed(t, js, wire.Partition{Index: 1, Count: 2}.StreamName()), "plan.created.v1")
	})
	for k := range 2 {
		from := false
		for _, m := range readStreamNamed(t, js, wire.Partition{Index: k, Count: 2}.StreamName()) {
			env, err := eventstore.DecodeEnvelope(m.data)
			if err != nil {
				t.Fatal(err)
			}
			from = from || env.Type == "webhook.created.v1"
			what := fmt.Sprintf("partition %d's %s", k, env.Type)
			switch {
			case k == 1 && env.Reseller == "":
				copies[env.ID] = what
			case from || k == 1:
				want[env.ID] = what
			}
		}
	}
	if len(copies) == 0 {
		t.Fatal("partition 1 holds no copy of partition 0's system-wide events")
	}
	delivered := func() map[string]int {
		n := map[string]int{}
		for _, got := range recv.accepted() {
			n[got.header.Get("webhook-id")]++
		}
		return n
	}
	waitFor(t, "every event delivered", 20*time.Second, func() bool {
		n := delivered()
		for id := range want {
			if n[id] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond) // time for a copy to be delivered, were it to be
	for id, times := range delivered() {
		if what, ok := copies[id]; ok {
			t.Errorf("delivered the copy %s: the change reached the webhook twice", what)
		} else if _, ok := want[id]; !ok {
			t.Errorf("delivered event %s, which is not one of the webhook's", id)
		} else if times > 1 {
			t.Errorf("delivered %s %d times", want[id], times)
		}
	}

	// Its attempts, listed by partition 0, name the stream each event came from.
	var attempts struct {
		Attempts []struct{ EventID, Stream string }
	}
	raw, err := admin.Query(t.Context(), "webhook.deliveries", map[string]any{"webhookId": "everything"})
	if err != nil || json.Unmarshal(raw, &attempts) != nil {
		t.Fatalf("webhook.deliveries: %s %v", raw, err)
	}
	streams := map[string]int{}
	for _, a := range attempts.Attempts {
		streams[a.Stream]++
	}
	if streams["LEDGER_EVENTS_0"] == 0 || streams["LEDGER_EVENTS_1"] == 0 || len(streams) != 2 {
		t.Errorf("the attempts name the streams %v; want partition 0's and 1's", streams)
	}

	// Partition 1's events fail: the webhook is paused on partition 0, which decided it.
	recv.then("500")
	r1 := resellerIn(1, 2)
	command(to(1, r1), "seat.register", map[string]any{"licenseId": "l-" + r1, "endUserCompany": "Acme", "endUserName": "v"})
	waitFor(t, "the pause on partition 0", 20*time.Second, func() bool {
		raw, _ := admin.Query(t.Context(), "webhook.list", map[string]any{})
		return strings.Contains(string(raw), `"enabled":false`)
	})
	raw, _ = admin.Query(t.Context(), "webhook.list", map[string]any{})
	if !strings.Contains(string(raw), "paused after 3 failed deliveries in a row") {
		t.Errorf("the paused webhook says no reason: %s", raw)
	}
	for _, m := range readStreamNamed(t, js, wire.Partition{Index: 1, Count: 2}.StreamName()) {
		if env, err := eventstore.DecodeEnvelope(m.data); err == nil && env.Reseller == "" && !strings.HasPrefix(env.CommandID, "partition-0/") {
			t.Errorf("partition 1 decided the system-wide %s itself (no partition 0 event behind it)", env.Type)
		}
	}
}

// holdsType reports whether msgs hold an event of type typ.
func holdsType(t *testing.T, msgs []streamMsg, typ string) bool {
	t.Helper()
	for _, m := range msgs {
		env, err := eventstore.DecodeEnvelope(m.data)
		if err != nil {
			t.Fatal(err)
		}
		if env.Type == typ {
			return true
		}
	}
	return false
}

// partitionedHTTP: HTTP has no addressed form. A reseller's credential, which only its partition
// holds, changes its reseller's data at that partition's listener, the one its credential's
// endpoint names; another partition's listener does not know the credential.
func partitionedHTTP(t *testing.T, httpAddr []string, to func(int, string) *client.Client,
	command func(*client.Client, string, map[string]any) json.RawMessage) {
	c, reseller, issued := newPartner(t, "http", to, command)
	var shown struct {
		Endpoint struct{ HTTP string }
	}
	raw, err := c.Query(t.Context(), "credential.get", map[string]any{"credentialId": issued.ID})
	if err != nil || json.Unmarshal(raw, &shown) != nil {
		t.Fatalf("credential.get: %s %v", raw, err)
	}
	if want := "http://" + httpAddr[1] + "/v1/<name>"; shown.Endpoint.HTTP != want {
		t.Errorf("the credential's endpoint is %q, want its partition's listener %q", shown.Endpoint.HTTP, want)
	}
	post := func(k int) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+httpAddr[k]+"/v1/tenant.create",
			strings.NewReader(`{"resellerId":"`+reseller+`","id":"t-http","name":"T"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := post(1); status != http.StatusOK || !strings.Contains(body, `"tenant.created.v1"`) {
		t.Errorf("tenant.create at its partition's listener: %d %s", status, body)
	}
	if status, body := post(0); status != http.StatusUnauthorized {
		t.Errorf("tenant.create at another partition's listener: %d %s; want 401", status, body)
	}
}

// partitionedFeed: a reseller's credential learns from its endpoint (credential.get) where its
// reseller's events are, its partition's stream and subjects, and follows them there.
func partitionedFeed(t *testing.T, url string, to func(int, string) *client.Client,
	command func(*client.Client, string, map[string]any) json.RawMessage) {
	c, reseller, issued := newPartner(t, "feed", to, command)
	var shown struct {
		Endpoint struct{ EventStream, EventSubject string }
	}
	raw, err := c.Query(t.Context(), "credential.get", map[string]any{"credentialId": issued.ID})
	if err != nil || json.Unmarshal(raw, &shown) != nil {
		t.Fatalf("credential.get: %s %v", raw, err)
	}
	e := shown.Endpoint
	if e.EventStream != "LEDGER_EVENTS_1" || e.EventSubject != "ledger.v1.p.1.evt."+reseller+".>" {
		t.Fatalf("the endpoint names the feed %q %q; want partition 1's", e.EventStream, e.EventSubject)
	}
	feed, err := client.FollowOn(t.Context(), connect(t, url, issued.Token), issued.Token, e.EventStream, e.EventSubject, 1)
	if err != nil {
		t.Fatalf("following %s: %v", e.EventStream, err)
	}
	m, err := feed.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if env, err := eventstore.DecodeEnvelope(m.Data()); err != nil || env.Type != "reseller.created.v1" || env.Reseller != reseller {
		t.Errorf("the feed's first event: %s %v; want %s's creation", m.Data(), err, reseller)
	}
}

// newPartner makes a reseller on partition 1, its id starting with prefix, and a reseller-admin
// credential of it: a client addressed to it, its id, and the credential's id and token.
func newPartner(t *testing.T, prefix string, to func(int, string) *client.Client,
	command func(*client.Client, string, map[string]any) json.RawMessage) (c *client.Client, reseller string, issued struct{ ID, Token string }) {
	t.Helper()
	reseller = prefix + "-0"
	for i := 1; !(wire.Partition{Index: 1, Count: 2}).Owns(reseller); i++ {
		reseller = fmt.Sprintf("%s-%d", prefix, i)
	}
	c = to(1, reseller)
	command(c, "reseller.create", map[string]any{"id": reseller, "name": prefix})
	if err := json.Unmarshal(command(c, "credential.issue", map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": reseller}}), &issued); err != nil {
		t.Fatal(err)
	}
	return c, reseller, issued
}
