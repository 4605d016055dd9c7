package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/schemas"
)

// OpenAPI is the OpenAPI 3.1 description of the HTTP API (API), generated from the endpoint
// table (handlers.Endpoints) and the schema files, whose JSON Schema 2020-12 OpenAPI 3.1 reads
// natively: each request and reply schema is the embedded file itself, put under
// components/schemas, so the document cannot say anything the schemas do not. schemas_test keeps
// the committed schemas/openapi.json equal to it (go test ./schemas -rewrite), and ledgerd serves
// that file at /openapi.json.
func OpenAPI() (map[string]any, error) {
	components := schemas.Components{}
	component := components.Ref
	errorRef, err := component("error.json")
	if err != nil {
		return nil, err
	}
	responses := map[string]any{}
	for status, why := range errorStatuses {
		responses[status] = map[string]any{"description": why,
			"content": map[string]any{"application/json": map[string]any{"schema": errorRef}}}
	}

	paths := map[string]any{}
	for _, e := range handlers.Endpoints() {
		request, err := component(schemas.RequestPath(e.Kind, e.Name))
		if err != nil {
			return nil, err
		}
		reply, err := component(schemas.ReplyPath(e.Kind, e.Name))
		if err != nil {
			return nil, err
		}
		example, err := schemas.Example(e.Kind, e.Name)
		if err != nil {
			return nil, err
		}
		var ex any
		if err := json.Unmarshal(example, &ex); err != nil {
			return nil, fmt.Errorf("example of %s: %w", e.Name, err)
		}
		op := func(id, summary string) map[string]any {
			o := map[string]any{
				"operationId": id, "summary": summary, "tags": []string{tagOf(e.Name)},
				"responses":      operationResponses(e, reply),
				"x-nats-subject": e.Subject,
			}
			if e.Open {
				// No token needed; one may be sent (license.validate answers by its scope then).
				o["security"] = []any{map[string]any{}, map[string]any{"bearer": []any{}}}
			}
			return o
		}
		body := map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": request, "example": ex}}}
		id := strings.ReplaceAll(strings.ReplaceAll(e.Name, ".", "_"), "-", "_")
		item := map[string]any{}
		if e.Kind == schemas.Command {
			post := op(id, "command "+e.Name)
			post["requestBody"] = body
			post["parameters"] = []any{map[string]any{"$ref": "#/components/parameters/IdempotencyKey"}}
			item["post"] = post
		} else {
			get := op(id, "query "+e.Name+", its fields as URL parameters")
			get["parameters"], err = queryParameters(schemas.RequestPath(e.Kind, e.Name))
			if err != nil {
				return nil, err
			}
			item["get"] = get
			post := op(id+"_post", "query "+e.Name+", its fields in a JSON body")
			post["requestBody"] = body
			item["post"] = post
		}
		paths["/v1/"+e.Name] = item
	}

	// What the ledger sends to a partner's webhook (OpenAPI 3.1's webhooks): each event's
	// envelope, signed.
	envelope, err := component("envelope.v1.json")
	if err != nil {
		return nil, err
	}
	header := func(name, description string) map[string]any {
		return map[string]any{"name": name, "in": "header", "required": true, "description": description, "schema": map[string]any{"type": "string"}}
	}
	webhooks := map[string]any{"event": map[string]any{"post": map[string]any{
		"operationId": "webhook_event", "tags": []string{"webhook"},
		"summary":  "one ledger event, delivered to a webhook (webhook.create), at least once and in log order",
		"security": []any{},
		"parameters": []any{
			header("webhook-id", "the event's id, the same on every retry"),
			header("webhook-timestamp", "when this attempt was signed, in Unix seconds"),
			header("webhook-signature", "v1, and the base64 of HMAC-SHA256 over <webhook-id>.<webhook-timestamp>.<body>, keyed with the secret's bytes (Standard Webhooks)"),
		},
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": envelope}}},
		"responses": map[string]any{
			"2XX":     map[string]any{"description": "delivered"},
			"default": map[string]any{"description": "not delivered: retried with backoff, the webhook paused after repeated failure"},
		},
	}}}

	var tags []any
	for _, t := range tagNames() {
		tags = append(tags, map[string]any{"name": t, "description": tagDescriptions[t]})
	}
	return map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": schemas.Draft,
		"info": map[string]any{
			"title":   "licledger",
			"version": "v1",
			"summary": "An event-sourced software-license ledger: partners, licenses, seats, machines and API logins.",
			"description": "Every command and query of the wire contract, over HTTP. The same endpoints are served " +
				"over NATS (asyncapi.json); the bodies, replies and error codes are the same. A command's " +
				"Idempotency-Key header is its command id. docs/WIRE.md has the whole contract.",
		},
		"servers":  []any{map[string]any{"url": "http://127.0.0.1:8080", "description": "make run (use https:// with --tls-cert)"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"tags":     tags,
		"paths":    paths,
		"webhooks": webhooks,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "a credential's token (credential.issue, credential.rotate, admin.login)"}},
			"parameters": map[string]any{"IdempotencyKey": map[string]any{
				"name": HeaderIdempotencyKey, "in": "header", "required": false,
				"description": "the command id: a retry with the same key gets the first reply back byte for byte; the same key with another body is 409 COMMAND_ID_REUSED",
				"schema":      map[string]any{"type": "string", "maxLength": 128},
			}},
			"responses": responses,
			"schemas":   components,
		},
	}, nil
}

// errorStatuses are the refusals any endpoint may answer, with what each means; the error body's
// code says which (docs/WIRE.md, "Error codes").
var errorStatuses = map[string]string{
	"400": "the request is malformed or breaks a rule (INVALID_ARGUMENT, SCHEMA_VIOLATION, …)",
	"401": "no token, an unknown one, or an expired one (UNAUTHENTICATED, TOKEN_EXPIRED, LOGIN_FAILED)",
	"403": "the role or scope does not allow it (FORBIDDEN, OUT_OF_SCOPE, ROLE_ESCALATION, …)",
	"404": "what it names does not exist, or lies outside the caller's scope (*_NOT_FOUND)",
	"409": "an id already taken, a stale expected version, or an Idempotency-Key reused with another body",
	"413": "the body is over the limit (PAYLOAD_TOO_LARGE)",
	"422": "the state does not allow it (QUOTA_EXCEEDED, LICENSE_TERMINATED, …)",
	"429": "too many failed authentications (RATE_LIMITED)",
	"503": "overloaded or not ready; retry (OVERLOADED, UNAVAILABLE, …)",
}

// operationResponses are an operation's replies: its own on success, the shared refusals.
func operationResponses(e handlers.Endpoint, reply map[string]any) map[string]any {
	out := map[string]any{"200": map[string]any{"description": e.Name + " reply",
		"content": map[string]any{"application/json": map[string]any{"schema": reply}}}}
	for status := range errorStatuses {
		if status == "409" && e.Kind != schemas.Command || status == "422" && e.Kind != schemas.Command {
			continue
		}
		out[status] = map[string]any{"$ref": "#/components/responses/" + status}
	}
	return out
}

// queryParameters are a query's fields as URL parameters, each with its schema.
func queryParameters(path string) ([]any, error) {
	raw, err := schemas.Read(path)
	if err != nil {
		return nil, err
	}
	var s struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	var out []any
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		out = append(out, map[string]any{"name": name, "in": "query", "required": slices.Contains(s.Required, name),
			"schema": s.Properties[name]})
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// tagDescriptions say what each group of endpoints is about (TestAPIDocumentsMatchTheEndpoints
// fails for a group without one).
var tagDescriptions = map[string]string{
	"admin":       "APIO's reseller admins, their queries and their logins",
	"audit":       "the Merkle tree of the log: signed checkpoints, inclusion and consistency proofs, the events",
	"batch":       "many commands in one request, each decided as if sent alone",
	"credential":  "API logins (Partner Central) and API users (the ERP): tokens, roles, scopes, view levels",
	"dashboard":   "what a reseller's dashboard shows",
	"entitlement": "features a license grants (Keygen)",
	"license":     "licenses and their life, validation, signed license files",
	"machine":     "machine activations and floating heartbeats",
	"plan":        "a product's plans (Keygen's policies): seats, machines, duration, tier",
	"product":     "the catalogue's products",
	"reseller":    "partners",
	"role":        "what a role may do",
	"seat":        "end users registered against a license's quota (DBSync)",
	"tenant":      "a reseller's customers",
	"usage":       "quotas and their use",
	"webhook":     "partners' endpoints that receive their events, signed (Standard Webhooks)",
}

// tagOf groups an endpoint by what it acts on: "seat.register" -> "seat".
func tagOf(name string) string { return strings.SplitN(name, ".", 2)[0] }

// tagNames lists every tag, sorted.
func tagNames() []string {
	seen := map[string]bool{}
	for _, e := range handlers.Endpoints() {
		seen[tagOf(e.Name)] = true
	}
	return slices.Sorted(maps.Keys(seen))
}
