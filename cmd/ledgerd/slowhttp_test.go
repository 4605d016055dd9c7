package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// TestSlowHTTPClientsAreCutOff: clients that send half a body are disconnected once the read
// timeout passes, so that they hold no connection for long, and at most --http-max-conns are open
// at once; a good request is served meanwhile once a slot frees.
func TestSlowHTTPClientsAreCutOff(t *testing.T) {
	_, httpAddr, _ := startLogging(t, t.TempDir(), io.Discard, "--http-read-timeout", "1s", "--http-max-conns", "8")
	const slow = 24
	var wg sync.WaitGroup
	errs := make(chan error, slow)
	start := time.Now()
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", httpAddr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /v1/license.validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"key\": \"half-%d", i)
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.Copy(io.Discard, c) // until the server closes
			if errors.Is(err, os.ErrDeadlineExceeded) {
				errs <- fmt.Errorf("slow client %d: still connected after 20 s", i)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatalf("a good request while slow clients hold the connections: %v", err)
	}
	resp.Body.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 24 slow clients through 8 slots, each cut after 1 s: about 3 s; never 24 s.
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the slow clients were cut off only after %s", took)
	}
}

// TestHTTPConnectionsAreLimited: with --http-max-conns 2 held by two slow clients, a third
// connection is not served until the read timeout frees a slot.
func TestHTTPConnectionsAreLimited(t *testing.T) {
	_, httpAddr, _ := startLogging(t, t.TempDir(), io.Discard, "--http-read-timeout", "3s", "--http-max-conns", "2")
	for range 2 {
		c, err := net.Dial("tcp", httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "POST /v1/license.validate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
	}
	time.Sleep(200 * time.Millisecond)
	if resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + httpAddr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a third connection was served while two were open")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatalf("served once the slow clients were cut off: %v", err)
	}
	resp.Body.Close()
}
