package main

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/licledger/licledger/client"
)

// chromium finds a headless-capable Chromium. Without one the test is skipped, unless
// LICLEDGER_REQUIRE_CHROMIUM=1 (set by .ci/run, which installs Debian's chromium) makes it fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("LICLEDGER_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("no chromium on PATH, and LICLEDGER_REQUIRE_CHROMIUM=1")
	}
	t.Skip("no chromium on PATH (apt-get install chromium); .ci/run installs it")
	return ""
}

// headless runs Chromium on url with a virtual time budget (the page's timers and fetches run,
// then it stops) and the given output flag.
func headless(t *testing.T, bin, url string, out ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--window-size=1200,900", "--virtual-time-budget=5000"}, out...)
	b, err := exec.CommandContext(ctx, bin, append(args, url)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", out, err)
	}
	return b
}

// TestDashboardPageInChromium loads the built-in dashboard in headless Chromium with a system
// admin's token. The page, once its script has asked the ledger, shows both resellers' quota
// usage, the totals and the recent events (checked in the DOM), and the screenshot has the bars
// drawn to scale: the reseller at 90% of its quota in the warning colour, the one at 20% in the
// normal colour, about 4.5 times shorter, and the active-users line.
func TestDashboardPageInChromium(t *testing.T) {
	bin := chromium(t)
	data := t.TempDir()
	url, httpAddr, _ := startInProcess(t, data)
	token := readToken(t, data)
	c := client.New(connect(t, url, token), token)
	ctx := context.Background()
	for _, r := range []struct {
		prefix string
		users  int
	}{{"full", 9}, {"calm", 2}} {
		lic := setupLicense(t, c, r.prefix, 10)
		for i := range r.users {
			if _, err := c.Command(ctx, "seat.register", seat(lic, fmt.Sprint("u", i)), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := "http://" + httpAddr + "/dashboard#token=" + token

	dom := string(headless(t, bin, page, "--dump-dom"))
	for _, want := range []string{"fullr", "9 / 10 (90%)", "calmr", "2 / 10 (20%)", `<b id="t-active">11</b>`, "seat.registered.v1", "active 2",
		// The hot-spot list names the full license first, marked.
		`<tbody id="hotspots"><tr class="hot"><td>fulll</td><td>fullr</td><td>fullt</td><td>fullplan</td>`,
		// The chart has its axes and their labels: users up the side, time along the bottom.
		`class="axis"`, `class="axis-label">users</text>`, `(now)</text>`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("the page's DOM:\n%s", dom)
	}

	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if dir := os.Getenv("LICLEDGER_SCREENSHOT_DIR"); dir != "" { // to look at it
		shot = filepath.Join(dir, "dashboard.png")
	}
	headless(t, bin, page, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	red, blue, green := countColor(img, 0xd6, 0x27, 0x28), countColor(img, 0x1f, 0x77, 0xb4), countColor(img, 0x2c, 0xa0, 0x2c)
	t.Logf("screenshot %s: %d px warning bar, %d px normal bar, %d px chart line", shot, red, blue, green)
	if blue < 200 || red < 4*blue || red > 5*blue+400 {
		t.Errorf("the bars are not drawn to scale: %d px at 90%%, %d px at 20%% (want about 4.5 times)", red, blue)
	}
	if green < 100 {
		t.Errorf("the active-users line is missing: %d px", green)
	}
}

// countColor counts the pixels of exactly one colour.
func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if uint8(pr>>8) == r && uint8(pg>>8) == g && uint8(pb>>8) == b {
				n++
			}
		}
	}
	return n
}
