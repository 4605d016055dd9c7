// Package archtest keeps the layout of shared/DESIGN.md honest: dependencies point inward.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/licledger/licledger"

// allowed lists, per package, the packages of this module it may import. A package missing here
// may import nothing of ours (new packages must be added deliberately).
var allowed = map[string][]string{
	"domain":                {},
	"eventstore":            {},
	"eventstore/natsstream": {"eventstore", "wire"},
	"projections":           {"domain", "eventstore"},
	"handlers":              {"domain", "eventstore", "projections", "schemas", "wire", "internal/datadir", "licensefile"}, // the core: no transport
	"handlers/natsapi":      {"handlers", "handlers/metrics", "domain", "eventstore/natsstream", "projections", "client", "schemas", "wire", "internal/datadir"},
	"handlers/httpapi":      {"handlers", "domain", "schemas", "wire"},
	"handlers/metrics":      {"handlers", "projections"},
	"handlers/webhooks":     {"handlers", "domain", "wire"}, // delivers events to partners' webhooks
	"handlers/handlerstest": {"handlers", "eventstore"},     // tests' harness: a real ledger and nats-server
	"client":                {"wire"},
	"cmd/ledgerd":           {"eventstore", "eventstore/natsstream", "handlers", "handlers/natsapi", "handlers/httpapi", "handlers/metrics", "handlers/webhooks", "client", "wire", "internal/datadir", "licensefile"},
	"cmd/ledgerctl":         {"client", "eventstore", "wire", "internal/datadir", "licensefile"}, // eventstore: audit verify (the tree, checkpoints, a data dir read-only); its tests also start a real ledger
	"internal/archtest":     {},
	"internal/datadir":      {"eventstore"}, // the data dir's key files
	"internal/floorbench":   {},
	"internal/loggen":       {"domain", "eventstore"},
	"internal/testreport":   {},
	"schemas":               {},
	"wire":                  {},                        // the wire's names, for everyone: the standard library only
	"licensefile":           {},                        // applications import it: the standard library only
	"examples/app":          {"client", "licensefile"}, // README's application
}

// external lists, for the inner packages, the only third-party import paths they may use.
var external = map[string][]string{
	"domain": {"github.com/oklog/ulid/v2"},
	// The core knows no transport: no NATS, HTTP or Prometheus package (and no net, below).
	"handlers":    {"github.com/oklog/ulid/v2", "golang.org/x/crypto/", "golang.org/x/mod/sumdb/"},
	"eventstore":  {"github.com/cockroachdb/pebble/v2", "github.com/oklog/ulid/v2", "golang.org/x/mod/sumdb"},
	"wire":        {},
	"licensefile": {},
}

func TestImportsPointInward(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, "|")
		if strings.Contains(path, "[") || strings.HasSuffix(path, ".test") {
			continue // test variants: their non-test imports were checked with the package
		}
		pkg := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("package %s is not in archtest's table: add it with the imports it may use", pkg)
			continue
		}
		for _, imp := range strings.Split(imports, ",") {
			if imp == "" {
				continue
			}
			if strings.HasPrefix(imp, module+"/") {
				if !contains(ok, strings.TrimPrefix(imp, module+"/")) {
					t.Errorf("%s imports %s: that arrow points outward", pkg, imp)
				}
				continue
			}
			if ext, inner := external[pkg]; inner && isThirdParty(imp) && !hasPrefixIn(imp, ext) {
				t.Errorf("%s imports %s: the inner packages stay free of infrastructure", pkg, imp)
			}
			if pkg == "handlers" && (imp == "net" || strings.HasPrefix(imp, "net/")) {
				t.Errorf("handlers imports %s: the core knows no transport; the edges (natsapi, httpapi) do", imp)
			}
		}
	}
}

// isThirdParty: standard library paths have no dot in their first element.
func isThirdParty(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return strings.Contains(first, ".")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasPrefixIn(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
