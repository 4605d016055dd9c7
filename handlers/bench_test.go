package handlers

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkCommandSeatRegister drives Ledger.Command directly, without NATS: decode,
// authenticate, decide on the sequencer, group commit with fsync, render. Compare with
// `make bench` (the same command through NATS from another process) to see what transport costs.
func BenchmarkCommandSeatRegister(b *testing.B) {
	tl := newTestLedger(b)
	l, token, ctx := tl.Ledger, tl.token, context.Background()
	for _, c := range []Request{
		{Name: "reseller.create", Body: []byte(`{"id":"r","name":"R"}`)},
		{Name: "tenant.create", Body: []byte(`{"id":"t","resellerId":"r","name":"T"}`)},
		{Name: "product.create", Body: []byte(`{"id":"p","name":"P"}`)},
		{Name: "plan.create", Body: []byte(`{"id":"plan","productId":"p","name":"P","tier":1,"seats":1000000}`)},
		{Name: "license.create", Body: []byte(`{"id":"l","resellerId":"r","tenantId":"t","planId":"plan"}`)},
	} {
		c.Token = token
		if _, f := l.Command(ctx, c); f != nil {
			b.Fatal(f.Err)
		}
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := []byte(`{"licenseId":"l","endUserCompany":"Acme","endUserName":"u` + strconv.FormatInt(n.Add(1), 10) + `"}`)
			if _, f := l.Command(ctx, Request{Name: "seat.register", Body: body, Token: token}); f != nil {
				b.Error(f.Err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
}
