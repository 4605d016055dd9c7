package domain

import (
	"net/url"
	"slices"
	"time"
)

// Webhook is a partner's HTTP endpoint that receives the ledger's events as they happen (Standard
// Webhooks). A webhook of a reseller receives that reseller's events only; one without a reseller
// (the system's) receives every event. Delivery itself is an edge's (handlers/webhooks): the model
// keeps what a decision needs.
type Webhook struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	ResellerID string   `json:"resellerId,omitempty"`
	EventTypes []string `json:"eventTypes,omitempty"` // none: every type
	// SealedSecret is the signing secret sealed under the server's key (handlers); the wire
	// shows the secret once, at creation.
	SealedSecret string `json:"sealedSecret"`
	Enabled      bool   `json:"enabled"`
	// Reason says why a webhook is disabled: a caller's word, or the ledger's after repeated
	// failed deliveries.
	Reason string `json:"reason,omitempty"`
	// CreatedAt is when it was created: deliveries start with the events from then on.
	CreatedAt time.Time `json:"createdAt"`
}

// CodeWebhookNotFound refuses a command or query naming a webhook that does not exist (404).
const CodeWebhookNotFound Code = "WEBHOOK_NOT_FOUND"

// MaxWebhookURL bounds a webhook's URL.
const MaxWebhookURL = 2048

// Webhook commands. WebhookCreate's SealedSecret comes from the caller, who drew the secret and
// shows it once.
type (
	WebhookCreate struct {
		ID           string   `json:"id,omitempty"`
		URL          string   `json:"url"`
		ResellerID   string   `json:"resellerId,omitempty"`
		EventTypes   []string `json:"eventTypes,omitempty"`
		SealedSecret string   `json:"-"`
	}
	// WebhookUpdate changes the URL or the event types; a field left out stays.
	WebhookUpdate struct {
		WebhookID  string    `json:"webhookId"`
		URL        *string   `json:"url,omitempty"`
		EventTypes *[]string `json:"eventTypes,omitempty"`
	}
	// WebhookDisable pauses deliveries (the ledger sends it itself after repeated failures, with
	// a reason); WebhookEnable resumes them where they stopped.
	WebhookDisable struct {
		WebhookID string `json:"webhookId"`
		Reason    string `json:"reason,omitempty"`
	}
	WebhookEnable WebhookRef
	WebhookDelete WebhookRef
	WebhookRef    struct {
		WebhookID string `json:"webhookId"`
	}
)

func (WebhookCreate) CommandName() string  { return "webhook.create" }
func (WebhookUpdate) CommandName() string  { return "webhook.update" }
func (WebhookDisable) CommandName() string { return "webhook.disable" }
func (WebhookEnable) CommandName() string  { return "webhook.enable" }
func (WebhookDelete) CommandName() string  { return "webhook.delete" }

// Event types.
const (
	TypeWebhookCreated  = "webhook.created.v1"
	TypeWebhookUpdated  = "webhook.updated.v1"
	TypeWebhookDisabled = "webhook.disabled.v1"
	TypeWebhookEnabled  = "webhook.enabled.v1"
	TypeWebhookDeleted  = "webhook.deleted.v1"
)

// WebhookCreated records a new webhook, its secret sealed.
type WebhookCreated Webhook

// WebhookChanged is the data of the other webhook events.
type WebhookChanged struct {
	WebhookID  string    `json:"webhookId"`
	ResellerID string    `json:"resellerId,omitempty"`
	URL        *string   `json:"url,omitempty"`        // updated
	EventTypes *[]string `json:"eventTypes,omitempty"` // updated
	Reason     string    `json:"reason,omitempty"`     // disabled
}

// Webhook events after the first.
type (
	WebhookUpdated  WebhookChanged
	WebhookDisabled WebhookChanged
	WebhookEnabled  WebhookChanged
	WebhookDeleted  WebhookChanged
)

func (WebhookCreated) EventType() string  { return TypeWebhookCreated }
func (WebhookUpdated) EventType() string  { return TypeWebhookUpdated }
func (WebhookDisabled) EventType() string { return TypeWebhookDisabled }
func (WebhookEnabled) EventType() string  { return TypeWebhookEnabled }
func (WebhookDeleted) EventType() string  { return TypeWebhookDeleted }

func (e WebhookCreated) AggregateID() string  { return e.ID }
func (e WebhookUpdated) AggregateID() string  { return e.WebhookID }
func (e WebhookDisabled) AggregateID() string { return e.WebhookID }
func (e WebhookEnabled) AggregateID() string  { return e.WebhookID }
func (e WebhookDeleted) AggregateID() string  { return e.WebhookID }

func (e WebhookCreated) Stream() string  { return webhookStream(e.ID) }
func (e WebhookUpdated) Stream() string  { return webhookStream(e.WebhookID) }
func (e WebhookDisabled) Stream() string { return webhookStream(e.WebhookID) }
func (e WebhookEnabled) Stream() string  { return webhookStream(e.WebhookID) }
func (e WebhookDeleted) Stream() string  { return webhookStream(e.WebhookID) }

func (e WebhookCreated) Owner() (string, string)  { return e.ResellerID, "" }
func (e WebhookUpdated) Owner() (string, string)  { return e.ResellerID, "" }
func (e WebhookDisabled) Owner() (string, string) { return e.ResellerID, "" }
func (e WebhookEnabled) Owner() (string, string)  { return e.ResellerID, "" }
func (e WebhookDeleted) Owner() (string, string)  { return e.ResellerID, "" }

func webhookStream(id string) string { return "webhook/" + id }

// WebhookPlace is where a webhook sits: its reseller's, or the system's.
func WebhookPlace(resellerID string) Place {
	if resellerID == "" {
		return Place{System: true}
	}
	return Place{ResellerID: resellerID}
}

// checkWebhookURL accepts an absolute http or https URL without credentials in it. Which hosts a
// deployment lets webhooks reach (loopback, private networks) is the edge's to check, at
// creation and at each delivery.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "" || len(raw) > MaxWebhookURL:
		return Errorf(CodeInvalidArgument, "url", "must be 1 to %d characters", MaxWebhookURL)
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return Errorf(CodeInvalidArgument, "url", "must be an absolute https:// (or http://) URL")
	case u.User != nil:
		return Errorf(CodeInvalidArgument, "url", "must not carry a user or password: the signature authenticates the ledger")
	case u.Fragment != "":
		return Errorf(CodeInvalidArgument, "url", "must not have a fragment")
	}
	return nil
}

// checkEventTypes accepts known event types, each once.
func checkEventTypes(types []string) error {
	for i, t := range types {
		if !slices.Contains(EventTypes, t) {
			return Errorf(CodeInvalidArgument, "eventTypes", "unknown event type %q (the types are the schemas/events/ files' names)", t)
		}
		if slices.Contains(types[:i], t) {
			return Errorf(CodeInvalidArgument, "eventTypes", "%q is given twice", t)
		}
	}
	return nil
}

func (s *State) decideWebhook(now time.Time, c Command) ([]Event, error) {
	if c, ok := c.(WebhookCreate); ok {
		return s.decideWebhookCreate(now, c)
	}
	id := webhookOf(c)
	if err := checkID("webhookId", id); err != nil {
		return nil, err
	}
	w, ok := s.Webhooks[id]
	if !ok {
		return nil, Errorf(CodeWebhookNotFound, "webhookId", "webhook %q does not exist", id)
	}
	ch := WebhookChanged{WebhookID: w.ID, ResellerID: w.ResellerID}
	switch c := c.(type) {
	case WebhookUpdate:
		if c.URL == nil && c.EventTypes == nil {
			return nil, Errorf(CodeInvalidArgument, "url", "nothing to change: give url or eventTypes")
		}
		if c.URL != nil {
			if err := checkWebhookURL(*c.URL); err != nil {
				return nil, err
			}
		}
		if c.EventTypes != nil {
			if err := checkEventTypes(*c.EventTypes); err != nil {
				return nil, err
			}
		}
		ch.URL, ch.EventTypes = c.URL, c.EventTypes
		return []Event{WebhookUpdated(ch)}, nil
	case WebhookDisable:
		if !w.Enabled {
			return nil, nil // already paused: nothing changes
		}
		if c.Reason != "" {
			if err := checkText("reason", c.Reason); err != nil {
				return nil, err
			}
		}
		ch.Reason = c.Reason
		return []Event{WebhookDisabled(ch)}, nil
	case WebhookEnable:
		if w.Enabled {
			return nil, nil
		}
		return []Event{WebhookEnabled(ch)}, nil
	case WebhookDelete:
		return []Event{WebhookDeleted(ch)}, nil
	}
	return nil, Errorf(CodeInvalidArgument, "", "unknown webhook command %T", c)
}

func (s *State) decideWebhookCreate(now time.Time, c WebhookCreate) ([]Event, error) {
	if err := checkID("id", c.ID); err != nil {
		return nil, err
	}
	if err := checkWebhookURL(c.URL); err != nil {
		return nil, err
	}
	if err := checkEventTypes(c.EventTypes); err != nil {
		return nil, err
	}
	if c.SealedSecret == "" {
		return nil, Errorf(CodeInvalidArgument, "", "a webhook needs a signing secret")
	}
	if c.ResellerID != "" {
		if _, ok := s.Resellers[c.ResellerID]; !ok {
			return nil, Errorf(CodeResellerNotFound, "resellerId", "reseller %q does not exist", c.ResellerID)
		}
	}
	if _, ok := s.Webhooks[c.ID]; ok {
		return nil, Errorf(CodeAlreadyExists, "id", "webhook %q already exists", c.ID)
	}
	return []Event{WebhookCreated{ID: c.ID, URL: c.URL, ResellerID: c.ResellerID, EventTypes: c.EventTypes,
		SealedSecret: c.SealedSecret, Enabled: true, CreatedAt: now.UTC()}}, nil
}

// applyWebhook applies one webhook event.
func (s *State) applyWebhook(e Event) {
	switch e := e.(type) {
	case WebhookCreated:
		w := Webhook(e)
		w.EventTypes = slices.Clone(w.EventTypes)
		s.Webhooks[w.ID] = &w
		return
	case WebhookDeleted:
		delete(s.Webhooks, e.WebhookID)
		return
	}
	w := s.Webhooks[e.AggregateID()]
	switch e := e.(type) {
	case WebhookUpdated:
		if e.URL != nil {
			w.URL = *e.URL
		}
		if e.EventTypes != nil {
			w.EventTypes = slices.Clone(*e.EventTypes)
		}
	case WebhookDisabled:
		w.Enabled, w.Reason = false, e.Reason
	case WebhookEnabled:
		w.Enabled, w.Reason = true, ""
	}
}

// Wants reports whether the webhook receives an event of type typ (its reseller's, which the
// delivery's subject filter already holds it to).
func (w *Webhook) Wants(typ string) bool {
	return len(w.EventTypes) == 0 || slices.Contains(w.EventTypes, typ)
}

// webhookOf names the webhook a command acts on ("" for none).
func webhookOf(cmd Command) string {
	switch c := cmd.(type) {
	case WebhookUpdate:
		return c.WebhookID
	case WebhookDisable:
		return c.WebhookID
	case WebhookEnable:
		return c.WebhookID
	case WebhookDelete:
		return c.WebhookID
	}
	return ""
}
