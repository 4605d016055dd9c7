package main

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/licledger/licledger/client"
)

// TestGrafanaDashboardMetricsExist: every series deploy/grafana/licledger.json queries is served
// by a running ledgerd's /metrics, so no panel of the shipped dashboard stays empty for a typo
// or a renamed metric.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/licledger.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if s, ok := v.Query.(string); ok {
			exprs = append(exprs, s)
		}
	}

	served := servedMetrics(t)
	metric := regexp.MustCompile(`\blicledger_[a-z_]+`)
	checked := 0
	for _, e := range exprs {
		for _, name := range metric.FindAllString(e, -1) {
			checked++
			if !served[name] {
				t.Errorf("the dashboard queries %s (in %q), which /metrics does not serve", name, e)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d metric references found: the dashboard or the test is broken", checked)
	}
}

// servedMetrics runs a ledger, gives it a license and a seat, and returns the names of the series
// its /metrics serves (histograms' _bucket, _sum and _count included).
func servedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	data := t.TempDir()
	url, httpAddr, _ := startInProcess(t, data)
	token := readToken(t, data)
	c := client.New(connect(t, url, token), token)
	lic := setupLicense(t, c, "g", 10)
	if _, err := c.Command(context.Background(), "seat.register", seat(lic, "ann"), ""); err != nil {
		t.Fatal(err)
	}
	body := getMetrics(t, httpAddr)
	served := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, _, ok := strings.Cut(line, "{"); ok && !strings.HasPrefix(line, "#") {
			served[name] = true
		} else if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			served[name] = true
		}
	}
	return served
}
