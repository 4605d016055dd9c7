package handlers

import (
	"reflect"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// Endpoint is one endpoint of the wire contract as the outside sees it: its name and subject,
// and the Go types its body decodes into and its reply's result encodes from. Its schemas are
// generated from those types (RequestSchema, ReplySchema) and kept in package schemas, where a
// test holds them equal.
type Endpoint struct {
	Name    string // "seat.register"
	Kind    string // schemas.Command or schemas.Query
	Subject string
	Request reflect.Type
	Result  reflect.Type
	// Open is whether it needs no token (license.validate, license.signing-keys, admin.login).
	Open bool
	// MaxPayload is the endpoint's own limit on a request body, which the edges apply instead of
	// their per-request limit when it is larger (batch.submit's); 0: none of its own.
	MaxPayload int
}

// Endpoints lists every command, then every query, each in name order.
func Endpoints() []Endpoint {
	var out []Endpoint
	for _, name := range CommandNames() {
		s := commands[name]
		e := Endpoint{Name: name, Kind: schemas.Command, Subject: wire.CommandPrefix + name, Request: s.request, Result: s.result,
			Open: name == domain.AdminLoginOp}
		if name == domain.BatchSubmit {
			e.MaxPayload = MaxBatchPayload
		}
		out = append(out, e)
	}
	for _, name := range QueryNames() {
		s := queries[name]
		out = append(out, Endpoint{Name: name, Kind: schemas.Query, Subject: wire.QueryPrefix + name, Request: s.request, Result: s.result,
			Open: anonymous[name]})
	}
	return out
}

// RequestSchema is the JSON Schema of the endpoint's request body.
func (e Endpoint) RequestSchema() map[string]any {
	s := schemas.Of(e.Request)
	s["$schema"], s["$id"], s["title"] = schemas.Draft, schemas.RequestURL(e.Kind, e.Name), e.Name+" request"
	return s
}

// ReplySchema is the JSON Schema of the endpoint's successful reply: a command's
// {result, events, version, sequence}, a query's {result, sequence}.
func (e Endpoint) ReplySchema() map[string]any {
	var s map[string]any
	if e.Kind == schemas.Command {
		s = schemas.Of(reflect.TypeFor[commandReply]())
	} else {
		s = schemas.Of(reflect.TypeFor[queryReply]())
	}
	s["properties"].(map[string]any)["result"] = schemas.Of(e.Result)
	s["$schema"], s["$id"], s["title"] = schemas.Draft, schemas.ReplyURL(e.Kind, e.Name), e.Name+" reply"
	return s
}

// ErrorSchema is the JSON Schema of every refusal's body.
func ErrorSchema() map[string]any {
	s := schemas.Of(reflect.TypeFor[wireError]())
	s["$schema"], s["$id"], s["title"] = schemas.Draft, schemas.ErrorURL, "error reply"
	return s
}
