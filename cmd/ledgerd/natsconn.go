package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/handlers/natsapi"
	"github.com/licledger/licledger/internal/datadir"
	"github.com/licledger/licledger/wire"
)

// How ledgerd reaches NATS: the embedded server with its authenticator, or an external cluster
// with its auth callout; either way two connections, one serving and one writing.

// connectNATS starts the embedded server (unless --nats-url names a cluster) and connects the
// ledger to it twice: nc serves the requests (its answers may go to inboxes only), wc publishes
// the events, checkpoints and views (natsapi.LedgerWriterNATSUser). The embedded server admits
// partners' connections with the ledger's credentials. The returned function drains both
// connections and stops the server.
//
// With tc (--tls-cert), the embedded server requires TLS of every client (and a client
// certificate with --tls-client-ca); ledgerd's own in-process connections need none.
func connectNATS(cfg config, log *slog.Logger, ledger *handlers.Ledger, tc *tls.Config) (nc, wc *nats.Conn, shutdown func(), err error) {
	opts := []nats.Option{nats.Name("ledgerd"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if cfg.NATSURL != "" {
		if cfg.NATSCA != "" {
			opts = append(opts, nats.RootCAs(cfg.NATSCA))
		}
		return connectCluster(cfg, log, ledger, opts)
	}
	auth := natsapi.NewNATSAuth(ledger, log)
	host, portText, err := net.SplitHostPort(cfg.NATSListen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("nats-listen: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("nats-listen: %w", err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "ledgerd",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.Data, "nats"),
		NoSigs:     true,
		NoLog:      true,

		TLSConfig:  tc,
		TLS:        tc != nil,
		TLSVerify:  tc != nil && tc.ClientCAs != nil,
		TLSTimeout: 2,

		CustomClientAuthentication: auth,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("embedded NATS: %w", err)
	}
	auth.Attach(ns)
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, nil, nil, errors.New("embedded NATS did not start within 10s")
	}
	opts = append(opts, nats.InProcessServer(ns))
	// In process, with no TLS: ClientURL says tls:// when the server requires it of the others.
	inProcess := strings.Replace(ns.ClientURL(), "tls://", "nats://", 1)
	nc, err = nats.Connect(inProcess, append(slices.Clone(opts), auth.LedgerOptions()...)...)
	if err != nil {
		ns.Shutdown()
		return nil, nil, nil, err
	}
	wc, err = nats.Connect(inProcess, append(opts, auth.WriterOptions()...)...)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, nil, nil, err
	}
	log.Info("embedded NATS with JetStream", "url", ns.ClientURL(), "store", filepath.Join(cfg.Data, "nats"))
	return nc, wc, func() {
		_ = nc.Drain()
		_ = wc.Drain()
		for nc.IsDraining() || wc.IsDraining() {
			time.Sleep(10 * time.Millisecond)
		}
		ns.Shutdown()
		ns.WaitForShutdown()
	}, nil
}

// writerUser is the cluster user of ledgerd's writer connection: --nats-user with "-writer"
// (deploy/nats-server.conf has both, with the same password).
func writerUser(cfg config) string { return cfg.NATSUser + "-writer" }

// connectCluster connects the ledger to an external cluster as cfg.NATSUser (serving) and its
// writer user, and answers the cluster's auth callout if the data dir holds the callout issuer's
// seed (see deploy/nats-server.conf). A cluster that knows no writer user gets one connection
// for both, as before the split, with a warning.
func connectCluster(cfg config, log *slog.Logger, ledger *handlers.Ledger, opts []nats.Option) (nc, wc *nats.Conn, shutdown func(), err error) {
	serving := append(slices.Clone(opts), nats.CustomInboxPrefix(wire.LedgerInboxPrefix))
	writing := append(opts, nats.CustomInboxPrefix(wire.LedgerWriterInboxPrefix))
	if cfg.NATSPassword != "" {
		serving = append(serving, nats.UserInfo(cfg.NATSUser, cfg.NATSPassword))
		writing = append(writing, nats.UserInfo(writerUser(cfg), cfg.NATSPassword))
	}
	nc, err = nats.Connect(cfg.NATSURL, serving...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("connect %s: %w", cfg.NATSURL, err)
	}
	wc, err = nats.Connect(cfg.NATSURL, writing...)
	if errors.Is(err, nats.ErrAuthorization) {
		log.Warn("the cluster has no writer user: one connection serves and publishes (add it as deploy/nats-server.conf does)",
			"user", writerUser(cfg))
		wc, err = nc, nil
	}
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("connect %s as %s: %w", cfg.NATSURL, writerUser(cfg), err)
	}
	drain := func() {
		_ = nc.Drain()
		_ = wc.Drain()
	}
	issuer, err := natsapi.LoadCalloutIssuer(cfg.Data, false)
	if errors.Is(err, os.ErrNotExist) {
		log.Warn("no auth callout issuer in the data dir: the cluster's own configuration decides who may connect",
			"want", filepath.Join(cfg.Data, datadir.CalloutIssuerFile))
		return nc, wc, drain, nil
	}
	if err != nil {
		nc.Close()
		wc.Close()
		return nil, nil, nil, err
	}
	callout := natsapi.NewNATSCallout(ledger, issuer, log)
	callout.Session = cfg.NATSSession
	if _, err := callout.Serve(nc); err != nil {
		nc.Close()
		wc.Close()
		return nil, nil, nil, err
	}
	pub, _ := issuer.PublicKey()
	log.Info("answering the cluster's auth callout", "issuer", pub, "session", cfg.NATSSession)
	return nc, wc, drain, nil
}
