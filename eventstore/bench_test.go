package eventstore_test

import (
	"context"
	"testing"

	"github.com/licledger/licledger/eventstore"
)

// BenchmarkGroupCommit measures durable (fsynced) commands per second through the sequencer with
// many concurrent submitters, each command appending one ~300-byte event.
func BenchmarkGroupCommit(b *testing.B) {
	s, err := eventstore.Open(b.TempDir(), eventstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := []byte(`{"licenseId":"01JBENCHLICENSE000000000000","resellerId":"r1","tenantId":"t1","endUserCompany":"Acme Corporation","endUserName":"someone@example.com","period":0}`)
	cmd := eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
		err := tx.Append("license/bench", eventstore.AnyVersion, eventstore.Record{Type: "seat.registered.v1", Subject: "bench", Reseller: "r1", Tenant: "t1", Data: data})
		return nil, err
	}}
	b.SetParallelism(32) // 32 × GOMAXPROCS submitters
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Submit(context.Background(), cmd); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
}
