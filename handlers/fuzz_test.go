package handlers

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licledger/licledger/wire"
)

// adminTokenSeed in a seed's Authorization header stands for the bootstrap admin's token, which
// each run draws anew.
const adminTokenSeed = "ADMIN"

// FuzzLedgerRequest sends whole requests to a real ledger (Pebble log in a temp dir), the way the
// NATS edge hands them over: any endpoint name, Authorization header, Nats-Msg-Id, traceparent
// and body. Whatever arrives, the ledger must not panic, must answer a refusal with a coded 4xx (or
// 503, "retry") and never 500, and a refused command must append nothing. The seed corpus
// (testdata/fuzz/FuzzLedgerRequest) holds every endpoint's example and hostile variants.
func FuzzLedgerRequest(f *testing.F) {
	l := newTestLedger(f)
	for _, kind := range []string{"commands", "queries"} {
		files, _ := filepath.Glob(filepath.Join("..", "schemas", "testdata", kind, "*.json"))
		for _, file := range files {
			body, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(strings.TrimSuffix(filepath.Base(file), ".json"), "Bearer "+adminTokenSeed, "", "", body)
		}
	}
	commands := map[string]bool{}
	for _, n := range CommandNames() {
		commands[n] = true
	}
	f.Fuzz(func(t *testing.T, name, authorization, commandID, traceparent string, body []byte) {
		token := wire.BearerToken(authorization)
		if token == adminTokenSeed {
			token = l.token
		}
		r := Request{Name: name, Body: body, Token: token, CommandID: commandID, TraceParent: traceparent, Source: "fuzz"}
		before := l.store.Durable()
		var reply []byte
		var fail *Failure
		if commands[name] {
			reply, fail = l.Command(context.Background(), r)
		} else {
			reply, fail = l.Query(context.Background(), r)
		}
		if fail == nil {
			if !json.Valid(reply) {
				t.Fatalf("%s: reply is not JSON: %q", name, reply)
			}
			return
		}
		if fail.Err == nil || fail.Err.Code == "" || !(fail.Status >= 400 && fail.Status < 500 || fail.Status == 503) {
			t.Fatalf("%s %q: refused with %d %+v; want a coded 4xx", name, body, fail.Status, fail.Err)
		}
		if after := l.store.Durable(); commands[name] && after != before {
			t.Fatalf("%s %q refused (%s) but the log moved from %d to %d", name, body, fail.Err.Code, before, after)
		}
	})
}

// FuzzDuplicateKey: on any valid JSON, the allocation-free scan and the token walk find the same
// duplicate key (or none).
func FuzzDuplicateKey(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"a":2},"A":3}`))
	f.Add([]byte(`{"a":"x\"y","b":"\":"}`))
	f.Add([]byte(`[{"k":1,"k":2}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		k1, d1 := duplicateKey(body)
		k2, d2 := duplicateKeyByTokens(body)
		if d1 != d2 || (d1 && !strings.EqualFold(k1, k2)) {
			t.Fatalf("%s: scan %q %v, tokens %q %v", body, k1, d1, k2, d2)
		}
	})
}
