package handlers

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/licledger/licledger/schemas"
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

// BenchmarkRequestCheck compares the ways to check a seat.register body: strict decoding into
// the Go type (what every request pays), the null scan in front of it, the general JSON Schema
// validator (what the ledger runs only to explain a refusal), and a refusal explained.
func BenchmarkRequestCheck(b *testing.B) {
	good := []byte(`{"licenseId":"01JD8Z3V5Q7W9X1Y2Z3A4B5C6D","endUserCompany":"Acme Corporation","endUserName":"ann.example","commandId":"c-000042"}`)
	bad := []byte(`{"licenseId":"01JD8Z3V5Q7W9X1Y2Z3A4B5C6D","endUserCompany":"Acme Corporation","endUserName":7}`)
	if err := requestSchemas.Request(schemas.Command, "seat.register", good); err != nil {
		b.Fatal(err)
	}
	b.Run("decode-strict", func(b *testing.B) {
		for b.Loop() {
			var w seatRegisterWire
			if err := decodeStrict(good, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("null-scan+decode-strict", func(b *testing.B) {
		for b.Loop() {
			var w seatRegisterWire
			if err := decodeRequest(schemas.Command, "seat.register", good, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("schema-validate", func(b *testing.B) {
		for b.Loop() {
			if err := requestSchemas.Request(schemas.Command, "seat.register", good); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refusal-explained", func(b *testing.B) {
		for b.Loop() {
			var w seatRegisterWire
			if decodeRequest(schemas.Command, "seat.register", bad, &w) == nil {
				b.Fatal("took a bad body")
			}
		}
	})
}
