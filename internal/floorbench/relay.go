package main

import (
	"context"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// relay is -jetstream's publisher: the ledger's outbox relay without the ledger. Told how many
// records each group commit made durable, it publishes that many messages, each as large as a
// seat.registered event, in order, asynchronously, then waits for their acknowledgements.
type relay struct {
	js        jetstream.JetStream
	committed chan int
	event     []byte
}

func newRelay(nc *nats.Conn) (*relay, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The ledger's stream: file storage, a duplicate window, one subject per aggregate.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{"floor.evt.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		return nil, err
	}
	// A seat.registered envelope is about 460 bytes of JSON.
	event := []byte(`{"specversion":"1.0","id":"01KAB4W0Z8Q3E7Y9T2M5N6P1RC","source":"licledger","type":"seat.registered.v1","subject":"lic","time":"2026-12-05T06:00:00.000000Z","datacontenttype":"application/json","data":` +
		`{"licenseId":"01KAB4W0Z8Q3E7Y9T2M5N6P1RC","endUserCompany":"Bench","endUserName":"u123456"}` + strings.Repeat(" ", 160) + `}`)
	return &relay{js: js, committed: make(chan int, 8192), event: event}, nil
}

func (r *relay) run() {
	var seq uint64
	futures := make([]jetstream.PubAckFuture, 0, 1024)
	for n := range r.committed {
		// Whatever else was committed meanwhile goes in the same round, as in the ledger.
	more:
		for {
			select {
			case k := <-r.committed:
				n += k
			default:
				break more
			}
		}
		futures = futures[:0]
		for range n {
			seq++
			f, err := r.js.PublishMsgAsync(&nats.Msg{Subject: "floor.evt.lic.seat-registered", Data: r.event, Header: nats.Header{
				jetstream.MsgIDHeader:           []string{"floor-" + strconv.FormatUint(seq, 10)},
				jetstream.ExpectedLastSeqHeader: []string{strconv.FormatUint(seq-1, 10)},
			}})
			if err != nil {
				log.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				log.Fatal(fmt.Errorf("floor relay: %w", err))
			case <-time.After(5 * time.Second):
				log.Fatal("floor relay: no acknowledgement within 5 s")
			}
		}
	}
}
