package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/licledger/licledger/handlers"
)

// apiTools returns tools/api, where `npm ci --prefix tools/api` installs the API documents'
// validators and the stock client generator (pinned in its package-lock.json). Without them the
// tests that need them skip, unless LICLEDGER_REQUIRE_NPM=1 (CI) makes that a failure.
func apiTools(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../tools/api")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "redocly")); err != nil {
		if os.Getenv("LICLEDGER_REQUIRE_NPM") != "" {
			t.Fatalf("the API tools are not installed (npm ci --prefix tools/api): %v", err)
		}
		t.Skip("the API tools are not installed: npm ci --prefix tools/api")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node: %v", err)
	}
	return dir
}

// runTool runs one of tools/api's commands and returns its output; a failure fails the test.
func runTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestOpenAPIDocumentIsValid: the committed OpenAPI document passes Redocly's linter with its
// recommended rules, and ledgerd serves exactly that document at /openapi.json.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	tools := apiTools(t)
	doc, err := filepath.Abs("../../schemas/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	out := runTool(t, tools, nil, filepath.Join(tools, "node_modules", ".bin", "redocly"), "lint", "--format=summary", doc)
	if !strings.Contains(out, "valid") {
		t.Fatalf("redocly lint: %s", out)
	}
	servedAsCommitted(t, "openapi.json")
}

// servedAsCommitted: ledgerd serves the API document schemas/<name> at /<name>, byte for byte.
func servedAsCommitted(t *testing.T, name string) {
	t.Helper()
	_, httpAddr, _ := startInProcess(t, t.TempDir())
	resp, err := http.Get("http://" + httpAddr + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	committed, _ := os.ReadFile(filepath.Join("..", "..", "schemas", name))
	if resp.StatusCode != 200 || !bytes.Equal(served, committed) {
		t.Fatalf("GET /%s: %d, %d bytes; want the committed %d", name, resp.StatusCode, len(served), len(committed))
	}
}

// asyncAPICheck parses an AsyncAPI document with the AsyncAPI initiative's parser (the validator
// behind its CLI and Studio) and prints what it found; it exits non-zero on any error.
const asyncAPICheck = `const { Parser } = require("@asyncapi/parser");
const fs = require("fs");
(async () => {
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(process.argv[2], "utf8"));
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of errors.slice(0, 20)) console.error(d.code, d.message, JSON.stringify(d.path));
  const ok = document !== undefined && errors.length === 0;
  console.log(JSON.stringify({ valid: ok, errors: errors.length, channels: ok ? document.channels().length : 0,
    operations: ok ? document.operations().length : 0, messages: ok ? document.allMessages().length : 0 }));
  process.exit(ok ? 0 : 1);
})();
`

// TestAsyncAPIDocumentIsValid: the committed AsyncAPI document parses without error, describes
// every endpoint in its three forms and every event type, and ledgerd serves it at
// /asyncapi.json.
func TestAsyncAPIDocumentIsValid(t *testing.T) {
	tools := apiTools(t)
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(tools, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "check.cjs"), []byte(asyncAPICheck), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, _ := filepath.Abs("../../schemas/asyncapi.json")
	var got struct {
		Valid                        bool
		Channels, Operations, Errors int
	}
	out := runTool(t, work, nil, "node", "check.cjs", doc)
	if err := json.Unmarshal([]byte(out), &got); err != nil || !got.Valid {
		t.Fatalf("the AsyncAPI parser: %v\n%s", err, out)
	}
	// Three forms of each endpoint, the replies, and the events in two forms.
	endpoints := len(handlers.Endpoints())
	if got.Channels != 3*endpoints+3 || got.Operations != 3*endpoints+2 {
		t.Errorf("%d channels and %d operations for %d endpoints", got.Channels, got.Operations, endpoints)
	}
	servedAsCommitted(t, "asyncapi.json")
}

// partnerSession is a partner's billing code in TypeScript, written against the types a stock
// generator (openapi-typescript) made from the OpenAPI document and run with openapi-fetch: if
// the document said anything the ledger does not do, tsc or the run fails.
const partnerSession = `import createClient from "openapi-fetch";
import type { paths } from "./api.js";

const baseUrl = process.env.LEDGER_URL!;
const ledger = createClient<paths>({ baseUrl, headers: { Authorization: "Bearer " + process.env.LEDGER_TOKEN } });
const anonymous = createClient<paths>({ baseUrl });

function must<T>(r: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (r.data === undefined) {
    throw new Error(what + ": " + r.response.status + " " + JSON.stringify(r.error));
  }
  return r.data;
}

async function main(): Promise<void> {
  must(await ledger.POST("/v1/reseller.create", { body: { id: "ts-r", name: "TypeScript Reseller" } }), "reseller.create");
  must(await ledger.POST("/v1/tenant.create", { body: { id: "ts-t", resellerId: "ts-r", name: "Acme" } }), "tenant.create");
  must(await ledger.POST("/v1/product.create", { body: { id: "ts-p", name: "Sync" } }), "product.create");
  must(await ledger.POST("/v1/plan.create", { body: { id: "ts-plan", productId: "ts-p", name: "One seat", tier: 1, seats: 1 } }), "plan.create");
  const created = must(await ledger.POST("/v1/license.create", {
    body: { resellerId: "ts-r", tenantId: "ts-t", planId: "ts-plan" },
    params: { header: { "Idempotency-Key": "ts-license-1" } },
  }), "license.create");
  const licenseId: string = created.result.id;
  const key: string = created.result.key;
  const seat = must(await ledger.POST("/v1/seat.register", { body: { licenseId, endUserCompany: "Acme", endUserName: "ann" } }), "seat.register");
  if (!seat.result.registered) {
    throw new Error("ann is not registered");
  }
  const refused = await ledger.POST("/v1/seat.register", { body: { licenseId, endUserCompany: "Acme", endUserName: "bob" } });
  if (refused.response.status !== 422 || refused.error?.error.code !== "QUOTA_EXCEEDED") {
    throw new Error("bob: " + refused.response.status + " " + JSON.stringify(refused.error));
  }
  const quota = must(await ledger.GET("/v1/usage.quota", { params: { query: { licenseId } } }), "usage.quota");
  const valid = must(await anonymous.POST("/v1/license.validate", { body: { key } }), "license.validate");
  console.log(JSON.stringify({ licenseId, consumed: quota.result.consumed, valid: valid.result.valid, code: valid.result.code }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
`

// TestGeneratedClientRunsAPartnerSession: openapi-typescript generates a client's types from the
// committed OpenAPI document, offline; a partner session written against them type-checks with
// tsc and runs over HTTP against a real ledger.
func TestGeneratedClientRunsAPartnerSession(t *testing.T) {
	tools := apiTools(t)
	bin := filepath.Join(tools, "node_modules", ".bin")
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(tools, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	doc, _ := filepath.Abs("../../schemas/openapi.json")
	runTool(t, work, nil, filepath.Join(bin, "openapi-typescript"), doc, "--output", "api.d.ts")
	for name, text := range map[string]string{"session.ts": partnerSession, "package.json": `{"type": "module"}`} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runTool(t, work, nil, filepath.Join(bin, "tsc"), "--strict", "--target", "es2022", "--module", "nodenext",
		"--moduleResolution", "nodenext", "--skipLibCheck", "--outDir", "out", "session.ts")

	data := t.TempDir()
	_, httpAddr, _ := startInProcess(t, data)
	out := runTool(t, work, []string{"LEDGER_URL=http://" + httpAddr, "LEDGER_TOKEN=" + readToken(t, data)}, "node", "out/session.js")
	var got struct {
		LicenseID string
		Consumed  int
		Valid     bool
		Code      string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.LicenseID == "" || got.Consumed != 1 || !got.Valid || got.Code != "VALID" {
		t.Fatalf("the generated client's session: %v\n%s", err, out)
	}
}
