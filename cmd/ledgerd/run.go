package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/eventstore/natsstream"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/httpapi"
	"github.com/licledger/licledger/handlers/metrics"
	"github.com/licledger/licledger/handlers/natsapi"
	"github.com/licledger/licledger/handlers/webhooks"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/wire"
)

// run starts the ledger and serves until ctx ends, then shuts down in order: stop taking
// requests, answer those in flight (their batch commits), stop the relay and projector, close
// the log, drain NATS.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(cfg.Args) > 0 { // a mistyped subcommand must not start a ledger
		return fmt.Errorf("unexpected argument %q (ledgerd --help lists the commands)", cfg.Args[0])
	}
	log, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	if err := checkPartitionKeys(cfg); err != nil {
		return err
	}
	tlsConf, certs, err := serverTLS(cfg, log)
	if err != nil {
		return err
	}
	if certs != nil {
		watching, stopWatching := context.WithCancel(context.Background())
		var watcher sync.WaitGroup
		watcher.Add(1)
		go func() { defer watcher.Done(); certs.watch(watching, 2*time.Second) }()
		defer func() { stopWatching(); watcher.Wait() }()
	}
	secrets, err := loadSecrets(cfg.Data)
	if err != nil {
		return err
	}
	signingKey, verifierKey, err := datadir.LoadCheckpointKey(cfg.Data)
	if err != nil {
		return err
	}
	stored, err := datadir.LoadLicenseKeys(cfg.Data)
	if err != nil {
		return err
	}
	licenseKeys := make([]handlers.LicenseKey, len(stored))
	for i, k := range stored {
		licenseKeys[i] = handlers.LicenseKey{Private: k.Private, Retired: k.Retired}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var series *metrics.Series
	store, err := eventstore.Open(filepath.Join(cfg.Data, "log"), eventstore.Options{
		Logger: log,
		Fatal: func(err error) {
			// Never carry on after a failed fsync: restart recovers from what is on disk.
			log.Error("log commit failed; stopping", "err", err)
			os.Exit(2)
		},
		OnCommit: func(c, e int, d time.Duration) {
			if series != nil {
				series.ObserveCommit(c, e, d)
			}
		},
	})
	if err != nil {
		return err
	}
	defer store.Close()
	// Refuse to serve a log that does not verify against its last signed checkpoint.
	signed, err := store.CheckTree(verifierKey)
	if err != nil {
		return fmt.Errorf("the log does not verify against its last checkpoint (%d events; ledgerctl audit verify --data checks it in full): %w", signed, err)
	}
	log.Info("log verified against its last checkpoint", "checkpoint", signed, "tail", store.Durable()-signed, "key", verifierKey)
	// The outbox relay copies the log to the event stream; its publisher (on the writer's NATS
	// connection) is given once that connection exists, before the relay runs.
	relay := &eventstore.Relay{Store: store, Logger: log}
	var asker natsapi.Asker // a partition asks the others on the serving connection, once made
	opts := handlers.Options{Store: store, Secrets: secrets, Log: log, Partition: cfg.Partition,
		AskPartition: asker.Ask, CheckpointKey: verifierKey, Published: relay.Published, LicenseKeys: licenseKeys,
		PasswordRule: cfg.PasswordRule, NoPasswordRule: cfg.PasswordRule == nil, FailedAuthLimit: cfg.FailedAuthLimit, ProjectionFlush: cfg.ProjectionFlush,
		AdminSessionTTL: cfg.AdminSessionTTL, Advertised: advertised(cfg)}
	if cfg.FailedAuthLimit == 0 {
		opts.FailedAuthLimit = -1 // --failed-auth-limit 0: no limit
	}
	if cfg.AckReplicated {
		opts.AckReplicated = relay.WaitPublished
	}
	ledger, err := handlers.NewLedger(opts)
	if err != nil {
		return err
	}
	log.Info("log open", "dir", filepath.Join(cfg.Data, "log"), "durable", store.Durable())

	nc, wc, shutdownNATS, err := connectNATS(cfg, log, ledger, tlsConf)
	if err != nil {
		return err
	}
	defer shutdownNATS()

	if cfg.Partition.Index > 0 {
		// The system credentials come from partition 0 (copySystemData), so a new partition has
		// no administrator of its own to bootstrap.
		log.Info("serving "+cfg.Partition.String(), "stream", cfg.Partition.StreamName())
	} else if path, err := ledger.Bootstrap(ctx, cfg.Data); err != nil {
		return err
	} else if path != "" {
		log.Warn("first start: issued a system-admin credential; its token is in the file", "path", path)
	}

	workers, stopWorkers := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stopWorkers(); wg.Wait() }()
	// A worker that stops on its own (a log it cannot read) leaves the ledger answering from
	// stale state: stop serving instead, and let a restart rebuild from the log.
	fatal := make(chan error, 3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := ledger.Run(workers); err != nil && !errors.Is(err, context.Canceled) {
			fatal <- fmt.Errorf("projections stopped: %w", err)
		}
	}()

	wg.Add(1)
	go func() {
		// Last-login times live in memory; write the changed ones at most once a minute.
		defer wg.Done()
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			select {
			case <-workers.Done():
				return
			case <-tick.C:
				if err := ledger.PersistLastLogins(); err != nil {
					log.Warn("last logins not saved", "err", err)
				}
			}
		}
	}()

	// Events, checkpoints and views go out on the writer's connection; the serving one may only
	// answer into inboxes.
	js, err := jetstream.New(wc, jetstream.WithPublishAsyncMaxPending(8192))
	if err != nil {
		return err
	}
	// The read models, exported to the ledger-views bucket for dashboards (debounced: a scope is
	// written at most once a second). The export makes the bucket, and makes it again whenever it
	// is missing, so a cluster without a JetStream leader at this moment does not stop the start.
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = natsapi.ExportViews(workers, ledger, js, natsapi.ExportOptions{ // logs its own failures
			Replicas: cfg.Replicas, Interval: time.Second, Refresh: 5 * time.Minute, Log: log})
	}()

	if cfg.Partition.Index > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); copySystemData(workers, js, ledger, cfg.Partition, log) }()
	}

	// The checkpoints' stream, with this start's replicas (a later --replicas scales it). If NATS
	// cannot make it now, the first checkpoint published makes it.
	if _, err := js.CreateOrUpdateStream(ctx, natsstream.CheckpointConfig(cfg.Partition, cfg.Replicas)); err != nil {
		log.Warn("checkpoint stream not made yet", "stream", cfg.Partition.CheckpointStream(), "err", err)
	}
	// Each signed checkpoint is kept in the stream LEDGER_CHECKPOINTS, for a restore that has lost
	// the data dir's, by a goroutine of its own that retries until the stream takes it.
	checkpoints := make(chan eventstore.Checkpoint, 1) // the newest signed, not yet taken
	tree := &eventstore.TreeWriter{Store: store, SigningKey: signingKey, Logger: log,
		Every: cfg.CheckpointEvery, Interval: cfg.CheckpointInterval, OnCheckpoint: func(c eventstore.Checkpoint) {
			select {
			case <-checkpoints: // a newer checkpoint covers the one still waiting
			default:
			}
			checkpoints <- c // the tree writer is the only sender: there is room now
		}}
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(checkpoints) // after the last checkpoint, signed as the tree writer stops
		if err := tree.Run(workers); err != nil && !errors.Is(err, context.Canceled) {
			fatal <- fmt.Errorf("audit tree stopped: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		publishCheckpoints(workers, js, cfg.Partition, cfg.Replicas, checkpoints, log)
	}()

	relay.Publisher = &natsstream.Publisher{JS: js, Partition: cfg.Partition, Replicas: cfg.Replicas}
	// Webhooks read the stream the relay fills, each through a consumer of its own.
	deliverer := webhooks.New(webhooks.Options{Ledger: ledger, JS: js, Partition: cfg.Partition, Log: log,
		AllowPrivate: cfg.WebhookAllowPrivate, Timeout: cfg.WebhookTimeout, MaxFailures: cfg.WebhookMaxFailures, Backoff: cfg.WebhookBackoff})
	wg.Add(1)
	go func() { defer wg.Done(); deliverer.Run(workers) }()
	wg.Add(1)
	go func() { defer wg.Done(); ledger.CullDeadMachines(workers, time.Second) }() // floating licenses
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := relay.Run(workers); err != nil && !errors.Is(err, context.Canceled) {
			fatal <- fmt.Errorf("outbox relay stopped: %w", err)
		}
	}()

	series = metrics.New(reg, store.Durable, relay.Published, ledger.Projected, relay.Foreign)
	metrics.RegisterUsage(reg, ledger)
	startMark := store.Durable()
	ready := func() (bool, string) {
		switch {
		case !nc.IsConnected() || !wc.IsConnected():
			return false, "NATS is not connected"
		case relay.Foreign() != 0:
			return false, fmt.Sprintf("publication stopped: the event stream holds a message the ledger did not publish at sequence %d", relay.Foreign())
		case relay.Published() < startMark:
			return false, fmt.Sprintf("publishing the log to JetStream: %d of %d", relay.Published(), startMark)
		}
		return true, ""
	}

	asker.Connect(nc)
	svc, err := natsapi.Serve(ctx, nc, ledger, natsapi.ServiceOptions{MaxPayload: cfg.MaxPayload, Metrics: series, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		svc.Stop()
		return err
	}
	ln = limitConnections(ln, cfg.HTTPMaxConns)
	scheme := "http"
	if tlsConf != nil {
		ln, scheme = tls.NewListener(ln, tlsConf), "https" // HTTPS only: no plaintext listener beside it
	}
	// The operator's endpoints: on their own listener, or on this one to an operator's token.
	operator := httpapi.OperatorHandler(reg, cfg.Pprof)
	var operatorSrv *http.Server
	if cfg.MetricsListen != "" {
		oln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			svc.Stop()
			ln.Close()
			return fmt.Errorf("metrics-listen: %w", err)
		}
		operatorSrv = newHTTPServer(cfg, operator)
		go func() {
			if err := operatorSrv.Serve(limitConnections(oln, 64)); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
		log.Info("operator endpoints", "metrics", "http://"+oln.Addr().String()+"/metrics", "pprof", cfg.Pprof)
		operator = nil
	} else {
		operator = httpapi.OperatorOnly(ledger, operator, cfg.TrustedProxies)
	}
	httpSrv := newHTTPServer(cfg, httpapi.HTTPHandler(ready, httpapi.API(ledger, cfg.MaxPayload, cfg.TrustedProxies), operator))
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("ledgerd serving", "nats", nc.ConnectedUrl(), scheme, ln.Addr().String())

	var failure error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case failure = <-fatal:
		log.Error("stopping", "err", failure)
	}
	if err := svc.Stop(); err != nil {
		log.Warn("stopping service", "err", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(shutdownCtx)
	if operatorSrv != nil {
		_ = operatorSrv.Shutdown(shutdownCtx)
	}
	stopWorkers()
	wg.Wait()
	if err := ledger.PersistLastLogins(); err != nil {
		log.Warn("last logins not saved", "err", err)
	}
	if err := store.Close(); err != nil {
		return err
	}
	log.Info("stopped", "durable", store.Durable())
	return failure
}

// publishCheckpoints stores each checkpoint from in in the stream LEDGER_CHECKPOINTS. One that
// fails (a NATS node restarting, the stream electing a leader) is tried again every second until
// the stream takes it or a newer one replaces it: otherwise it would stay missing until the log
// grows and the next one is signed. Once ctx ends each is tried once; it returns when in is
// closed.
func publishCheckpoints(ctx context.Context, js jetstream.JetStream, p wire.Partition, replicas int, in <-chan eventstore.Checkpoint, log *slog.Logger) {
	for c := range in {
		for {
			err := natsstream.PublishCheckpoint(context.Background(), js, p, replicas, c.Signed)
			if err == nil {
				break
			}
			log.Warn("checkpoint not published", "size", c.Size, "err", err)
			if ctx.Err() != nil {
				break
			}
			select {
			case newer, ok := <-in:
				if !ok {
					return
				}
				c = newer
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
		}
	}
}

// advertised are the addresses credential.get shows partners: the cluster's URL, or the embedded
// server's and the HTTP listener's, over TLS when it is configured.
func advertised(cfg config) handlers.Advertised {
	natsScheme, httpScheme := "nats://", "http://"
	if cfg.TLSCert != "" {
		natsScheme, httpScheme = "tls://", "https://"
	}
	a := handlers.Advertised{NATS: cfg.NATSURL, HTTP: httpScheme + cfg.HTTPListen}
	if a.NATS == "" {
		a.NATS = natsScheme + cfg.NATSListen
	}
	return a
}
