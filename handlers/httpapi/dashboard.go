package httpapi

import (
	_ "embed"
	"net/http"
)

// The built-in dashboard: GET /dashboard serves one self-contained page (no scripts or styles
// from elsewhere) that asks dashboard.show every second with the token it is given and draws
// quota usage per reseller, active users over the last hour, the recent events and the lags.

//go:embed dashboard.html
var dashboardPage []byte

// DashboardPage serves the dashboard's page. It holds no data: the page fetches
// /v1/dashboard.show with the token typed into it (or given after # in its URL, which browsers
// do not send to servers), so it shows exactly what that token may see.
func DashboardPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The page talks to this origin only, and nothing may frame it.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(dashboardPage)
	})
}
