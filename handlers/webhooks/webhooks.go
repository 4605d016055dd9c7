// Package webhooks delivers the ledger's events to partners' webhooks (webhook.create), following
// the Standard Webhooks specification: each event is POSTed as its CloudEvents envelope, signed
// with the webhook's secret (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256).
//
// Each webhook reads the event stream through a durable JetStream consumer of its own, filtered on
// its reseller's subjects, with one message in flight: deliveries are at least once, in log order
// per webhook, and survive restarts (the consumer remembers what was acknowledged; an event
// delivered but not yet acknowledged when ledgerd stops is delivered again). A failed attempt is
// retried with exponential backoff; after MaxFailures failures in a row the webhook is paused
// (webhook.disabled.v1, with the reason) and webhook.enable resumes it from the event that
// failed. Delivery never touches the write path: it reads the stream the relay fills.
//
// On a ledger partitioned by reseller, a reseller's webhooks are delivered by its partition from
// its stream. A system webhook (no reseller) is delivered by partition 0 alone, which decides it
// and so can pause it: from its own stream and from every other partition's, less the copies of
// partition 0's system-wide events those hold, so each change reaches it once.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/wire"
)

// Options configure the deliverer.
type Options struct {
	Ledger    *handlers.Ledger
	JS        jetstream.JetStream // on ledgerd's writer connection
	Partition wire.Partition      // whose webhooks to deliver (see the package comment)
	Log       *slog.Logger
	// AllowPrivate lets webhooks reach loopback, private and link-local addresses. Off by
	// default: a partner's URL must not make the ledger call into its own network.
	AllowPrivate bool
	Timeout      time.Duration // one attempt, the receiver's answer included (default 10 s)
	Backoff      time.Duration // the wait after the first failure, doubling (default 1 s)
	MaxBackoff   time.Duration // the longest wait (default 5 min)
	MaxFailures  int           // failures in a row before the webhook is paused (default 10)
	Poll         time.Duration // how often the webhooks are looked at (default 1 s)
}

// Deliverer runs one worker per enabled webhook.
type Deliverer struct {
	o      Options
	client *http.Client
	mu     sync.Mutex
	active map[string]*worker // by webhook id
}

type worker struct {
	hook   domain.Webhook
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a deliverer; Run starts it.
func New(o Options) *Deliverer {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 10
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	dialer := &net.Dialer{Timeout: o.Timeout, Control: func(_, address string, _ syscall.RawConn) error {
		return reachable(address, o.AllowPrivate)
	}}
	return &Deliverer{o: o, active: map[string]*worker{}, client: &http.Client{
		Timeout:   o.Timeout,
		Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute},
		// A redirect would send the signed event somewhere the partner did not register.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// reachable refuses, unless allowed, an address that is not on the public internet: the check
// runs on the address actually dialled, so a name that resolves to one is refused too.
func reachable(address string, allowPrivate bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	if !allowPrivate && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast()) {
		return fmt.Errorf("address %s is not public (ledgerd --webhook-allow-private lets webhooks reach it)", ip)
	}
	return nil
}

// Run reconciles the workers with the ledger's webhooks until ctx ends: a worker for each enabled
// webhook, restarted when its URL or event types change; a deleted webhook's consumer is removed.
func (d *Deliverer) Run(ctx context.Context) {
	tick := time.NewTicker(d.o.Poll)
	defer tick.Stop()
	for {
		d.reconcile(ctx)
		select {
		case <-ctx.Done():
			d.mu.Lock()
			for id, w := range d.active {
				w.cancel()
				<-w.done
				delete(d.active, id)
			}
			d.mu.Unlock()
			return
		case <-tick.C:
		}
	}
}

func (d *Deliverer) reconcile(ctx context.Context) {
	hooks := map[string]domain.Webhook{}
	for _, w := range d.o.Ledger.Webhooks() {
		if d.delivers(w) {
			hooks[w.ID] = w
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, w := range d.active {
		now, ok := hooks[id]
		if ok && now.Enabled && now.URL == w.hook.URL && slices.Equal(now.EventTypes, w.hook.EventTypes) && !w.finished() {
			continue
		}
		w.cancel()
		<-w.done
		delete(d.active, id)
		if !ok { // deleted: its consumers go too
			for _, part := range d.streams(w.hook) {
				_ = d.o.JS.DeleteConsumer(ctx, part.StreamName(), consumerName(id))
			}
		}
	}
	for id, h := range hooks {
		if _, running := d.active[id]; running || !h.Enabled {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{hook: h, cancel: cancel, done: make(chan struct{})}
		d.active[id] = w
		go func() {
			defer close(w.done)
			// Paused, or failed: the next reconcile drops the entry, and starts the webhook again
			// if it is enabled.
			if err := d.work(wctx, h); err != nil && wctx.Err() == nil {
				d.o.Log.Warn("webhook delivery stopped; retrying", "webhook", h.ID, "err", err)
			}
		}()
	}
}

// finished reports whether the worker has stopped on its own.
func (w *worker) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// delivers reports whether this partition delivers w: a reseller's webhook on the partition that
// owns the reseller, a system webhook on partition 0 (every partition holds a copy of it).
func (d *Deliverer) delivers(w domain.Webhook) bool {
	if w.ResellerID == "" {
		return d.o.Partition.Index == 0
	}
	return d.o.Partition.Owns(w.ResellerID)
}

// streams are the partitions whose event streams w is delivered from: its reseller's, or for a
// system webhook every partition's.
func (d *Deliverer) streams(w domain.Webhook) []wire.Partition {
	if w.ResellerID != "" || !d.o.Partition.Partitioned() {
		return []wire.Partition{d.o.Partition}
	}
	parts := make([]wire.Partition, d.o.Partition.Count)
	for k := range parts {
		parts[k] = wire.Partition{Index: k, Count: d.o.Partition.Count}
	}
	return parts
}

// consumerName is a webhook's durable consumer on an event stream (the same on each partition's).
func consumerName(id string) string { return "webhook_" + id }

// ackWait is how long the stream waits for a delivery's outcome before it sends the event again:
// an attempt's timeout and a margin. A worker retrying an event tells it, more often than this,
// that it is still at it; after a crash, the event comes again this long after its last attempt.
func (d *Deliverer) ackWait() time.Duration { return d.o.Timeout + 5*time.Second }

// work delivers h's events, in order on each stream it reads (several for a system webhook of
// a partitioned ledger), until ctx ends or h is paused. Each stream is read on its own: one that
// fails (a NATS outage, another partition not started yet) is tried again after Poll without
// holding up the others, and a pause on any of them ends them all.
func (d *Deliverer) work(ctx context.Context, h domain.Webhook) error {
	secret, err := d.o.Ledger.WebhookSecret(h)
	if err != nil {
		return fmt.Errorf("opening the secret: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("the secret: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, part := range d.streams(h) {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := d.deliver(ctx, h, key, part)
				if errors.Is(err, errPaused) {
					cancel()
					return
				}
				if err != nil && ctx.Err() == nil {
					d.o.Log.Warn("webhook delivery stopped; retrying", "webhook", h.ID, "stream", part.StreamName(), "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(d.o.Poll):
					}
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// errPaused is deliver's answer once it has paused the webhook (webhook.disabled.v1 is durable).
var errPaused = errors.New("webhook paused")

// deliver delivers h's events from one partition's stream, in order, until ctx ends or h is
// paused. On a stream other than partition 0's, a system webhook skips the copies of partition
// 0's system-wide events (subjects under "_"): partition 0's own stream delivers them.
func (d *Deliverer) deliver(ctx context.Context, h domain.Webhook, key []byte, part wire.Partition) error {
	filter := part.SubjectPrefix() + ">"
	if h.ResellerID != "" {
		filter = part.SubjectPrefix() + h.ResellerID + ".>"
	}
	copies := ""
	if part.Index > 0 && h.ResellerID == "" {
		copies = part.SubjectPrefix() + wire.SystemToken + "."
	}
	created := h.CreatedAt
	cons, err := d.o.JS.CreateOrUpdateConsumer(ctx, part.StreamName(), jetstream.ConsumerConfig{
		Durable: consumerName(h.ID), Description: "licledger webhook " + h.ID, FilterSubject: filter,
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &created,
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: d.ackWait(), MaxAckPending: 1, MaxDeliver: -1,
	})
	if err != nil {
		return fmt.Errorf("its consumer: %w", err)
	}
	failures := 0
	for ctx.Err() == nil {
		msg, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		if err != nil {
			return err
		}
		var env struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Sequence uint64 `json:"sequence"`
		}
		if err := json.Unmarshal(msg.Data(), &env); err != nil {
			return fmt.Errorf("event %s: %w", msg.Subject(), err)
		}
		if !h.Wants(env.Type) || copies != "" && strings.HasPrefix(msg.Subject(), copies) {
			_ = msg.Ack()
			continue
		}
		for attempt := 1; ; attempt++ {
			_ = msg.InProgress()
			status, err := d.post(ctx, h.URL, key, env.ID, msg.Data())
			a := handlers.WebhookDelivery{EventID: env.ID, EventType: env.Type, Sequence: env.Sequence, Attempt: attempt,
				At: time.Now().UTC(), Status: status, Delivered: err == nil}
			if part.Partitioned() {
				a.Stream = part.StreamName()
			}
			if err != nil {
				a.Error = err.Error()
			}
			d.o.Ledger.RecordDelivery(h.ID, a)
			if err == nil {
				if err := msg.DoubleAck(ctx); err != nil {
					return fmt.Errorf("acknowledging event %d: %w", env.Sequence, err)
				}
				failures = 0
				break
			}
			if ctx.Err() != nil {
				d.giveBack(msg) // stopping: the event comes again at once, to the next start's worker
				return nil
			}
			if failures++; failures >= d.o.MaxFailures {
				reason := fmt.Sprintf("paused after %d failed deliveries in a row; the last: %s", failures, a.Error)
				if len(reason) > 200 {
					reason = reason[:197] + "..."
				}
				d.o.Log.Warn("webhook paused", "webhook", h.ID, "reason", reason)
				d.giveBack(msg) // the event comes again once the webhook is enabled
				if err := d.o.Ledger.DisableWebhook(ctx, h, reason); err != nil {
					return err
				}
				return errPaused
			}
			if !d.wait(ctx, msg, d.backoff(attempt)) {
				d.giveBack(msg)
				return nil
			}
		}
	}
	return nil
}

// giveBack hands an undelivered event back to the stream, which sends it again at once rather
// than after ackWait: a stopping ledgerd's event goes to the next start. The flush makes sure the
// connection does not close with it still in its buffer.
func (d *Deliverer) giveBack(msg jetstream.Msg) {
	_ = msg.Nak()
	_ = d.o.JS.Conn().FlushTimeout(time.Second)
}

// backoff is the wait after the attempt-th failure of one event: Backoff, doubling, at most
// MaxBackoff.
func (d *Deliverer) backoff(attempt int) time.Duration {
	wait := d.o.Backoff
	for range attempt - 1 {
		if wait *= 2; wait >= d.o.MaxBackoff {
			return d.o.MaxBackoff
		}
	}
	return wait
}

// wait sleeps for dt, telling the stream the event is still being delivered; false if ctx ended.
func (d *Deliverer) wait(ctx context.Context, msg jetstream.Msg, dt time.Duration) bool {
	deadline := time.Now().Add(dt)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(left, d.ackWait()/3)):
			_ = msg.InProgress()
		}
	}
}

// post sends one event, signed, and returns the receiver's status; an error unless it is 2xx.
func (d *Deliverer) post(ctx context.Context, url string, key []byte, id string, body []byte) (int, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "licledger-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", Sign(key, id, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, errors.Unwrap(err) // the url is the partner's own; the cause is what it needs
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// Sign is the Standard Webhooks signature of one delivery: "v1," and the base64 of
// HMAC-SHA256(key, "<id>.<timestamp>.<body>").
func Sign(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
