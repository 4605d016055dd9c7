package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/handlers/webhooks"
)

// receiver is a partner's webhook endpoint on loopback whose answer the test scripts: each
// request takes the next behaviour of plan ("500", "slow" = no answer within the ledger's
// timeout, "200"), and the last one repeats.
type receiver struct {
	mu   sync.Mutex
	plan []string
	got  []delivery // every request, answered or not
	srv  *httptest.Server
}

type delivery struct {
	header http.Header
	body   []byte
	answer string
}

func newReceiver(t *testing.T, plan ...string) *receiver {
	r := &receiver{plan: plan}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		answer := r.plan[0]
		if len(r.plan) > 1 {
			r.plan = r.plan[1:]
		}
		r.got = append(r.got, delivery{req.Header.Clone(), body, answer})
		r.mu.Unlock()
		switch answer {
		case "500":
			w.WriteHeader(500)
		case "slow":
			time.Sleep(1500 * time.Millisecond) // past --webhook-timeout 500ms
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) then(plan ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.plan = plan
}

// accepted lists the bodies answered 200, in order.
func (r *receiver) accepted() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.got {
		if d.answer == "200" {
			out = append(out, d)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebhookDeliveries: a partner's webhook receives its reseller's events of the types it
// asked for, in log order, signed as Standard Webhooks says, after a receiver that fails and then
// times out; the attempts are listed; a restart in the middle loses nothing; repeated failure
// pauses the webhook with the reason, and enabling it resumes from the event that failed.
func TestWebhookDeliveries(t *testing.T) {
	data := t.TempDir()
	flags := []string{"--webhook-allow-private", "true", "--webhook-timeout", "500ms", "--webhook-backoff", "50ms", "--webhook-max-failures", "4"}
	url, _, stop := startLogging(t, data, io.Discard, flags...)
	token := readToken(t, data)
	admin := client.New(connect(t, url, token), token)
	ctx := context.Background()
	licA := setupLicense(t, admin, "wa", 10) // reseller "war"
	licB := setupLicense(t, admin, "wb", 10) // reseller "wbr"
	_, partnerToken := issueCredential(t, admin, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "war"}})
	partner := client.New(connect(t, url, partnerToken), partnerToken)

	recv := newReceiver(t, "500", "slow", "200")
	r, err := partner.Command(ctx, "webhook.create", map[string]any{"id": "hook-a", "url": recv.srv.URL, "resellerId": "war",
		"eventTypes": []string{"seat.registered.v1", "seat.unregistered.v1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Secret string }
	json.Unmarshal(r.Result, &created)
	if !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("webhook.create: %s", r.Raw)
	}
	// Another reseller's webhook is out of the partner's reach.
	_, err = partner.Command(ctx, "webhook.create", map[string]any{"url": recv.srv.URL, "resellerId": "wbr"}, "")
	wantCode(t, err, 403, "OUT_OF_SCOPE")

	register := func(lic, user string) uint64 {
		t.Helper()
		r, err := admin.Command(ctx, "seat.register", seat(lic, user), "")
		if err != nil {
			t.Fatal(err)
		}
		return r.Events[0].Sequence
	}
	first := register(licA, "ann")
	register(licB, "zed") // another reseller's: never delivered here
	r, err = admin.Command(ctx, "seat.unregister", seat(licA, "ann"), "")
	if err != nil {
		t.Fatal(err)
	}
	second := r.Events[0].Sequence
	waitFor(t, "two deliveries", 15*time.Second, func() bool { return len(recv.accepted()) >= 2 })

	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
	type envelope struct {
		ID, Type, Reseller string
		Sequence           uint64
	}
	check := func(d delivery) envelope {
		t.Helper()
		var e envelope
		if err := json.Unmarshal(d.body, &e); err != nil {
			t.Fatal(err)
		}
		h := d.header
		if h.Get("webhook-id") != e.ID || h.Get("webhook-timestamp") == "" ||
			h.Get("webhook-signature") != webhooks.Sign(key, e.ID, h.Get("webhook-timestamp"), d.body) {
			t.Errorf("event %d: headers %v do not sign it with the webhook's secret", e.Sequence, h)
		}
		return e
	}
	got := recv.accepted()
	if a, b := check(got[0]), check(got[1]); a.Sequence != first || a.Type != "seat.registered.v1" ||
		b.Sequence != second || b.Type != "seat.unregistered.v1" || a.Reseller != "war" || b.Reseller != "war" {
		t.Fatalf("delivered %+v then %+v; want war's seat events %d and %d, in order", a, b, first, second)
	}
	// The attempts, newest first: the 500, the timeout, then success.
	raw, err := partner.Query(ctx, "webhook.deliveries", map[string]any{"webhookId": "hook-a"})
	if err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Attempts []struct {
			Sequence  uint64
			Attempt   int
			Status    int
			Error     string
			Delivered bool
		}
	}
	json.Unmarshal(raw, &shown)
	if n := len(shown.Attempts); n < 4 {
		t.Fatalf("webhook.deliveries: %s", raw)
	}
	oldest := shown.Attempts[len(shown.Attempts)-3:]
	if o := oldest[2]; o.Sequence != first || o.Attempt != 1 || o.Status != 500 || o.Delivered {
		t.Errorf("the first attempt: %+v", o)
	}
	if o := oldest[1]; o.Attempt != 2 || o.Delivered || o.Error == "" {
		t.Errorf("the second attempt (timed out): %+v", o)
	}
	if o := oldest[0]; o.Attempt != 3 || !o.Delivered || o.Status != 200 {
		t.Errorf("the third attempt: %+v", o)
	}

	// A restart in the middle: an event whose delivery is failing when ledgerd stops is
	// delivered after it starts again, once.
	recv.then("500")
	third := register(licA, "bob")
	waitFor(t, "a failing attempt", 10*time.Second, func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return len(recv.got) > 0 && recv.got[len(recv.got)-1].answer == "500"
	})
	stop()
	recv.then("200")
	url, _, _ = startLogging(t, data, io.Discard, flags...)
	admin = client.New(connect(t, url, token), token)
	partner = client.New(connect(t, url, partnerToken), partnerToken)
	deadline := time.Now().Add(15 * time.Second)
	for len(recv.accepted()) < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(recv.accepted()) < 3 {
		raw, err := partner.Query(ctx, "webhook.list", map[string]any{})
		recv.mu.Lock()
		var answers []string
		for _, d := range recv.got {
			answers = append(answers, d.answer)
		}
		recv.mu.Unlock()
		js, _ := jetstream.New(connect(t, url, token))
		info, ierr := js.Consumer(ctx, "LEDGER_EVENTS", "webhook_hook-a")
		var ci any
		if ierr == nil {
			ci, _ = info.Info(ctx)
		}
		b, _ := json.Marshal(ci)
		t.Fatalf("after the restart: answers %v; webhooks %s %v; consumer %s %v", answers, raw, err, b, ierr)
	}
	if e := check(recv.accepted()[2]); e.Sequence != third {
		t.Fatalf("after the restart: %+v; want event %d", e, third)
	}

	// Repeated failure pauses the webhook, with the reason; enabling resumes from that event.
	recv.then("500")
	fourth := register(licA, "cy")
	waitFor(t, "the pause", 15*time.Second, func() bool {
		raw, _ := partner.Query(ctx, "webhook.list", map[string]any{})
		return strings.Contains(string(raw), `"enabled":false`)
	})
	raw, _ = partner.Query(ctx, "webhook.list", map[string]any{})
	if !strings.Contains(string(raw), "paused after 4 failed deliveries in a row") {
		t.Errorf("the paused webhook says no reason: %s", raw)
	}
	recv.then("200")
	if _, err := partner.Command(ctx, "webhook.enable", map[string]any{"webhookId": "hook-a"}, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event after enabling", 15*time.Second, func() bool { return len(recv.accepted()) >= 4 })
	accepted := recv.accepted()
	if e := check(accepted[3]); e.Sequence != fourth || len(accepted) != 4 {
		t.Fatalf("after enabling: %+v (%d delivered); want event %d once", e, len(accepted), fourth)
	}
	// Nothing of the other reseller's, nothing twice.
	seen := map[uint64]bool{}
	for _, d := range accepted {
		e := check(d)
		if e.Reseller != "war" || seen[e.Sequence] {
			t.Errorf("delivered %+v", e)
		}
		seen[e.Sequence] = true
	}
}

// TestWebhooksReachOnlyPublicAddresses: without --webhook-allow-private a webhook on loopback is
// not called, and the attempts say why.
func TestWebhooksReachOnlyPublicAddresses(t *testing.T) {
	data := t.TempDir()
	url, _, _ := startLogging(t, data, io.Discard, "--webhook-backoff", "50ms", "--webhook-max-failures", "2")
	token := readToken(t, data)
	admin := client.New(connect(t, url, token), token)
	ctx := context.Background()
	lic := setupLicense(t, admin, "wp", 5)
	recv := newReceiver(t, "200")
	if _, err := admin.Command(ctx, "webhook.create", map[string]any{"id": "hook-p", "url": recv.srv.URL, "resellerId": "wpr"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Command(ctx, "seat.register", seat(lic, "ann"), ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pause", 10*time.Second, func() bool {
		raw, _ := admin.Query(ctx, "webhook.list", map[string]any{})
		return strings.Contains(string(raw), `"enabled":false`)
	})
	raw, _ := admin.Query(ctx, "webhook.deliveries", map[string]any{"webhookId": "hook-p"})
	if !strings.Contains(string(raw), "is not public") {
		t.Errorf("the attempts do not say why: %s", raw)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.got) != 0 {
		t.Fatalf("a loopback receiver was called %d times", len(recv.got))
	}
}
