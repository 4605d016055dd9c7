package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/wire"
)

// config is ledgerd's configuration: every flag has a LICLEDGER_* environment fallback.
type config struct {
	Data       string // --data, LICLEDGER_DATA: Pebble log, JetStream store, keys. Default ./data
	NATSListen string // --nats-listen, LICLEDGER_NATS_LISTEN: embedded NATS. Default 127.0.0.1:4222
	HTTPListen string // --http-listen, LICLEDGER_HTTP_LISTEN: health, metrics. Default 127.0.0.1:8080
	// HTTPReadTimeout is --http-read-timeout, LICLEDGER_HTTP_READ_TIMEOUT: the whole request,
	// body included, must arrive within it, or the connection is closed. Default 10s.
	HTTPReadTimeout time.Duration
	// HTTPMaxConns is --http-max-conns, LICLEDGER_HTTP_MAX_CONNS: open HTTP connections at most;
	// more wait until one closes. Default 1024.
	HTTPMaxConns int
	// TrustedProxies is --trusted-proxies, LICLEDGER_TRUSTED_PROXIES: comma-separated addresses
	// or CIDR prefixes of the proxies in front of the HTTP listener, whose X-Forwarded-For names
	// the client whose failed logins are counted. Default none.
	TrustedProxies []netip.Prefix
	// MetricsListen is --metrics-listen, LICLEDGER_METRICS_LISTEN: the operator's listener for
	// /metrics (and /debug/pprof/ with --pprof), plain HTTP, to keep on a private network. Empty
	// (the default): they are served on the main listener, to a system-scope admin's or auditor's
	// bearer token only.
	MetricsListen string
	// Pprof is --pprof, LICLEDGER_PPROF: serve /debug/pprof/ beside /metrics. Default false.
	Pprof bool
	// TLSCert and TLSKey are --tls-cert and --tls-key (LICLEDGER_TLS_CERT, LICLEDGER_TLS_KEY):
	// PEM files of the certificate and key both listeners serve. With them the embedded NATS
	// server requires TLS and HTTP serves HTTPS only. Reloaded on SIGHUP or when they change.
	TLSCert, TLSKey string
	// TLSClientCA is --tls-client-ca, LICLEDGER_TLS_CLIENT_CA: a PEM file of the CAs whose
	// client certificates both listeners require (mutual TLS). Default none.
	TLSClientCA string
	// NATSCA is --nats-ca, LICLEDGER_NATS_CA: a PEM file of the CAs that sign an external
	// cluster's certificates (--nats-url tls://…). Default: the system's.
	NATSCA     string
	NATSURL    string // --nats-url, LICLEDGER_NATS_URL: use this cluster instead of the embedded server
	LogLevel   string // --log-level, LICLEDGER_LOG_LEVEL: debug, info, warn, error. Default info
	MaxPayload int    // --max-payload, LICLEDGER_MAX_PAYLOAD: largest request body in bytes. Default 65536
	// PasswordRule is --password-rule, LICLEDGER_PASSWORD_RULE: the local rule for admin
	// passwords; "true" (the default) is APIO's, 8+ characters with an upper and a lower case
	// letter, "false" none (nil), or its parts: "min=12,upper,lower,digit,symbol".
	PasswordRule *handlers.PasswordRule
	// FailedAuthLimit is --failed-auth-limit, LICLEDGER_FAILED_AUTH_LIMIT: failed
	// authentications a source or a token may have per minute before it is answered 429 for
	// the rest of the minute; 0 turns the limit off. Default 20.
	FailedAuthLimit int
	// WebhookAllowPrivate is --webhook-allow-private, LICLEDGER_WEBHOOK_ALLOW_PRIVATE: let
	// webhooks reach loopback and private addresses (default false). WebhookTimeout and
	// WebhookMaxFailures are --webhook-timeout (10s) and --webhook-max-failures (10).
	WebhookAllowPrivate bool
	WebhookTimeout      time.Duration
	WebhookMaxFailures  int
	WebhookBackoff      time.Duration // --webhook-backoff: the first retry's wait, doubling (1s)
	// AdminSessionTTL is --admin-session-ttl, LICLEDGER_ADMIN_SESSION_TTL: how long a session
	// admin.login opens lasts (default 1h).
	AdminSessionTTL time.Duration
	// NATSUser and NATSPassword are ledgerd's login to an external cluster: --nats-user,
	// LICLEDGER_NATS_USER (default "ledgerd") and LICLEDGER_NATS_PASSWORD (no flag, so that it
	// never shows in a process list). Unused with the embedded server.
	NATSUser, NATSPassword string
	// NATSSession is --nats-session, LICLEDGER_NATS_SESSION: how long a partner admitted by an
	// external cluster's auth callout stays connected before it must authenticate again (the
	// ledger cannot close connections there). Default 10m.
	NATSSession time.Duration
	// ProjectionFlush is --projection-flush, LICLEDGER_PROJECTION_FLUSH: how often the read
	// models write their changed records and checkpoint to the data dir (also every 1,000,000
	// events). A restart replays at most this much of the log. Default 1s.
	ProjectionFlush time.Duration
	// CheckpointEvery and CheckpointInterval are --checkpoint-every, LICLEDGER_CHECKPOINT_EVERY
	// (default 10000) and --checkpoint-interval, LICLEDGER_CHECKPOINT_INTERVAL (default 10s): a
	// signed checkpoint of the audit tree is made once either has passed since the last one.
	CheckpointEvery    uint64
	CheckpointInterval time.Duration
	// AckReplicated is --ack-replicated, LICLEDGER_ACK_REPLICATED: answer a command only once
	// JetStream holds its events (on a cluster with --replicas 3: on a quorum of nodes), not
	// only once they are fsynced here. Then a lost data dir restored from the stream has every
	// acknowledged command. Default false.
	AckReplicated bool
	// Replicas is --replicas, LICLEDGER_REPLICAS: how many copies JetStream keeps of the
	// ledger's streams and bucket. 1 (the default) for the embedded server or a single external
	// one; 3 on a three-node cluster (deploy/nats-cluster.conf).
	Replicas int
	// Partition is --partition k and --partitions n (LICLEDGER_PARTITION, LICLEDGER_PARTITIONS):
	// this ledgerd is partition k of a ledger split by reseller into n (docs/SCALING.md). It
	// serves the commands and queries NATS maps to ledger.v1.p.<k>, and publishes to its own
	// streams; partition 0 also decides the system-wide data every partition copies. Default:
	// partition 0 of 1, the unpartitioned ledger.
	Partition wire.Partition
	// Args are the arguments after the flags (the projection names of `ledgerd rebuild`).
	Args []string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	return parseConfigWith(args, getenv, stderr, nil)
}

// parseConfigWith is parseConfig for a subcommand with flags of its own, which extra adds.
func parseConfigWith(args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (config, error) {
	fs := flag.NewFlagSet("ledgerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage:
  ledgerd [flags]                          run the ledger
  ledgerd rebuild [flags] [read model ...] rebuild stored read models from sequence 0 (ledgerd stopped)
  ledgerd check [flags]                    compare the stored read models with a rebuild (ledgerd stopped)
  ledgerd nats-callout-key [flags]         create and print the auth callout issuer's key
  ledgerd restore --from-stream --nats-url URL --keys DIR [--key VKEY] [flags]
                                           rebuild a lost log from the stream LEDGER_EVENTS
                                           (a partition's, LEDGER_EVENTS_<k>, with --partition k --partitions n)
Flags:
`)
		fs.PrintDefaults()
	}
	env := func(name, def string) string {
		if v := getenv("LICLEDGER_" + name); v != "" {
			return v
		}
		return def
	}
	var c config
	fs.StringVar(&c.Data, "data", env("DATA", "./data"), "data directory (env LICLEDGER_DATA)")
	fs.StringVar(&c.NATSListen, "nats-listen", env("NATS_LISTEN", "127.0.0.1:4222"), "embedded NATS listen address (env LICLEDGER_NATS_LISTEN)")
	fs.StringVar(&c.HTTPListen, "http-listen", env("HTTP_LISTEN", "127.0.0.1:8080"), "HTTP listen address for the commands and queries under /v1/, /dashboard, /healthz, /readyz, /metrics (env LICLEDGER_HTTP_LISTEN)")
	httpRead := env("HTTP_READ_TIMEOUT", "10s")
	fs.Func("http-read-timeout", "the whole HTTP request, body included, must arrive within this (env LICLEDGER_HTTP_READ_TIMEOUT, default 10s)", func(s string) error { httpRead = s; return nil })
	httpConns := env("HTTP_MAX_CONNS", "1024")
	fs.Func("http-max-conns", "open HTTP connections at most; more wait (env LICLEDGER_HTTP_MAX_CONNS, default 1024)", func(s string) error { httpConns = s; return nil })
	fs.StringVar(&c.TLSCert, "tls-cert", env("TLS_CERT", ""), "PEM certificate for the embedded NATS server and HTTPS; with --tls-key, no plaintext listener remains (env LICLEDGER_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("TLS_KEY", ""), "PEM private key of --tls-cert (env LICLEDGER_TLS_KEY)")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", env("TLS_CLIENT_CA", ""), "PEM CA file: require client certificates it signed, on NATS and HTTP (mutual TLS) (env LICLEDGER_TLS_CLIENT_CA)")
	fs.StringVar(&c.NATSCA, "nats-ca", env("NATS_CA", ""), "PEM CA file to verify an external cluster's TLS certificate (env LICLEDGER_NATS_CA)")
	fs.StringVar(&c.MetricsListen, "metrics-listen", env("METRICS_LISTEN", ""), "operator listener for /metrics (and /debug/pprof/ with --pprof); empty serves them on --http-listen to an operator's token only (env LICLEDGER_METRICS_LISTEN)")
	pprofOn := env("PPROF", "false")
	fs.Func("pprof", "serve /debug/pprof/ beside /metrics: true or false (env LICLEDGER_PPROF, default false)", func(s string) error { pprofOn = s; return nil })
	proxies := env("TRUSTED_PROXIES", "")
	fs.Func("trusted-proxies", "comma-separated addresses or CIDR prefixes of the proxies in front of the HTTP listener, whose X-Forwarded-For names the client (env LICLEDGER_TRUSTED_PROXIES, default none)", func(s string) error { proxies = s; return nil })
	fs.StringVar(&c.NATSURL, "nats-url", env("NATS_URL", ""), "external NATS cluster URL; empty runs the embedded server (env LICLEDGER_NATS_URL)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env LICLEDGER_LOG_LEVEL)")
	passwordRule := env("PASSWORD_RULE", "true")
	fs.Func("password-rule", "the local rule for admin passwords: true (APIO's: min=8,upper,lower), false (none), or parts min=N,upper,lower,digit,symbol (env LICLEDGER_PASSWORD_RULE, default true)", func(s string) error { passwordRule = s; return nil })
	maxPayload := env("MAX_PAYLOAD", "65536")
	fs.Func("max-payload", "largest request body in bytes (env LICLEDGER_MAX_PAYLOAD, default 65536)", func(s string) error { maxPayload = s; return nil })
	fs.StringVar(&c.NATSUser, "nats-user", env("NATS_USER", "ledgerd"), "ledgerd's user on an external cluster; its password is LICLEDGER_NATS_PASSWORD (env LICLEDGER_NATS_USER)")
	c.NATSPassword = getenv("LICLEDGER_NATS_PASSWORD")
	session := env("NATS_SESSION", "10m")
	fs.Func("nats-session", "how long a partner admitted by an external cluster's auth callout stays connected before it authenticates again (env LICLEDGER_NATS_SESSION, default 10m)", func(s string) error { session = s; return nil })
	failedAuth := env("FAILED_AUTH_LIMIT", "20")
	fs.Func("failed-auth-limit", "failed authentications per minute a source or token may have before it gets 429; 0 is off (env LICLEDGER_FAILED_AUTH_LIMIT, default 20)", func(s string) error { failedAuth = s; return nil })
	hookPrivate, hookTimeout, hookFailures := env("WEBHOOK_ALLOW_PRIVATE", "false"), env("WEBHOOK_TIMEOUT", "10s"), env("WEBHOOK_MAX_FAILURES", "10")
	fs.Func("webhook-allow-private", "let webhooks reach loopback and private addresses: true or false (env LICLEDGER_WEBHOOK_ALLOW_PRIVATE, default false)", func(s string) error { hookPrivate = s; return nil })
	fs.Func("webhook-timeout", "how long one webhook delivery may take (env LICLEDGER_WEBHOOK_TIMEOUT, default 10s)", func(s string) error { hookTimeout = s; return nil })
	hookBackoff := env("WEBHOOK_BACKOFF", "1s")
	fs.Func("webhook-backoff", "the wait before a failed webhook delivery's first retry, doubling up to 5m (env LICLEDGER_WEBHOOK_BACKOFF, default 1s)", func(s string) error { hookBackoff = s; return nil })
	fs.Func("webhook-max-failures", "failed deliveries in a row before a webhook is paused (env LICLEDGER_WEBHOOK_MAX_FAILURES, default 10)", func(s string) error { hookFailures = s; return nil })
	sessionTTL := env("ADMIN_SESSION_TTL", "1h")
	fs.Func("admin-session-ttl", "how long the token of an admin.login session lasts, 1m to 24h (env LICLEDGER_ADMIN_SESSION_TTL, default 1h)", func(s string) error { sessionTTL = s; return nil })
	flush := env("PROJECTION_FLUSH", "1s")
	fs.Func("projection-flush", "how often the read models store their changes and checkpoint (env LICLEDGER_PROJECTION_FLUSH, default 1s)", func(s string) error { flush = s; return nil })
	every := env("CHECKPOINT_EVERY", "10000")
	fs.Func("checkpoint-every", "sign a checkpoint of the audit tree after this many events (env LICLEDGER_CHECKPOINT_EVERY, default 10000)", func(s string) error { every = s; return nil })
	interval := env("CHECKPOINT_INTERVAL", "10s")
	fs.Func("checkpoint-interval", "… or after this long, if the log grew (env LICLEDGER_CHECKPOINT_INTERVAL, default 10s)", func(s string) error { interval = s; return nil })
	ackReplicated := env("ACK_REPLICATED", "false")
	fs.Func("ack-replicated", "answer a command only once the stream holds its events, so a data dir restored from the stream has every acknowledged command: true or false (env LICLEDGER_ACK_REPLICATED, default false)", func(s string) error { ackReplicated = s; return nil })
	replicas := env("REPLICAS", "1")
	fs.Func("replicas", "copies JetStream keeps of LEDGER_EVENTS, LEDGER_CHECKPOINTS and ledger-views: 1, or 3 on a three-node cluster (env LICLEDGER_REPLICAS, default 1)", func(s string) error { replicas = s; return nil })
	partition, partitions := env("PARTITION", "0"), env("PARTITIONS", "1")
	fs.Func("partition", "which partition of the ledger this ledgerd is, 0 to --partitions - 1 (env LICLEDGER_PARTITION, default 0)", func(s string) error { partition = s; return nil })
	fs.Func("partitions", "how many partitions the ledger is split into by reseller; more than 1 needs --nats-url and the cluster's subject mapping (docs/SCALING.md) (env LICLEDGER_PARTITIONS, default 1)", func(s string) error { partitions = s; return nil })
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if _, err := fmt.Sscan(every, &c.CheckpointEvery); err != nil || c.CheckpointEvery == 0 {
		return config{}, fmt.Errorf("checkpoint-every: %q is not a positive count of events", every)
	}
	if d, err := time.ParseDuration(interval); err != nil || d < time.Millisecond {
		return config{}, fmt.Errorf("checkpoint-interval: %q is not a duration of at least 1ms", interval)
	} else {
		c.CheckpointInterval = d
	}
	c.Args = fs.Args()
	if d, err := time.ParseDuration(flush); err != nil || d < time.Millisecond {
		return config{}, fmt.Errorf("projection-flush: %q is not a duration of at least 1ms", flush)
	} else {
		c.ProjectionFlush = d
	}
	if d, err := time.ParseDuration(httpRead); err != nil || d < 100*time.Millisecond {
		return config{}, fmt.Errorf("http-read-timeout: %q is not a duration of at least 100ms", httpRead)
	} else {
		c.HTTPReadTimeout = d
	}
	if _, err := fmt.Sscan(httpConns, &c.HTTPMaxConns); err != nil || c.HTTPMaxConns < 1 {
		return config{}, fmt.Errorf("http-max-conns: %q is not a count of at least 1", httpConns)
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return config{}, fmt.Errorf("trusted-proxies: %q is neither an address nor a CIDR prefix", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	if _, err := fmt.Sscan(failedAuth, &c.FailedAuthLimit); err != nil || c.FailedAuthLimit < 0 {
		return config{}, fmt.Errorf("failed-auth-limit: %q is not a count (0 or more)", failedAuth)
	}
	var err error
	if c.PasswordRule, err = handlers.ParsePasswordRule(passwordRule); err != nil {
		return config{}, fmt.Errorf("password-rule: %w", err)
	}
	if c.WebhookAllowPrivate, err = trueOrFalse("webhook-allow-private", hookPrivate); err != nil {
		return config{}, err
	}
	if d, err := time.ParseDuration(hookTimeout); err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
		return config{}, fmt.Errorf("webhook-timeout: %q is not a duration from 100ms to 5m", hookTimeout)
	} else {
		c.WebhookTimeout = d
	}
	if d, err := time.ParseDuration(hookBackoff); err != nil || d < 10*time.Millisecond || d > 5*time.Minute {
		return config{}, fmt.Errorf("webhook-backoff: %q is not a duration from 10ms to 5m", hookBackoff)
	} else {
		c.WebhookBackoff = d
	}
	if _, err := fmt.Sscan(hookFailures, &c.WebhookMaxFailures); err != nil || c.WebhookMaxFailures < 1 {
		return config{}, fmt.Errorf("webhook-max-failures: %q is not a count of at least 1", hookFailures)
	}
	if d, err := time.ParseDuration(sessionTTL); err != nil || d < time.Minute || d > 24*time.Hour {
		return config{}, fmt.Errorf("admin-session-ttl: %q is not a duration from 1m to 24h", sessionTTL)
	} else {
		c.AdminSessionTTL = d
	}
	if d, err := time.ParseDuration(session); err != nil || d < time.Second {
		return config{}, fmt.Errorf("nats-session: %q is not a duration of at least 1s", session)
	} else {
		c.NATSSession = d
	}
	if c.Pprof, err = trueOrFalse("pprof", pprofOn); err != nil {
		return config{}, err
	}
	if c.AckReplicated, err = trueOrFalse("ack-replicated", ackReplicated); err != nil {
		return config{}, err
	}
	if _, err := fmt.Sscan(replicas, &c.Replicas); err != nil || c.Replicas < 1 || c.Replicas > 5 {
		return config{}, fmt.Errorf("replicas: %q is not a count of copies from 1 to 5", replicas)
	}
	if c.Replicas > 1 && c.NATSURL == "" {
		return config{}, fmt.Errorf("replicas: %d copies need a NATS cluster (--nats-url); the embedded server is one node", c.Replicas)
	}
	if _, err := fmt.Sscan(partitions, &c.Partition.Count); err != nil || c.Partition.Count < 1 || c.Partition.Count > maxPartitions {
		return config{}, fmt.Errorf("partitions: %q is not a count of partitions from 1 to %d", partitions, maxPartitions)
	}
	if _, err := fmt.Sscan(partition, &c.Partition.Index); err != nil || c.Partition.Index < 0 || c.Partition.Index >= c.Partition.Count {
		return config{}, fmt.Errorf("partition: %q is not a partition of %d (0 to %d)", partition, c.Partition.Count, c.Partition.Count-1)
	}
	if c.Partition.Partitioned() && c.NATSURL == "" {
		return config{}, fmt.Errorf("partitions: %d partitions need a NATS cluster (--nats-url) that maps requests to them; the embedded server serves one ledger", c.Partition.Count)
	}
	if _, err := fmt.Sscan(maxPayload, &c.MaxPayload); err != nil || c.MaxPayload <= 0 {
		return config{}, fmt.Errorf("max-payload: %q is not a positive number of bytes", maxPayload)
	}
	return c, nil
}

// maxPartitions bounds --partitions: each partition is a ledgerd of its own, with its own
// streams, and a partition count is fixed for the life of the ledger (resellers do not move).
const maxPartitions = 64

// trueOrFalse reads a boolean setting, which the flags and the environment spell true or false.
func trueOrFalse(name, value string) (bool, error) {
	switch value {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s: %q is neither true nor false", name, value)
}

func (c config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(c.LogLevel))); err != nil {
		return nil, fmt.Errorf("log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}
