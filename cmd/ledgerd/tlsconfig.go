package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// certReloader serves the certificate in a key pair's files and loads it again when they change
// (checked every CheckEvery) or on SIGHUP, so a renewed certificate takes effect without a
// restart. Handshakes already made keep their certificate; the next one gets the new.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]
	loadedMod         time.Time // the newer of the files' modification times at the last load
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) modTime() time.Time {
	var newest time.Time
	for _, f := range []string{r.certFile, r.keyFile} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	return newest
}

func (r *certReloader) load() error {
	mod := r.modTime()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert.Store(&cert)
	r.loadedMod = mod
	return nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// watch reloads on SIGHUP and when the files' modification time changes, until ctx ends. A pair
// that does not load (a half-written renewal) is logged and the old certificate kept.
func (r *certReloader) watch(ctx context.Context, checkEvery time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			if !r.modTime().After(r.loadedMod) {
				continue
			}
		}
		if err := r.load(); err != nil {
			r.log.Error("TLS certificate not reloaded; keeping the one in use", "err", err)
			continue
		}
		r.log.Info("TLS certificate reloaded", "cert", r.certFile)
	}
}

// serverTLS is the TLS configuration of both listeners (embedded NATS and HTTP) when
// --tls-cert and --tls-key are given, nil otherwise. With --tls-client-ca, clients must present a
// certificate that CA signed (mutual TLS).
func serverTLS(cfg config, log *slog.Logger) (*tls.Config, *certReloader, error) {
	if cfg.TLSCert == "" && cfg.TLSKey == "" {
		if cfg.TLSClientCA != "" {
			return nil, nil, errors.New("tls-client-ca: needs --tls-cert and --tls-key")
		}
		return nil, nil, nil
	}
	if cfg.TLSCert == "" || cfg.TLSKey == "" {
		return nil, nil, errors.New("tls: give both --tls-cert and --tls-key")
	}
	reloader, err := newCertReloader(cfg.TLSCert, cfg.TLSKey, log)
	if err != nil {
		return nil, nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: reloader.GetCertificate}
	if cfg.TLSClientCA != "" {
		pool, err := loadCAs(cfg.TLSClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("tls-client-ca: %w", err)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, reloader, nil
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
