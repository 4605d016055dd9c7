package natsapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/handlerstest"
)

// TestViewsExportRestoresItsBucket: a key of the views bucket that someone else overwrote is the
// ledger's again after the next full pass, and one the ledger never wrote is purged.
func TestViewsExportRestoresItsBucket(t *testing.T) {
	l := handlerstest.Start(t, handlers.Options{})
	if _, f := l.Command(context.Background(), handlers.Request{Name: "reseller.create", Token: l.Token, Body: []byte(`{"id":"vr","name":"R"}`)}); f != nil {
		t.Fatal(f.Err)
	}
	ns := handlerstest.StartNATS(t, server.Options{JetStream: true, StoreDir: t.TempDir()})
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ExportViews(ctx, l.Ledger, js, ExportOptions{Interval: 20 * time.Millisecond, Refresh: 100 * time.Millisecond})
	}()
	t.Cleanup(func() { cancel(); <-done })

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
