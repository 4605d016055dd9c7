package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
)

type global struct {
	natsURL, token, commandID string
	// tlsCA, clientCert and clientKey make the NATS connection TLS: the CA that signed the
	// ledger's certificate, and a client certificate for mutual TLS.
	tlsCA, clientCert, clientKey string
	output                       string // json or table
	address                      string // the reseller requests are addressed to ("": none)
	partition                    string // the partition requests go straight to ("": through the mapping)
}

func parseGlobal(args []string, getenv func(string) string, stderr io.Writer) (global, []string, error) {
	fs := flag.NewFlagSet("ledgerctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	env := func(name, def string) string {
		if v := getenv("LICLEDGER_" + name); v != "" {
			return v
		}
		return def
	}
	var g global
	var tokenFile string
	fs.StringVar(&g.natsURL, "nats-url", env("NATS_URL", nats.DefaultURL), "NATS server URL")
	fs.StringVar(&g.token, "token", env("TOKEN", ""), "bearer token")
	fs.StringVar(&tokenFile, "token-file", env("TOKEN_FILE", "./data/bootstrap-admin.token"), "file holding the bearer token")
	fs.StringVar(&g.commandID, "command-id", "", "idempotency key for a command")
	fs.StringVar(&g.tlsCA, "tls-ca", env("TLS_CA", ""), "PEM CA file that signed the ledger's certificate: connect over TLS")
	fs.StringVar(&g.clientCert, "client-cert", env("CLIENT_CERT", ""), "PEM client certificate, for a ledger that requires mutual TLS")
	fs.StringVar(&g.clientKey, "client-key", env("CLIENT_KEY", ""), "PEM key of --client-cert")
	fs.StringVar(&g.output, "output", env("OUTPUT", "json"), "json or table")
	fs.StringVar(&g.address, "address", env("ADDRESS", ""), "address commands and queries to this reseller (ledger.v1.cmd.<command>.<reseller>)")
	fs.StringVar(&g.partition, "partition", env("PARTITION", ""), "send requests straight to this partition of a partitioned ledger, and read its stream LEDGER_EVENTS_<k>")
	if err := fs.Parse(args); err != nil {
		return g, nil, err
	}
	if _, err := strconv.ParseUint(g.partition, 10, 8); g.partition != "" && err != nil {
		return g, nil, fmt.Errorf("--partition: %q is not a partition number", g.partition)
	}
	if g.output != "json" && g.output != "table" {
		return g, nil, fmt.Errorf("--output: %q is neither json nor table", g.output)
	}
	if g.token == "" && tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err == nil {
			g.token = strings.TrimSpace(string(b))
		} else if !errors.Is(err, os.ErrNotExist) {
			return g, nil, err
		}
	}
	if (g.clientCert == "") != (g.clientKey == "") {
		return g, nil, errors.New("--client-cert and --client-key go together")
	}
	return g, fs.Args(), nil
}

// connect opens the NATS connection every subcommand uses: with the token, over TLS when a CA
// or a client certificate is given, named name.
func (g global) connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name)}
	if g.tlsCA != "" {
		opts = append(opts, nats.RootCAs(g.tlsCA))
	}
	if g.clientCert != "" {
		opts = append(opts, nats.ClientCert(g.clientCert, g.clientKey))
	}
	nc, err := client.Connect(g.natsURL, g.token, opts...)
	if err != nil && (strings.Contains(err.Error(), "x509") || strings.Contains(err.Error(), "tls")) {
		err = fmt.Errorf("%w\nhint: the ledger speaks TLS: pass --tls-ca with the CA that signed its certificate (and --client-cert, --client-key if it asks for one)", err)
	}
	return nc, err
}

// field maps one flag to one JSON field of a request body.
type field struct {
	flag, json, help string
	number           bool
	boolean          bool // "true" or "false"
	pairs            bool // "k=v,k=v" becomes a JSON object
	emptyObject      bool // "true" sends {} unless nested flags filled it (--scope-system)
	fromNow          bool // a duration ("720h") sent as the RFC 3339 UTC time that far from now
	local            bool // not sent: ledgerctl uses it itself (json names what for)
	list             bool // "a,b,c" becomes a JSON array of strings
}

// requests lists every command and query ledgerctl sends, with its flags.
var requests = map[string][]field{
	// batch submit reads its commands from --file (batch.go); these are for help and the tests.
	"batch.submit":    {{flag: "file", json: "commands"}, {flag: "atomic", json: "atomic", boolean: true}},
	"reseller.create": {{flag: "id", json: "id"}, {flag: "name", json: "name"}},
	"tenant.create":   {{flag: "reseller", json: "resellerId"}, {flag: "id", json: "id"}, {flag: "name", json: "name"}},
	"tenant.update":   {{flag: "tenant", json: "tenantId"}, {flag: "name", json: "name"}},
	"tenant.get":      {{flag: "tenant", json: "tenantId"}, viewFormat},
	"admin.get":       {{flag: "username", json: "username"}, viewFormat},
	"product.list":    {{flag: "limit", json: "limit", number: true}, {flag: "after", json: "after"}, viewFormat},
	"plan.list": {{flag: "product", json: "productId"}, {flag: "limit", json: "limit", number: true},
		{flag: "after", json: "after"}, viewFormat},
	"admin.list": {{flag: "reseller", json: "resellerId"}, {flag: "tenant", json: "tenantId"}, {flag: "profile", json: "userProfileType"},
		{flag: "limit", json: "limit", number: true}, {flag: "after", json: "after"}, viewFormat},
	"tenant.list": {{flag: "reseller", json: "resellerId"}, {flag: "name", json: "name"},
		{flag: "limit", json: "limit", number: true}, {flag: "after", json: "after"}, viewFormat},
	"product.create": {{flag: "id", json: "id"}, {flag: "name", json: "name"}},
	"plan.create": {{flag: "id", json: "id"}, {flag: "product", json: "productId"}, {flag: "name", json: "name"},
		{flag: "tier", json: "tier", number: true}, {flag: "seats", json: "seats", number: true},
		{flag: "machines", json: "machines", number: true}, {flag: "duration-days", json: "durationDays", number: true},
		{flag: "entitlements", json: "entitlements", list: true}, {flag: "floating", json: "floating", boolean: true},
		{flag: "heartbeat-seconds", json: "heartbeatSeconds", number: true}},
	"license.create":  {{flag: "id", json: "id"}, {flag: "reseller", json: "resellerId"}, {flag: "tenant", json: "tenantId"}, {flag: "plan", json: "planId"}, {flag: "protected", json: "protected", boolean: true}},
	"seat.register":   {{flag: "license", json: "licenseId"}, {flag: "company", json: "endUserCompany"}, {flag: "user", json: "endUserName"}},
	"seat.unregister": {{flag: "license", json: "licenseId"}, {flag: "company", json: "endUserCompany"}, {flag: "user", json: "endUserName"}},
	"usage.quota":     {{flag: "license", json: "licenseId"}, {flag: "reseller", json: "resellerId"}, {flag: "as-of", json: "asOf"}},
	"usage.summary": {{flag: "reseller", json: "resellerId"}, {flag: "tenant", json: "tenantId"}, {flag: "product", json: "productId"},
		{flag: "plan", json: "planId"}, {flag: "status", json: "status"}, {flag: "as-of", json: "asOf"}},
	"dashboard.show": {{flag: "recent", json: "recent", number: true}},
	"dashboard.history": {{flag: "range", json: "range"}, {flag: "reseller", json: "resellerId"}, {flag: "tenant", json: "tenantId"},
		{flag: "license", json: "licenseId"}},
	"license.suspend":    licenseReason,
	"license.reinstate":  licenseReason,
	"license.expire":     licenseReason,
	"license.renew":      licenseReason,
	"license.terminate":  licenseReason,
	"license.upgrade":    {{flag: "license", json: "licenseId"}, {flag: "plan", json: "planId"}},
	"license.downgrade":  {{flag: "license", json: "licenseId"}, {flag: "plan", json: "planId"}},
	"license.note":       {{flag: "license", json: "licenseId"}, {flag: "note", json: "note"}},
	"license.set-quota":  {{flag: "license", json: "licenseId"}, {flag: "seats", json: "seats", number: true}},
	"license.rotate-key": {{flag: "license", json: "licenseId"}},
	"license.checkout": {{flag: "license", json: "licenseId"}, {flag: "fingerprint", json: "fingerprint"},
		{flag: "ttl-seconds", json: "ttlSeconds", number: true}, {flag: "save", json: "file", local: true}},
	"license.signing-keys":        {},
	"entitlement.create":          {{flag: "code", json: "code"}, {flag: "name", json: "name"}, {flag: "product", json: "productId"}},
	"plan.attach-entitlements":    {{flag: "plan", json: "planId"}, {flag: "codes", json: "codes", list: true}},
	"plan.detach-entitlements":    {{flag: "plan", json: "planId"}, {flag: "codes", json: "codes", list: true}},
	"license.attach-entitlements": {{flag: "license", json: "licenseId"}, {flag: "codes", json: "codes", list: true}},
	"license.detach-entitlements": {{flag: "license", json: "licenseId"}, {flag: "codes", json: "codes", list: true}},
	"license.validate": {{flag: "key", json: "key"}, {flag: "fingerprint", json: "fingerprint"},
		{flag: "entitlements", json: "entitlements", list: true}},
	"machine.activate":   {{flag: "license", json: "licenseId"}, {flag: "fingerprint", json: "fingerprint"}, {flag: "name", json: "name"}},
	"machine.deactivate": {{flag: "license", json: "licenseId"}, {flag: "fingerprint", json: "fingerprint"}},
	"machine.heartbeat":  {{flag: "license", json: "licenseId"}, {flag: "fingerprint", json: "fingerprint"}},
	"admin.create":       append([]field{{flag: "reseller", json: "resellerId"}, {flag: "username", json: "username"}, {flag: "tenant", json: "tenantId"}}, adminProfile...),
	"admin.update":       append([]field{{flag: "username", json: "username"}}, adminProfile...),
	"admin.delete":       {{flag: "username", json: "username"}},
	"admin.login":        {{flag: "username", json: "username"}, {flag: "password", json: "password"}},
	"credential.issue": {{flag: "id", json: "id"}, {flag: "role", json: "role"}, {flag: "description", json: "description"},
		{flag: "scope-reseller", json: "scope.resellerId"}, {flag: "scope-tenant", json: "scope.tenantId"},
		{flag: "scope-product", json: "scope.productId"}, {flag: "scope-license", json: "scope.licenseId"},
		{flag: "scope-user", json: "scope.userId"}, {flag: "scope-company", json: "scope.endUserCompany"},
		{flag: "scope-end-user", json: "scope.endUserName"}, {flag: "scope-system", json: "scope", emptyObject: true},
		{flag: "access", json: "access", pairs: true}, expiresIn, expiresAt},
	"credential.disable":    {{flag: "credential", json: "credentialId"}},
	"credential.enable":     {{flag: "credential", json: "credentialId"}},
	"credential.revoke":     {{flag: "credential", json: "credentialId"}},
	"credential.rotate":     {{flag: "credential", json: "credentialId"}, expiresIn, expiresAt},
	"credential.set-access": {{flag: "credential", json: "credentialId"}, {flag: "access", json: "access", pairs: true}},
	"credential.update":     {{flag: "credential", json: "credentialId"}, {flag: "description", json: "description"}},
	"credential.delete":     {{flag: "credential", json: "credentialId"}},
	"webhook.create": {{flag: "url", json: "url"}, {flag: "reseller", json: "resellerId"}, {flag: "id", json: "id"},
		{flag: "types", json: "eventTypes", list: true}},
	"webhook.update":     {{flag: "webhook", json: "webhookId"}, {flag: "url", json: "url"}, {flag: "types", json: "eventTypes", list: true}},
	"webhook.disable":    {{flag: "webhook", json: "webhookId"}, {flag: "reason", json: "reason"}},
	"webhook.enable":     {{flag: "webhook", json: "webhookId"}},
	"webhook.delete":     {{flag: "webhook", json: "webhookId"}},
	"webhook.list":       {{flag: "reseller", json: "resellerId"}, {flag: "limit", json: "limit", number: true}, {flag: "after", json: "after"}},
	"webhook.deliveries": {{flag: "webhook", json: "webhookId"}},
	"role.show":          {{flag: "role", json: "role"}},
	"credential.get":     {{flag: "credential", json: "credentialId"}, viewFormat},
	"credential.list":    {{flag: "reseller", json: "resellerId"}, {flag: "tenant", json: "tenantId"}, {flag: "role", json: "role"}, {flag: "status", json: "status"}, {flag: "limit", json: "limit", number: true}, {flag: "after", json: "after"}, viewFormat},
	"seat.authenticate":  {{flag: "license", json: "licenseId"}, {flag: "company", json: "endUserCompany"}, {flag: "user", json: "endUserName"}, viewFormat},
	"license.details": {{flag: "company", json: "endUserCompany"}, {flag: "user", json: "endUserName"},
		{flag: "reseller", json: "resellerId"}, {flag: "tenant", json: "tenantId"}, {flag: "product", json: "productId"},
		{flag: "plan", json: "planId"}, {flag: "status", json: "status"},
		{flag: "limit", json: "limit", number: true}, {flag: "after", json: "after"}, viewFormat},
	"audit.checkpoint": {{flag: "size", json: "size", number: true}},
	// audit inclusion is the raw answer; audit prove checks it. audit consistency is always checked.
	"audit.inclusion":   {{flag: "sequence", json: "sequence", number: true}, {flag: "event", json: "eventId"}, {flag: "tree-size", json: "treeSize", number: true}},
	"audit.consistency": {{flag: "from", json: "from", number: true}, {flag: "to", json: "to", number: true}},
	"audit.events": {{flag: "from", json: "from"}, {flag: "to", json: "to"}, {flag: "type", json: "type"},
		{flag: "subject", json: "subject"}, {flag: "reseller", json: "reseller"}, {flag: "limit", json: "limit", number: true}},
}

// expiresIn and expiresAt give a credential's expiry: a duration from now, or a time.
var (
	expiresIn = field{flag: "expires-in", json: "expiresAt", fromNow: true}
	expiresAt = field{flag: "expires-at", json: "expiresAt"}
)

// viewFormat asks a query for a view level (basic, standard, detail, expanded).
var viewFormat = field{flag: "format", json: "format"}

var adminProfile = []field{{flag: "first-name", json: "firstName"}, {flag: "last-name", json: "lastName"},
	{flag: "email", json: "emailAddress"}, {flag: "language", json: "language"}, {flag: "role", json: "role"},
	{flag: "password", json: "password"}, {flag: "profile", json: "userProfileType"}}

var licenseReason = []field{{flag: "license", json: "licenseId"}, {flag: "reason", json: "reason"}}

var isQuery = map[string]bool{"license.signing-keys": true, "tenant.get": true, "tenant.list": true, "admin.get": true, "admin.list": true,
	"product.list": true, "plan.list": true, "webhook.list": true, "webhook.deliveries": true, "audit.checkpoint": true, "audit.events": true, "audit.inclusion": true, "audit.consistency": true, "usage.quota": true, "usage.summary": true, "dashboard.show": true, "dashboard.history": true, "license.validate": true, "seat.authenticate": true, "license.details": true, "role.show": true,
	"credential.get": true, "credential.list": true}

// Every query takes --min-sequence: wait until the ledger reflects a command's sequence.
func init() {
	for name := range isQuery {
		requests[name] = append(requests[name], field{flag: "min-sequence", json: "minSequence", number: true})
	}
}

func runRequest(ctx context.Context, g global, name string, args []string, stdout, stderr io.Writer) error {
	fields, ok := requests[name]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", strings.Replace(name, ".", " ", 1), usage)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := make([]*string, len(fields))
	for i, f := range fields {
		values[i] = fs.String(f.flag, "", f.json)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	body := map[string]any{}
	for i, f := range fields {
		v := *values[i]
		if v == "" || f.local {
			continue
		}
		if f.fromNow {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("--%s: %q is not a positive duration (such as 720h or 90m)", f.flag, v)
			}
			body[f.json] = time.Now().Add(d).UTC().Format(time.RFC3339)
		} else if f.emptyObject {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("--%s: %q is neither true nor false", f.flag, v)
			}
			if _, set := body[f.json]; b && !set {
				body[f.json] = map[string]any{}
			}
		} else if f.pairs {
			obj := map[string]string{}
			for _, kv := range strings.Split(v, ",") {
				k, val, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--%s: %q is not name=value", f.flag, kv)
				}
				obj[strings.TrimSpace(k)] = strings.TrimSpace(val)
			}
			body[f.json] = obj
		} else if f.list {
			var items []string
			for _, item := range strings.Split(v, ",") {
				items = append(items, strings.TrimSpace(item))
			}
			body[f.json] = items
		} else if f.boolean {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("--%s: %q is neither true nor false", f.flag, v)
			}
			body[f.json] = b
		} else if f.number {
			var n json.Number
			if err := json.Unmarshal([]byte(v), &n); err != nil {
				return fmt.Errorf("--%s: %q is not a number", f.flag, v)
			}
			body[f.json] = n
		} else if parent, child, nested := strings.Cut(f.json, "."); nested {
			obj, _ := body[parent].(map[string]any)
			if obj == nil {
				obj = map[string]any{}
				body[parent] = obj
			}
			obj[child] = v
		} else {
			body[f.json] = v
		}
	}
	if g.token == "" && name != "license.validate" && name != "license.signing-keys" {
		// The ledger's NATS server would refuse the publish; say so now rather than time out.
		return needsToken(name + " (only license validate works without one)")
	}
	nc, err := g.connect("ledgerctl")
	if errors.Is(err, nats.ErrAuthorization) {
		return fmt.Errorf("connect %s: %w\nhint: the ledger admits a connection with a usable token (not disabled, revoked or rotated away), or with none for license validate; after 20 failed logins in a minute an address waits for the next minute", g.natsURL, err)
	}
	if err != nil {
		return fmt.Errorf("connect %s: %w", g.natsURL, err)
	}
	defer nc.Close()
	c := client.New(nc, g.token)
	c.Reseller, c.Partition = g.address, g.partition
	var raw []byte
	if isQuery[name] {
		raw, err = c.Request(ctx, c.Subject("q", name), body, "")
	} else {
		var r *client.CommandReply
		if r, err = c.Command(ctx, name, body, g.commandID); err == nil {
			raw = r.Raw
		}
	}
	if err != nil {
		var ce *client.Error
		if errors.Is(err, client.ErrNotPermitted) {
			return fmt.Errorf("%w\nhint: your credential's role may not send this at all (an auditor sends no commands); `ledgerctl role show --role <your role>` lists what it may do", err)
		}
		if errors.As(err, &ce) {
			// The wire names the field (endUserName); say the flag that sets it (--user) too.
			if flag := flagOf(fields, ce.Field); flag != "" {
				err = fmt.Errorf("%w, set by --%s", err, flag)
			}
			if hints[ce.Code] != "" {
				return fmt.Errorf("%w\nhint: %s", err, hints[ce.Code])
			}
		}
		return err
	}
	if name == "license.checkout" {
		if path := localValue(fields, values, "file"); path != "" {
			if err := saveLicenseFile(raw, path); err != nil {
				return err
			}
		}
	}
	return writeReply(stdout, raw, g.output)
}

// flagOf names the flag of fields that sets the wire field ("endUserName" -> "user"; a part of
// one, "access.licenses" -> "access"), "" if none does.
func flagOf(fields []field, wire string) string {
	for _, f := range fields {
		if wire != "" && !f.local && (f.json == wire || strings.HasPrefix(wire, f.json+".")) {
			return f.flag
		}
	}
	return ""
}

// localValue is the value of the local flag whose json names what, "" if not given.
func localValue(fields []field, values []*string, what string) string {
	for i, f := range fields {
		if f.local && f.json == what {
			return *values[i]
		}
	}
	return ""
}

// saveLicenseFile writes license.checkout's file (the reply's result.file) to path, for
// --save: the file an application ships with.
func saveLicenseFile(reply []byte, path string) error {
	var r struct {
		Result struct {
			File string `json:"file"`
		} `json:"result"`
	}
	if err := json.Unmarshal(reply, &r); err != nil || r.Result.File == "" {
		return fmt.Errorf("--save: the reply holds no license file")
	}
	return os.WriteFile(path, []byte(r.Result.File), 0o644)
}
