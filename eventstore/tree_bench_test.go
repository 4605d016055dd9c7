package eventstore_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/licledger/licledger/eventstore"
)

// benchEvents is the size of the verified log: LICLEDGER_BENCH_VERIFY_EVENTS, default 1,000,000.
func benchEvents(b *testing.B) int {
	if v := os.Getenv("LICLEDGER_BENCH_VERIFY_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// treeBenchLog writes n ~300-byte events (1,000 per command) and hashes them into the tree with a
// checkpoint every 10,000 events, as ledgerd does. It returns the verifier key and the tree
// writer's speed in events/s.
func treeBenchLog(b *testing.B, dir string, n int) (string, float64) {
	b.Helper()
	skey, _ := eventstore.GenerateCheckpointKey("licledger.bench")
	vkey, _ := eventstore.VerifierKey(skey)
	s, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"licenseId":"01JBENCHLICENSE000000000000","resellerId":"r1","tenantId":"t1","endUserCompany":"Acme Corporation","endUserName":"someone@example.com","period":0}`)
	for i := 0; i < n; i += 1000 {
		k := min(1000, n-i)
		_, err := s.Submit(context.Background(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
			recs := make([]eventstore.Record, k)
			for j := range recs {
				recs[j] = eventstore.Record{Type: "seat.registered.v1", Subject: "l1", Reseller: "r1", Tenant: "t1", Data: data}
			}
			return nil, tx.Append("license/l"+strconv.Itoa(i%97), eventstore.AnyVersion, recs...)
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &eventstore.TreeWriter{Store: s, SigningKey: skey, Every: 10000, Interval: time.Hour}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(ctx) }()
	for s.TreeSize() < uint64(n) {
		time.Sleep(time.Millisecond)
	}
	treeRate := float64(n) / time.Since(start).Seconds()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return vkey, treeRate
}

// BenchmarkVerify measures `ledgerctl audit verify --data` on a log of 1 M events: every event
// decoded, its sequence and id checked, the tree recomputed and every checkpoint's root compared.
func BenchmarkVerify(b *testing.B) {
	n := benchEvents(b)
	dir := b.TempDir()
	vkey, treeRate := treeBenchLog(b, dir, n)
	b.ResetTimer()
	for range b.N {
		s, err := eventstore.Open(dir, eventstore.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		cs, err := s.StoredCheckpoints(vkey)
		if err != nil {
			b.Fatal(err)
		}
		v := eventstore.NewVerifier(cs...)
		if err := s.VerifyLog(v, nil); err != nil {
			b.Fatal(err)
		}
		if v.Events() != uint64(n) || len(v.Checked) != (n+9999)/10000 { // a writer catching up signs every 10,000
			b.Fatalf("verified %d events, %d checkpoints", v.Events(), len(v.Checked))
		}
		s.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(treeRate, "tree-events/s") // reported here: ResetTimer drops earlier metrics
}
