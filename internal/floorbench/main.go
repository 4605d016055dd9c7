// Command floorbench measures the ceiling that any NATS request/reply service with durable
// acknowledgements can reach on a machine, so that the ledger's own figures (make bench) can be
// read against it. The server side does nothing but what the ledger cannot avoid: it receives a
// request over NATS, optionally appends the request body to Pebble in a group commit synced with
// fsync, and replies with the body. No decoding, no authentication, no decision, no JetStream.
//
// With -jetstream it also does the one thing more the wire contract asks of every accepted
// change: after each group commit, a relay publishes each appended record, as large as a
// seat.registered event, to a JetStream stream on the embedded server, with the ledger's
// headers (a message id and the expected last sequence) and its acknowledgements awaited, as
// the ledger's outbox relay does. The reply does not wait for it, as the ledger's does not.
//
//	floorbench -serve [-fsync [-jetstream]] -listen 127.0.0.1:14333 -data DIR   # one process
//	floorbench -url nats://127.0.0.1:14333 -clients 64 -duration 10s   # the load, another process
//
// scripts/bench-floor.sh runs both, with and without fsync, with 1 and with 64 clients;
// scripts/bench-ratio.sh also with -jetstream.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

const subject = "floor.echo"

func main() {
	serve := flag.Bool("serve", false, "run the responder (with an embedded nats-server) instead of the load")
	fsync := flag.Bool("fsync", false, "with -serve: append each request to Pebble in a synced group commit before replying")
	js := flag.Bool("jetstream", false, "with -serve -fsync: also publish every committed record to a JetStream stream, as the ledger's relay does")
	listen := flag.String("listen", "127.0.0.1:14333", "with -serve: the embedded nats-server's address")
	data := flag.String("data", "", "with -serve -fsync: Pebble directory (emptied first)")
	url := flag.String("url", "nats://127.0.0.1:14333", "the load: NATS URL of the responder")
	clients := flag.Int("clients", 64, "the load: concurrent clients, each waiting for its reply")
	conns := flag.Int("connections", 4, "the load: NATS connections the clients share (as ledgerctl bench)")
	duration := flag.Duration("duration", 10*time.Second, "the load: how long to send")
	flag.Parse()
	var err error
	if *serve {
		err = runResponder(*listen, *fsync, *js, *data)
	} else {
		err = runLoad(*url, *clients, *conns, *duration)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runResponder serves until SIGINT/SIGTERM, with the ledger's shape: a worker pool behind one
// subscription, and one goroutine that commits whatever arrived while the previous fsync ran.
func runResponder(listen string, fsync, js bool, dir string) error {
	if js && !fsync {
		return fmt.Errorf("-jetstream publishes committed records: it needs -fsync")
	}
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return err
	}
	opts := &server.Options{Host: host, Port: port, NoSigs: true}
	if js {
		if err := os.RemoveAll(dir + "-jetstream"); err != nil {
			return err
		}
		opts.JetStream, opts.StoreDir = true, dir+"-jetstream"
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("nats-server not ready on %s", listen)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()

	var gc *groupCommit
	if fsync {
		if dir == "" {
			return fmt.Errorf("-fsync needs -data")
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		db, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
		if err != nil {
			return err
		}
		defer db.Close()
		gc = &groupCommit{db: db, in: make(chan pending, 8192)}
		if js {
			if gc.relay, err = newRelay(nc); err != nil {
				return err
			}
			go gc.relay.run()
		}
		go gc.run()
		defer close(gc.in)
	}
	work := make(chan *nats.Msg, 8192)
	for range 512 {
		go func() {
			for m := range work {
				if gc != nil {
					if err := gc.append(m.Data); err != nil {
						log.Fatal(err)
					}
				}
				_ = m.Respond(m.Data)
			}
		}()
	}
	if _, err := nc.Subscribe(subject, func(m *nats.Msg) { work <- m }); err != nil {
		return err
	}
	fmt.Printf("serving %s on %s (fsync=%v)\n", subject, listen, fsync)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	if gc != nil {
		c, n := gc.commits.Load(), gc.appends.Load()
		fmt.Printf("group commits=%d appends=%d per commit=%.1f\n", c, n, float64(n)/float64(max(c, 1)))
	}
	return nil
}

type pending struct {
	body []byte
	done chan error
}

type groupCommit struct {
	db               *pebble.DB
	in               chan pending
	relay            *relay // nil: no JetStream
	commits, appends atomic.Int64
}

func (g *groupCommit) append(body []byte) error {
	p := pending{body: body, done: make(chan error, 1)}
	g.in <- p
	return <-p.done
}

// run takes the first waiting append, then everything else already queued, and commits them in
// one synced batch: the queue fills while the fsync runs.
func (g *groupCommit) run() {
	var seq uint64
	key := make([]byte, 0, 20)
	group := make([]pending, 0, 256)
	for first := range g.in {
		group = append(group[:0], first)
	drain:
		for {
			select {
			case p, ok := <-g.in:
				if !ok {
					break drain
				}
				group = append(group, p)
			default:
				break drain
			}
		}
		b := g.db.NewBatch()
		for _, p := range group {
			seq++
			key = strconv.AppendUint(key[:0], seq, 10)
			_ = b.Set(key, p.body, nil)
		}
		err := b.Commit(pebble.Sync)
		_ = b.Close()
		g.commits.Add(1)
		g.appends.Add(int64(len(group)))
		for _, p := range group {
			p.done <- err
		}
		if g.relay != nil && err == nil {
			g.relay.committed <- len(group)
		}
	}
}

// runLoad is ledgerctl bench's loop against the echo subject, with a body of the size of a
// seat.register request.
func runLoad(url string, clients, conns int, duration time.Duration) error {
	if clients < 1 || conns < 1 {
		return fmt.Errorf("-clients and -connections must be at least 1")
	}
	ncs := make([]*nats.Conn, conns)
	for i := range ncs {
		nc, err := nats.Connect(url)
		if err != nil {
			return err
		}
		defer nc.Close()
		ncs[i] = nc
	}
	var (
		mu        sync.Mutex
		wg        sync.WaitGroup
		latencies []time.Duration
		failed    atomic.Int64
	)
	body := []byte(`{"licenseId":"01KAB4W0Z8Q3E7Y9T2M5N6P1RC","endUserCompany":"Bench","endUserName":"u123456"}`)
	deadline := time.Now().Add(duration)
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<14)
			for time.Now().Before(deadline) {
				t := time.Now()
				if _, err := ncs[i%conns].Request(subject, body, 5*time.Second); err != nil {
					failed.Add(1)
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		return fmt.Errorf("no reply in %s (%d failed)", elapsed, failed.Load())
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))].Round(time.Microsecond)
	}
	fmt.Printf("echo clients=%d duration=%s replies=%d failed=%d throughput=%.0f/s p50=%s p99=%s\n",
		clients, elapsed.Round(time.Millisecond), len(latencies), failed.Load(),
		float64(len(latencies))/elapsed.Seconds(), pct(0.50), pct(0.99))
	return nil
}

// quiet drops Pebble's informational log lines, which would mix with the figures.
type quiet struct{}

func (quiet) Infof(string, ...any)              {}
func (quiet) Errorf(format string, args ...any) { log.Printf(format, args...) }
func (quiet) Fatalf(format string, args ...any) { log.Fatalf(format, args...) }
