package natsapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/handlerstest"
	"github.com/licledger/licledger/wire"
)

// TestViewsExportRestoresItsBucket: a key of the views bucket that someone else overwrote is the
// ledger's again after the next full pass, and one the ledger never wrote is purged.
func TestViewsExportRestoresItsBucket(t *testing.T) {
	l := handlerstest.Start(t, handlers.Options{})
	if _, f := l.Command(context.Background(), handlers.Request{Name: "reseller.create", Token: l.Token, Body: []byte(`{"id":"vr","name":"R"}`)}); f != nil {
		t.Fatal(f.Err)
	}
	js, ctx := exportViews(t, ExportOptions{Interval: 20 * time.Millisecond, Refresh: 100 * time.Millisecond}, l)

	var kv jetstream.KeyValue
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}
	waitFor("the reseller's key", func() bool {
		if kv == nil {
			kv, _ = js.KeyValue(ctx, ViewsBucket)
		}
		if kv == nil {
			return false
		}
		e, err := kv.Get(ctx, "reseller.vr")
		return err == nil && strings.Contains(string(e.Value()), `"resellerId":"vr"`)
	})
	if _, err := kv.Put(ctx, "reseller.vr", []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "license.forged", []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the overwritten key restored", func() bool {
		e, err := kv.Get(ctx, "reseller.vr")
		return err == nil && strings.Contains(string(e.Value()), `"resellerId":"vr"`)
	})
	waitFor("the foreign key purged", func() bool {
		_, err := kv.Get(ctx, "license.forged")
		return err != nil
	})
}

// TestPartitionsShareTheViewsBucket: the partitions of a partitioned ledger export to one bucket,
// each its own resellers' keys. A partition's full pass purges a key it did not write only if the
// value names one of its resellers, or none: partition 1's passes leave partition 0's keys be,
// while each still purges a forged key in its own resellers' space.
func TestPartitionsShareTheViewsBucket(t *testing.T) {
	parts := []wire.Partition{{Index: 0, Count: 2}, {Index: 1, Count: 2}}
	in := func(k int, prefix string) string {
		id := prefix + "0"
		for i := 1; !parts[k].Owns(id); i++ {
			id = fmt.Sprintf("%s%d", prefix, i)
		}
		return id
	}
	l0 := handlerstest.Start(t, handlers.Options{Partition: parts[0]})
	l1 := handlerstest.StartPartition(t, handlers.Options{Partition: parts[1]})
	r0 := in(0, "r")
	for _, step := range [][2]string{
		{"reseller.create", `{"id":"` + r0 + `","name":"R"}`},
		{"tenant.create", `{"resellerId":"` + r0 + `","id":"t0","name":"T"}`},
	} {
		if _, f := l0.Command(context.Background(), handlers.Request{Name: step[0], Token: l0.Token, Body: []byte(step[1]), Reseller: r0}); f != nil {
			t.Fatal(f.Err)
		}
	}
	js, ctx := exportViews(t, ExportOptions{Interval: 20 * time.Millisecond, Refresh: 50 * time.Millisecond}, l0, l1)

	var kv jetstream.KeyValue
	has := func(key, want string) bool {
		if kv == nil {
			kv, _ = js.KeyValue(ctx, ViewsBucket)
		}
		if kv == nil {
			return false
		}
		e, err := kv.Get(ctx, key)
		return err == nil && strings.Contains(string(e.Value()), want)
	}
	for deadline := time.Now().Add(10 * time.Second); !has("reseller."+r0, `"resellerId":"`+r0+`"`) || !has("tenant.t0", `"resellerId":"`+r0+`"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("partition 0's keys never reached the bucket")
		}
	}
	forged := map[string]string{ // key: the reseller its value names
		"license.forged-in-0": r0,
		"license.forged-in-1": in(1, "r"),
	}
	for key, reseller := range forged {
		if _, err := kv.Put(ctx, key, []byte(`{"license":{"resellerId":"`+reseller+`"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	// Many full passes of both partitions: partition 0's keys stay, the forged ones go.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if !has("reseller."+r0, r0) || !has("tenant.t0", r0) {
			t.Fatal("partition 0's keys were purged by another partition's pass")
		}
		gone := 0
		for key := range forged {
			if _, err := kv.Get(ctx, key); err != nil {
				gone++
			}
		}
		if gone == len(forged) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the forged keys left after 10 s of passes", len(forged)-gone)
		}
	}
	time.Sleep(300 * time.Millisecond) // a few more passes
	if !has("reseller."+r0, r0) {
		t.Fatal("partition 0's reseller key was purged by another partition's pass")
	}
}

// exportViews starts a nats-server with JetStream and runs ExportViews of each ledger to it until
// the test ends. It returns the server's JetStream and the exports' context.
func exportViews(t *testing.T, o ExportOptions, ledgers ...*handlerstest.Ledger) (jetstream.JetStream, context.Context) {
	t.Helper()
	ns := handlerstest.StartNATS(t, server.Options{JetStream: true, StoreDir: t.TempDir()})
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for _, l := range ledgers {
		running.Go(func() { _ = ExportViews(ctx, l.Ledger, js, o) })
	}
	t.Cleanup(func() { cancel(); running.Wait() })
	return js, ctx
}
