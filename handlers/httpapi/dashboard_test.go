package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestEmbeddedChartLibraryIsThePinnedOne: the charting library's files ledgerd embeds are byte
// for byte those of the package tools/dashboard pins (installed by `make tools`, npm ci), in the
// version its package.json names. Without npm's install the test skips, unless
// LICLEDGER_REQUIRE_NPM=1 (CI) makes that a failure.
func TestEmbeddedChartLibraryIsThePinnedOne(t *testing.T) {
	tools := filepath.Join("..", "..", "tools", "dashboard")
	installed := filepath.Join(tools, "node_modules", "uplot")
	if _, err := os.Stat(installed); err != nil {
		if os.Getenv("LICLEDGER_REQUIRE_NPM") != "" {
			t.Fatalf("%s: %v (make tools installs it)", installed, err)
		}
		t.Skipf("%s is not installed (make tools)", installed)
	}
	var pinned struct{ DevDependencies map[string]string }
	var got struct{ Version string }
	for file, into := range map[string]any{filepath.Join(tools, "package.json"): &pinned, filepath.Join(installed, "package.json"): &got} {
		b, err := os.ReadFile(file)
		if err != nil || json.Unmarshal(b, into) != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if want := pinned.DevDependencies["uplot"]; got.Version != want || want == "" {
		t.Fatalf("installed uplot %s, package.json pins %q", got.Version, want)
	}
	for embedded, from := range map[string]string{"uPlot.iife.min.js": "dist/uPlot.iife.min.js", "uPlot.min.css": "dist/uPlot.min.css", "LICENSE": "LICENSE"} {
		want, err := os.ReadFile(filepath.Join(installed, from))
		if err != nil {
			t.Fatal(err)
		}
		if have, _ := dashboardAssets.ReadFile("uplot/" + embedded); !bytes.Equal(have, want) {
			t.Errorf("uplot/%s is not the pinned package's %s: copy it again", embedded, from)
		}
	}
}

// TestDashboardAssetsServeOnlyTheLibrary: the library's files are served with their types, and
// nothing else is: no listing, no other path.
func TestDashboardAssetsServeOnlyTheLibrary(t *testing.T) {
	srv := httptest.NewServer(HTTPHandler(func() (bool, string) { return true, "" }, http.NotFoundHandler(), nil))
	defer srv.Close()
	for path, want := range map[string]string{
		"/dashboard/assets/uPlot.iife.min.js": "text/javascript; charset=utf-8", "/dashboard/assets/uPlot.min.css": "text/css; charset=utf-8",
		"/dashboard/assets/": "", "/dashboard/assets/../dashboard.html": "", "/dashboard/assets/uplot/LICENSE": "", "/dashboard/assets/nope.js": "",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case want == "" && resp.StatusCode != http.StatusNotFound:
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		case want != "" && (resp.StatusCode != 200 || resp.Header.Get("Content-Type") != want || len(body) < 1000):
			t.Errorf("%s: %d %s, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
}
