package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestOperatorEndpoints: /metrics (every reseller's figures) and /debug/pprof/ answer only an
// operator. By default they sit on the main listener, to a system-scope admin's or auditor's
// token, and the profiles are off; with --metrics-listen they move to a listener of their own,
// and --pprof adds the profiles there.
func TestOperatorEndpoints(t *testing.T) {
	status := func(url, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Run("on the main listener, to operators", func(t *testing.T) {
		data := t.TempDir()
		natsURL, httpAddr, _ := startInProcess(t, data)
		token := readToken(t, data)
		admin := client.New(connect(t, natsURL, token), token)
		_, reseller := issueCredential(t, admin, map[string]any{"role": "reseller-admin"})
		_, auditor := issueCredential(t, admin, map[string]any{"role": "auditor"})
		for _, c := range []struct {
			path, token string
			want        int
		}{
			{"/metrics", "", 401},
			{"/metrics", reseller, 403},
			{"/metrics", auditor, 200},
			{"/metrics", token, 200},
			{"/debug/pprof/", token, 404}, // profiles only with --pprof
		} {
			if got := status("http://"+httpAddr+c.path, c.token); got != c.want {
				t.Errorf("%s (token %t): %d; want %d", c.path, c.token != "", got, c.want)
			}
		}
	})
	t.Run("on a listener of their own", func(t *testing.T) {
		metricsAddr := freeAddr(t)
		data := t.TempDir()
		_, httpAddr, _ := startLogging(t, data, io.Discard, "--metrics-listen", metricsAddr, "--pprof", "true")
		token := readToken(t, data)
		for _, c := range []struct {
			url  string
			want int
		}{
			{"http://" + metricsAddr + "/metrics", 200},
			{"http://" + metricsAddr + "/debug/pprof/", 200},
			{"http://" + metricsAddr + "/debug/pprof/trace?seconds=0.1", 200}, // go tool trace
			{"http://" + httpAddr + "/metrics", 404},
			{"http://" + httpAddr + "/debug/pprof/", 404},
		} {
			if got := status(c.url, token); got != c.want {
				t.Errorf("%s: %d; want %d", c.url, got, c.want)
			}
		}
	})
}
