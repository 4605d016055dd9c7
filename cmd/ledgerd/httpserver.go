package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTP limits that are not flags: a slow or idle client holds no connection for long, and no
// header is larger than a request needs.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpWriteTimeout      = 2 * time.Minute // a query's reply, an asOf replay included
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 64 << 10
)

// newHTTPServer is ledgerd's HTTP server: the whole request, body included, must arrive within
// cfg.HTTPReadTimeout, and at most cfg.HTTPMaxConns connections are open at once (more wait in
// the kernel's backlog until one closes).
func newHTTPServer(cfg config, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(httpReadHeaderTimeout, cfg.HTTPReadTimeout),
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
	}
}

// limitListener accepts at most n connections at once: Accept waits while n are open.
type limitListener struct {
	net.Listener
	slots chan struct{}
}

func limitConnections(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
