package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/oklog/ulid/v2"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/wire"
)

// runBench measures durable command throughput: it creates a reseller, tenant, product, a large
// plan and one license per client, then has every client send seat.register for new users back to
// back for the given duration. Every reply counted was sent after its group commit's fsync.
func runBench(ctx context.Context, g global, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clients := fs.Int("clients", 64, "concurrent clients, each waiting for its reply before the next request")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	conns := fs.Int("connections", 4, "NATS connections the clients share")
	validate := fs.Bool("validate", false, "send anonymous license.validate for the clients' keys instead of commands")
	heartbeat := fs.Bool("heartbeat", false, "send machine.heartbeat for one machine per client (floating licenses: only the first is an event)")
	batch := fs.Int("batch", 0, "send batch.submit requests of this many seat.register each (0: one command per request)")
	resellers := fs.Int("resellers", 1, "resellers the clients' licenses are spread over; every command is addressed to its reseller, so on a ledger partitioned by reseller the load spreads over the partitions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 || *conns < 1 || *resellers < 1 {
		return fmt.Errorf("--clients, --connections and --resellers must be at least 1")
	}
	if *batch < 0 || *batch > client.MaxBatch {
		return fmt.Errorf("--batch: %d is not between 0 and %d", *batch, client.MaxBatch)
	}
	ncs := make([]*nats.Conn, *conns)
	for i := range ncs {
		nc, err := g.connect("ledgerctl-bench")
		if err != nil {
			return fmt.Errorf("connect %s: %w", g.natsURL, err)
		}
		defer nc.Close()
		ncs[i] = nc
	}
	admin := client.New(ncs[0], g.token)
	run := ulid.Make().String()
	licenses, owners, keys, err := benchSetup(ctx, admin, run, *clients, *resellers)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies []time.Duration
		failures  = map[string]int{}
	)
	deadline := time.Now().Add(*duration)
	start := time.Now()
	for i := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client.New(ncs[i%len(ncs)], g.token)
			if *validate {
				c = client.New(ncs[i%len(ncs)], "") // no Authorization: Keygen's anonymous validate-key
			}
			mine := make([]time.Duration, 0, 1<<14)
			fails := map[string]int{}
			// Bodies are built by hand and replies only checked for an error, so that the load
			// generator, which shares the machine, spends as little CPU as it can.
			prefix := []byte(`{"licenseId":"` + licenses[i] + `","endUserCompany":"Bench","endUserName":"u`)
			subject := wire.RequestSubject(wire.KindCommand, "seat.register", owners[i])
			if *batch > 0 {
				subject = wire.RequestSubject(wire.KindCommand, "batch.submit", owners[i])
			}
			if *validate {
				subject = wire.RequestSubject(wire.KindQuery, "license.validate", "")
			}
			if *heartbeat {
				subject = wire.RequestSubject(wire.KindCommand, "machine.heartbeat", owners[i])
				machine := map[string]any{"licenseId": licenses[i], "fingerprint": "bench-machine"}
				if _, err := c.Command(ctx, "machine.activate", machine, ""); err != nil {
					mu.Lock()
					failures["ACTIVATE "+errorCode(err)]++
					mu.Unlock()
					return
				}
				prefix = []byte(`{"licenseId":"` + licenses[i] + `","fingerprint":"bench-machine"}`)
			}
			body := make([]byte, 0, max(1, *batch)*(len(prefix)+64))
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				if *heartbeat {
					body = append(body[:0], prefix...)
				} else if *validate {
					body = append(append(append(body[:0], `{"key":"`...), keys[i]...), `"}`...)
				} else if *batch == 0 {
					body = append(strconv.AppendInt(append(body[:0], prefix...), int64(n), 10), `"}`...)
				} else {
					body = append(body[:0], `{"commands":[`...)
					for k := range *batch {
						if k > 0 {
							body = append(body, ',')
						}
						body = append(body, `{"name":"seat.register","body":`...)
						body = append(strconv.AppendInt(append(body, prefix...), int64(n**batch+k), 10), `"}}`...)
					}
					body = append(body, `]}`...)
				}
				t := time.Now()
				reply, err := c.Request(ctx, subject, body, "")
				if err != nil {
					fails[errorCode(err)]++
					continue
				}
				if *validate && !bytes.Contains(reply, []byte(`"valid":true`)) {
					fails["NOT_VALID"]++
					continue
				}
				if *batch > 0 && !bytes.Contains(reply, []byte(`"refused":0}`)) {
					fails["REFUSED_IN_BATCH"]++ // a batch is counted only if every command in it was applied
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			for k, v := range fails {
				failures[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))]
	}
	if *batch > 0 {
		// Every batch's commands are fresh users on a license with room: each acknowledged batch
		// is batch durable seat.register events.
		fmt.Fprintf(stdout, "seat.register batch=%d clients=%d duration=%s batches=%d failed=%v commands=%.0f/s p50=%s p99=%s max=%s\n",
			*batch, *clients, elapsed.Round(time.Millisecond), len(latencies), failures,
			float64(len(latencies)**batch)/elapsed.Seconds(), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
		return nil
	}
	what := "seat.register"
	if *validate {
		what = "license.validate"
	}
	if *heartbeat {
		what = "machine.heartbeat"
	}
	fmt.Fprintf(stdout, "%s clients=%d duration=%s acknowledged=%d failed=%v throughput=%.0f/s p50=%s p99=%s max=%s\n",
		what, *clients, elapsed.Round(time.Millisecond), len(latencies), failures,
		float64(len(latencies))/elapsed.Seconds(), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	return nil
}

func errorCode(err error) string {
	if ce, ok := err.(*client.Error); ok {
		return ce.Code
	}
	return "TRANSPORT"
}

// benchSetup makes a product and a plan (system-wide, unaddressed), resellers resellers with a
// tenant each, and n licenses spread over them (addressed), and returns the licenses, their
// resellers and their keys. On a partitioned ledger a partition other than 0 learns the plan
// from partition 0's stream a moment after it is made, so a license there is retried while its
// plan is not found.
func benchSetup(ctx context.Context, admin *client.Client, run string, n, resellers int) (licenses, owners, keys []string, err error) {
	id := func(kind string) string { return "bench-" + kind + "-" + run }
	for _, s := range []struct {
		name string
		body map[string]any
	}{
		{"product.create", map[string]any{"id": id("p"), "name": "Bench product"}},
		// Floating, with the default window: --heartbeat beats its machines; nothing else notices.
		{"plan.create", map[string]any{"id": id("plan"), "productId": id("p"), "name": "Bench plan", "tier": 1, "seats": 1_000_000, "floating": true}},
	} {
		if _, err := admin.Command(ctx, s.name, s.body, ""); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	addressed := make([]*client.Client, resellers)
	for i := range addressed {
		r := id("r" + strconv.Itoa(i))
		c := *admin
		c.Reseller = r
		addressed[i] = &c
		for _, s := range []struct {
			name string
			body map[string]any
		}{
			{"reseller.create", map[string]any{"id": r, "name": "Bench reseller"}},
			{"tenant.create", map[string]any{"id": r + "-t", "resellerId": r, "name": "Bench"}},
		} {
			if _, err := c.Command(ctx, s.name, s.body, ""); err != nil {
				return nil, nil, nil, fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	licenses, owners, keys = make([]string, n), make([]string, n), make([]string, n)
	for i := range licenses {
		c := addressed[i%resellers]
		body := map[string]any{"resellerId": c.Reseller, "tenantId": c.Reseller + "-t", "planId": id("plan")}
		var r *client.CommandReply
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var ce *client.Error
			if r, err = c.Command(ctx, "license.create", body, ""); err == nil || !errors.As(err, &ce) || ce.Code != "PLAN_NOT_FOUND" || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("license.create: %w", err)
		}
		var res struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		if err := json.Unmarshal(r.Result, &res); err != nil {
			return nil, nil, nil, err
		}
		licenses[i], owners[i], keys[i] = res.ID, c.Reseller, res.Key
	}
	return licenses, owners, keys, nil
}
