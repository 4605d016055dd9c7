package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/internal/testreport"
)

// TestSoakMemoryStaysFlat drives ledgerd (a subprocess) for LICLEDGER_SOAK (a duration; `make
// soak` runs 10m, CI 90s, unset skips) with more clients than it serves at once. The
// load changes no state in the long run: each client registers and unregisters the same few
// seats and reads quotas, so the log grows but what the ledger must hold in memory does not. The
// live Go heap, sampled every few seconds after a warm-up, must stay flat: the highest sample
// of the last third at most 1.5 times the highest of the first third (a leak per request, a
// queue growing without bound or a cache that never forgets would break that).
func TestSoakMemoryStaysFlat(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("LICLEDGER_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("LICLEDGER_SOAK (a duration) not set; `make soak` runs 10m")
	}
	bin := buildLedgerd(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	startSubprocess(t, bin, filepath.Join(root, "ledgerd.log"), nil,
		"--data", data, "--nats-listen", natsAddr, "--http-listen", httpAddr)
	token := readToken(t, data)
	admin := client.New(connect(t, "nats://"+natsAddr, token), token)
	lic := setupLicense(t, admin, "soak", 1_000_000)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var done, refused atomic.Int64
	for g := range 64 {
		c := client.New(connect(t, "nats://"+natsAddr, token), token)
		c.Timeout = 5 * time.Second
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				user := fmt.Sprintf("g%d-u%d", g, n%8)
				var err error
				switch n % 3 {
				case 0:
					_, err = c.Command(ctx, "seat.register", seat(lic, user), "")
				case 1:
					_, err = c.Query(ctx, "usage.quota", map[string]any{"licenseId": lic})
				case 2:
					_, err = c.Command(ctx, "seat.unregister", seat(lic, fmt.Sprintf("g%d-u%d", g, (n-2)%8)), "")
				}
				if err != nil {
					refused.Add(1) // a 503 under overload, or the seat not there after one
					continue
				}
				done.Add(1)
			}
		}()
	}

	// JetStream keeps the message ids of its duplicate window (2 minutes, about 80 bytes per
	// event): a soak long enough to measure past it starts measuring once it is full.
	warmup := min(d/4, 150*time.Second)
	time.Sleep(warmup)
	var heap []float64
	every := max(d/60, time.Second)
	for end := time.Now().Add(d - warmup); time.Now().Before(end); time.Sleep(every) {
		// The live heap at the last collection: the next GC's target over (1 + GOGC/100). (Heap in
		// use swings with the collector: ledgerd runs GOGC=200.)
		gogc := metric(t, httpAddr, "go_gc_gogc_percent")
		heap = append(heap, metric(t, httpAddr, "go_memstats_next_gc_bytes")/(1+gogc/100))
	}
	stop()
	wg.Wait()
	third := max(1, len(heap)/3)
	first, last := slices.Max(heap[:third]), slices.Max(heap[len(heap)-third:])
	if last > 1.5*first {
		t.Errorf("live heap grew from %.1f MiB (first third) to %.1f MiB (last third): %v", first/(1<<20), last/(1<<20), heap)
	}
	if done.Load() == 0 {
		t.Fatal("no request succeeded")
	}
	testreport.Line(t, "soak of %s at 64 clients: %d requests answered, %d refused or failed; live heap %.1f MiB at the start, %.1f MiB at the end (%d samples)",
		d, done.Load(), refused.Load(), first/(1<<20), last/(1<<20), len(heap))
}
