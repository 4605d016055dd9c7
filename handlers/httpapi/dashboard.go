package httpapi

import (
	"embed"
	"net/http"
	"path"
	"strings"
)

// The built-in dashboard: GET /dashboard serves one page that asks dashboard.show every second,
// and dashboard.history for its charts, with the token it is given. It loads nothing from
// elsewhere: its charting library, uPlot (MIT, pinned by tools/dashboard/package-lock.json and
// held equal to it by a test), is embedded here and served under /dashboard/assets/.

//go:embed dashboard.html
var dashboardPage []byte

//go:embed uplot/uPlot.iife.min.js uplot/uPlot.min.css uplot/LICENSE
var dashboardAssets embed.FS

// DashboardPage serves the dashboard's page. It holds no data: the page fetches
// /v1/dashboard.show and /v1/dashboard.history with the token typed into it (or given after # in
// its URL, which browsers do not send to servers), so it shows exactly what that token may see.
func DashboardPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The page talks to this origin only, and nothing may frame it.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(dashboardPage)
	})
}

// DashboardAssets serves the dashboard's charting library's files by name (mount it at
// /dashboard/assets/); there is nothing else under it, not even a listing.
func DashboardAssets() http.Handler {
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", "": "text/plain; charset=utf-8"}
	return http.StripPrefix("/dashboard/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Path
		b, err := dashboardAssets.ReadFile("uplot/" + name)
		if err != nil || name == "" || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", types[path.Ext(name)])
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(b)
	}))
}
