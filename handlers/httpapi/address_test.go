package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"203.0.113.5:1234", "198.51.100.7", nil, "203.0.113.5"},                      // no trusted proxy: the header is ignored
		{"203.0.113.5:1234", "198.51.100.7", trusted, "203.0.113.5"},                  // not from a trusted proxy
		{"10.1.2.3:1234", "198.51.100.7", trusted, "198.51.100.7"},                    // the proxy names the client
		{"10.1.2.3:1234", "1.2.3.4, 198.51.100.7, 10.9.9.9", trusted, "198.51.100.7"}, // a forged left part is skipped
		{"10.1.2.3:1234", "", trusted, "10.1.2.3"},                                    // a proxy that says nothing
		{"10.1.2.3:1234", "not-an-ip", trusted, "10.1.2.3"},
		{"[::1]:1234", "2001:db8::1", trusted, "2001:db8::1"},
	} {
		req := httptest.NewRequest("GET", "/v1/role.show", nil)
		req.RemoteAddr = c.remote
		if c.xff != "" {
			req.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientAddress(req, c.trusted); got != c.want {
			t.Errorf("clientAddress(%s, %q) = %s; want %s", c.remote, c.xff, got, c.want)
		}
	}
}
