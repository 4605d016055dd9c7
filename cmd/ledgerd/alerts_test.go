package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"
)

// TestPrometheusAlertsMetricsExist: deploy/prometheus/alerts.yml is a Prometheus rule file whose
// every alert has an expression, a duration and a summary, and every licledger series it
// queries is served by a running ledgerd's /metrics; deploy/prometheus/prometheus.yml loads it
// and scrapes ledgerd's /metrics.
func TestPrometheusAlertsMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalStrict(raw, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	want := []string{"LedgerPublicationLag", "LedgerFsyncSlow", "Ledger5xxRate", "ResellerQuotaNearFull"}
	served := servedMetrics(t)
	metric := regexp.MustCompile(`\blicledger_[a-z_]+`)
	checked := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if d, err := time.ParseDuration(r.For); err != nil || r.Expr == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("alert %q: expr %q, for %q (%v), summary %q, severity %q", r.Alert, r.Expr, r.For, err, r.Annotations["summary"], r.Labels["severity"])
			} else if d <= 0 {
				t.Errorf("alert %q fires at once (for %s)", r.Alert, r.For)
			}
			for _, name := range metric.FindAllString(r.Expr, -1) {
				checked++
				if !served[name] {
					t.Errorf("alert %s queries %s, which /metrics does not serve", r.Alert, name)
				}
			}
			for i, w := range want {
				if r.Alert == w {
					want = append(want[:i], want[i+1:]...)
					break
				}
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("alerts.yml lacks %v", want)
	}
	if checked < 8 {
		t.Fatalf("only %d metric references found: the rules or the test are broken", checked)
	}

	scrape, err := os.ReadFile("../../deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName     string `yaml:"job_name"`
			MetricsPath string `yaml:"metrics_path"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(scrape, &prom); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	if len(prom.RuleFiles) != 1 || prom.RuleFiles[0] != "alerts.yml" || len(prom.ScrapeConfigs) == 0 ||
		prom.ScrapeConfigs[0].JobName != "licledger" || prom.ScrapeConfigs[0].MetricsPath != "/metrics" ||
		!strings.Contains(string(raw), `job="licledger"`) {
		t.Errorf("prometheus.yml does not load alerts.yml and scrape job licledger at /metrics: %+v", prom)
	}
}

// TestPrometheusRulesWithPromtool checks deploy/prometheus/ with Prometheus's own promtool: the
// configuration and rule files load, and the unit tests in alerts_test.yml pass (each alert fires
// on what it is for, only after its `for`, and stays quiet on a healthy ledger). Skipped without
// promtool; LICLEDGER_REQUIRE_PROMTOOL=1 (set by .ci/run, which installs Debian's prometheus
// package) makes it fail instead.
func TestPrometheusRulesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("LICLEDGER_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("no promtool on PATH, and LICLEDGER_REQUIRE_PROMTOOL=1")
		}
		t.Skip("promtool is not installed")
	}
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../../deploy/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
