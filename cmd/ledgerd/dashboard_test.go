package main

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// headless runs Chromium on url in a desktop-sized window with a virtual time budget (the
// page's timers and fetches run, then it stops) and the given output flag.
func headless(t *testing.T, bin, url string, out ...string) []byte {
	t.Helper()
	return headlessAt(t, bin, "1200,900", url, out...)
}

// headlessAt is headless in a window of size "width,height".
func headlessAt(t *testing.T, bin, size, url string, out ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--window-size=" + size, "--virtual-time-budget=5000"}, out...)
	b, err := exec.CommandContext(ctx, bin, append(args, url)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", out, err)
	}
	return b
}

// TestDashboardPageInChromium loads the built-in dashboard in headless Chromium with a system
// admin's token, after `ledgerctl demo` and two resellers of its own, and a restart. The page,
// once its script has asked the ledger, shows both resellers' quota usage, the totals, the hot
// spots with the demo's full license marked, the three history charts drawn by the embedded
// charting library with their axes and legends, and the recent events (checked in the DOM). The
// screenshot has the bars drawn to scale (the reseller at 90% of its quota in the warning colour,
// those at 20% and 25% in the normal colour, together about half as long) and the charts' lines.
func TestDashboardPageInChromium(t *testing.T) {
	bin := chromium(t)
	ctl := buildLedgerctl(t)
	data := t.TempDir()
	url, _, stop := startInProcess(t, data)
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
	if out, err := exec.Command(ctl, "--nats-url", url, "--token", token, "demo").CombinedOutput(); err != nil {
		t.Fatalf("ledgerctl demo: %v\n%s", err, out)
	}
	stop() // the page is drawn by a ledger that started again on the same data dir
	url, httpAddr, _ := startInProcess(t, data)
	c = client.New(connect(t, url, token), token)
	page := "http://" + httpAddr + "/dashboard#token=" + token

	dom := string(headless(t, bin, page, "--dump-dom"))
	for _, want := range []string{"fullr", "9 / 10 (90%)", "calmr", "2 / 10 (20%)", `<b id="t-active">20</b>`, "seat.registered.v1", "active 5 · expired 0 · suspended 1",
		// The hot-spot list names the demo's full license first, marked.
		`<tbody id="hotspots"><tr class="hot pick"><td>demo-globex-1</td><td>demo-partners</td><td>demo-globex</td><td>demo-sync-5</td><td class="num">5 / 5 (100%)</td>`,
		// The charts, drawn by uPlot, with their legends; the subject list offers the resellers.
		`class="uplot`, `<div class="u-label">active users</div>`, `<div class="u-label">consumed</div>`, `<div class="u-label">suspended</div>`,
		`<option value="reseller:demo-partners">`, "a point every minute"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Two axes per chart: time along the bottom, the unit up the side.
	if axes := strings.Count(dom, `class="u-axis"`); axes != 6 {
		t.Errorf("%d chart axes, want 6", axes)
	}
	if t.Failed() {
		t.Fatalf("the page's DOM:\n%s", dom)
	}
	// At a phone's width (500 px: headless Chromium's narrowest window) the charts stack, each as
	// wide as the screen less its margins, and the tables scroll inside their sections.
	phone := string(headlessAt(t, bin, "500,2400", page, "--dump-dom"))
	if dir := os.Getenv("LICLEDGER_SCREENSHOT_DIR"); dir != "" {
		headlessAt(t, bin, "500,2400", page, "--screenshot="+filepath.Join(dir, "phone.png"))
	}
	widths := regexp.MustCompile(`class="u-wrap" style="width: (\d+)px`).FindAllStringSubmatch(phone, -1)
	if len(widths) != 3 {
		t.Fatalf("%d charts at phone width", len(widths))
	}
	for _, w := range widths {
		if n, _ := strconv.Atoi(w[1]); n < 400 || n > 460 {
			t.Errorf("a chart %s px wide in a 500 px window, want one column less the margins", w[1])
		}
	}

	// A reseller admin of a reseller without a license sees dashes and no chart, not zeros.
	if _, err := c.Command(ctx, "reseller.create", map[string]any{"id": "emptyr", "name": "Empty"}, ""); err != nil {
		t.Fatal(err)
	}
	_, emptyToken := issueCredential(t, c, map[string]any{"role": "reseller-admin", "scope": map[string]any{"resellerId": "emptyr"}})
	empty := string(headless(t, bin, "http://"+httpAddr+"/dashboard#token="+emptyToken, "--dump-dom"))
	for _, want := range []string{`<b id="t-licenses">–</b>`, `<div class="charts" id="charts" hidden="">`, "No license in this scope over this range"} {
		if !strings.Contains(empty, want) {
			t.Errorf("a scope without a license: the page lacks %q", want)
		}
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
	red, blue := countColor(img, 0xd6, 0x27, 0x28), countColor(img, 0x1f, 0x77, 0xb4)
	green, purple := countColor(img, 0x2c, 0xa0, 0x2c), countColor(img, 0x94, 0x67, 0xbd)
	t.Logf("screenshot %s: %d px warning bar, %d px normal bar; chart lines: %d px active users, %d px consumed", shot, red, blue, green, purple)
	// Red: fullr at 90%; blue: calmr at 20% and the demo's reseller at 25%, twice shorter together.
	if blue < 200 || red < 9*blue/5 || red > 11*blue/5+400 {
		t.Errorf("the bars are not drawn to scale: %d px at 90%%, %d px at 20%% and 25%% (want about twice)", red, blue)
	}
	if green < 100 || purple < 100 {
		t.Errorf("the charts' lines are missing: %d px active users, %d px consumed", green, purple)
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
