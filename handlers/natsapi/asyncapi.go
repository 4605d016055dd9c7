package natsapi

import (
	"strings"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/handlers"
	"github.com/licledger/licledger/schemas"
	"github.com/licledger/licledger/wire"
)

// AsyncAPI is the AsyncAPI 3.0 description of the NATS contract, generated like the OpenAPI
// document (httpapi.OpenAPI) from the endpoint table, the event types and the schema files: every
// request/reply subject in its three forms (plain, addressed to a reseller, straight to a
// partition), the headers, the replies and the refusal, and the event subjects with each event
// type's payload. schemas_test keeps the committed schemas/asyncapi.json equal to it.
func AsyncAPI() (map[string]any, error) {
	schemaRefs := schemas.Components{}
	component := schemaRefs.Ref
	messages, channels, operations := map[string]any{}, map[string]any{}, map[string]any{}
	errorPayload, err := component("error.json")
	if err != nil {
		return nil, err
	}
	messages["error"] = map[string]any{"name": "error", "title": "a refusal",
		"summary": "the error body; its status is also the micro error header (Nats-Service-Error-Code)", "payload": errorPayload}
	replies := map[string]any{"error": map[string]any{"$ref": "#/components/messages/error"}}

	for _, e := range handlers.Endpoints() {
		request, err := component(schemas.RequestPath(e.Kind, e.Name))
		if err != nil {
			return nil, err
		}
		reply, err := component(schemas.ReplyPath(e.Kind, e.Name))
		if err != nil {
			return nil, err
		}
		headers := "#/components/schemas/queryHeaders"
		prefix, kind := wire.QueryPrefix, "q"
		if e.Kind == schemas.Command {
			headers, prefix, kind = "#/components/schemas/commandHeaders", wire.CommandPrefix, "cmd"
		}
		messages[e.Name+".request"] = map[string]any{"name": e.Name + ".request", "title": e.Kind + " " + e.Name,
			"payload": request, "headers": map[string]any{"$ref": headers}}
		messages[e.Name+".reply"] = map[string]any{"name": e.Name + ".reply", "title": e.Name + " reply", "payload": reply}
		replies[e.Name+".reply"] = map[string]any{"$ref": "#/components/messages/" + e.Name + ".reply"}

		for _, form := range []struct{ suffix, address, description string }{
			{"", prefix + e.Name, "unaddressed"},
			{".addressed", prefix + e.Name + ".{resellerId}", "addressed to one reseller's data: the form a ledger partitioned by reseller routes"},
			{".partition", wire.PartitionRoot + "{partition}." + kind + "." + e.Name + ".{resellerId}",
				"where a partitioned cluster's subject mapping sends the addressed form; a request may go straight here (the partition checks it owns the reseller)"},
		} {
			channel := map[string]any{"address": form.address, "description": form.description,
				"messages": map[string]any{"request": map[string]any{"$ref": "#/components/messages/" + e.Name + ".request"}}}
			params := map[string]any{}
			if strings.Contains(form.address, "{resellerId}") {
				params["resellerId"] = map[string]any{"description": "the reseller whose data the request touches (_ for the system's)"}
			}
			if strings.Contains(form.address, "{partition}") {
				params["partition"] = map[string]any{"description": "the partition's index, 0 to --partitions - 1"}
			}
			if len(params) > 0 {
				channel["parameters"] = params
			}
			id := e.Name + form.suffix
			channels[id] = channel
			op := map[string]any{"action": "send", "channel": map[string]any{"$ref": "#/channels/" + id},
				"summary":  e.Kind + " " + e.Name + " (" + form.description + ")",
				"messages": []any{map[string]any{"$ref": "#/channels/" + id + "/messages/request"}},
				"reply": map[string]any{"channel": map[string]any{"$ref": "#/channels/replies"}, "messages": []any{
					map[string]any{"$ref": "#/channels/replies/messages/" + e.Name + ".reply"},
					map[string]any{"$ref": "#/channels/replies/messages/error"},
				}}}
			if e.Open {
				op["security"] = []any{}
			}
			operations[id] = op
		}
	}
	channels["replies"] = map[string]any{"address": nil, "messages": replies,
		"description": "the requester's inbox: under the inbox prefix given with its token (credential.issue, credential.rotate, admin.login), the only subjects a partner may read replies on"}

	envelope, err := component("envelope.v1.json")
	if err != nil {
		return nil, err
	}
	eventMessages := map[string]any{}
	for _, typ := range domain.EventTypes {
		data, err := component(schemas.EventPath(typ))
		if err != nil {
			return nil, err
		}
		messages["event."+typ] = map[string]any{"name": typ, "title": "event " + typ, "contentType": "application/cloudevents+json",
			"payload": map[string]any{"allOf": []any{envelope, map[string]any{"type": "object",
				"properties": map[string]any{"type": map[string]any{"const": typ}, "data": data}}}}}
		eventMessages[typ] = map[string]any{"$ref": "#/components/messages/event." + typ}
	}
	eventParams := map[string]any{
		"reseller":  map[string]any{"description": "the reseller the event belongs to (_ for the system's: products, plans, system credentials)"},
		"aggregate": map[string]any{"description": "the id of the aggregate the event changed"},
		"type":      map[string]any{"description": "the event type, such as seat.registered.v1"},
	}
	partitionParams := map[string]any{"partition": map[string]any{"description": "the partition's index"}}
	for k, v := range eventParams {
		partitionParams[k] = v
	}
	for id, c := range map[string]struct {
		address string
		params  map[string]any
	}{
		"events":           {wire.EventPrefix + "{reseller}.{aggregate}.{type}", eventParams},
		"events.partition": {wire.PartitionRoot + "{partition}.evt.{reseller}.{aggregate}.{type}", partitionParams},
	} {
		channels[id] = map[string]any{"address": c.address, "parameters": c.params, "messages": eventMessages,
			"description": "every accepted change, in log order, as CloudEvents (stream " + wire.EventStream + ", stream sequence = ledger sequence); only the ledger publishes here"}
		var refs []any
		for _, typ := range domain.EventTypes {
			refs = append(refs, map[string]any{"$ref": "#/channels/" + id + "/messages/" + typ})
		}
		operations["receive."+id] = map[string]any{"action": "receive", "channel": map[string]any{"$ref": "#/channels/" + id},
			"summary": "follow the ledger's events (a consumer on the stream)", "messages": refs}
	}

	schemaRefs["commandHeaders"] = headerSchema(true)
	schemaRefs["queryHeaders"] = headerSchema(false)
	return map[string]any{
		"asyncapi": "3.0.0",
		"info": map[string]any{
			"title":   "licledger",
			"version": "v1",
			"description": "The NATS wire contract: commands and queries as request/reply, and the event stream. The same " +
				"endpoints are served over HTTP (openapi.json). docs/WIRE.md has the whole contract.",
		},
		"defaultContentType": "application/json",
		"servers": map[string]any{"embedded": map[string]any{
			"host": "127.0.0.1:4222", "protocol": "nats", "description": "make run's embedded server (tls with --tls-cert)",
			"security": []any{map[string]any{"$ref": "#/components/securitySchemes/token"}},
		}},
		"channels":   channels,
		"operations": operations,
		"components": map[string]any{
			"schemas":  schemaRefs,
			"messages": messages,
			"securitySchemes": map[string]any{"token": map[string]any{"type": "apiKey", "in": "password",
				"description": "a credential's token as the connection's token, with replies read under its inbox prefix; each request carries it again in its Authorization header"}},
		},
	}, nil
}

// headerSchema is the headers a request may carry: the token, the trace context, and for a
// command its id.
func headerSchema(command bool) map[string]any {
	props := map[string]any{
		wire.HeaderAuthorization: map[string]any{"type": "string", "pattern": "^Bearer ", "description": "Bearer <token>; none for the open endpoints"},
		wire.HeaderTraceParent:   map[string]any{"type": "string", "description": "W3C trace context, kept as the events' correlation id"},
	}
	if command {
		props[wire.HeaderMsgID] = map[string]any{"type": "string", "maxLength": 128,
			"description": "the command id: a retry gets the first reply; the id with another body is COMMAND_ID_REUSED"}
	}
	return map[string]any{"type": "object", "properties": props}
}
