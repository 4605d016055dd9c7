package main

import "fmt"

// tokenHint says where ledgerctl looks for a token.
const tokenHint = "pass --token, set LICLEDGER_TOKEN, or run from the directory holding data/bootstrap-admin.token"

// needsToken is the error for a request made without a token that needs one.
func needsToken(what string) error {
	return fmt.Errorf("%s needs a token\nhint: %s", what, tokenHint)
}

// hints say, per error code, what a person at the terminal can do about it. A test keeps one
// for every code the ledger answers with.
var hints = map[string]string{
	"INVALID_ARGUMENT":               "fix the value of the field named (ledgerctl help lists each command's flags)",
	"MALFORMED_JSON":                 "the request is not JSON; check quoting in --flags and bodies",
	"SEQUENCE_NOT_REFLECTED":         "the ledger has not reached that sequence yet: retry, or check that --min-sequence is a sequence this ledger wrote",
	"SCHEMA_VIOLATION":               "the body has a field the endpoint does not know, or a value of the wrong type; the endpoint's schema (ledgerd serves it at /schemas/) lists each field",
	"FIELD_NOT_ALLOWED":              "that attribute is read-only or not allowed here; leave it out",
	"CANNOT_DELETE_YOURSELF":         "delete this admin with another admin's credential",
	"WEBHOOK_NOT_FOUND":              "check the id: webhook list shows the webhooks the token reaches",
	"LOGIN_FAILED":                   "check the username and password (admin update --password sets one); repeated failures are refused for a while",
	"UNAUTHENTICATED":                tokenHint + "; a disabled, revoked or rotated token no longer works",
	"FORBIDDEN":                      "your role may not do this, or not at this --format; `ledgerctl role show --role <your role>` lists what it may do",
	"OUT_OF_SCOPE":                   "the object lies outside your credential's scope; use a credential whose scope covers it",
	"ROLE_ESCALATION":                "you may issue and manage only credentials whose role can do no more than yours (nor than the profile of the admin they act for)",
	"ACCESS_ESCALATION":              "a credential you issue or manage may see no resource at a higher --format than yours; leave --access out to pass on your own caps",
	"EXPIRY_ESCALATION":              "a credential you issue or manage may not outlive yours; give an earlier --expires-in, or leave it out to pass on your own expiry",
	"LEVEL_ESCALATION":               "nobody creates, changes or manages an admin above their own level (tenant-admin < reseller-admin < system-admin)",
	"ACTS_FOR_ANOTHER_ADMIN":         "only a role that manages admins may issue or manage a credential acting for another admin (--scope-user)",
	"SCOPE_MISMATCH":                 "the scope's fields must lie inside one another: a license of that tenant, an admin of that reseller (and tenant)",
	"TOKEN_EXPIRED":                  "the credential's expiresAt has passed; ask whoever issued it for a new one",
	"PROTECTED":                      "only an admin or the product that owns the license may do this on a protected license",
	"ROLE_NOT_FOUND":                 "the roles are listed in docs/WIRE.md (Keygen's, Partner Central's, APIO's and the auditor)",
	"RESELLER_NOT_FOUND":             "check the reseller id (objects outside your scope answer not found too)",
	"TENANT_NOT_FOUND":               "check the tenant id (objects outside your scope answer not found too)",
	"PRODUCT_NOT_FOUND":              "check the product id",
	"PLAN_NOT_FOUND":                 "check the plan id",
	"LICENSE_NOT_FOUND":              "check the license id (licenses outside your scope answer not found too)",
	"SEAT_NOT_FOUND":                 "that user holds no seat on the license; `ledgerctl license details --company C --user U` shows where they do",
	"MACHINE_NOT_FOUND":              "no machine with that fingerprint is activated on the license",
	"ADMIN_NOT_FOUND":                "check the username",
	"CREDENTIAL_NOT_FOUND":           "check the credential id; `ledgerctl credential list` shows those you may see",
	"QUERY_NOT_FOUND":                "no such query; `ledgerctl help` lists them",
	"ALREADY_EXISTS":                 "that id is taken: pick another, or leave --id out for a fresh one",
	"WRONG_EXPECTED_VERSION":         "the object changed in the meantime; read it again and retry",
	"COMMAND_ID_REUSED":              "that --command-id was used for a different request; use a new one",
	"MISADDRESSED":                   "the command changes other data than its subject's reseller owns: address it to the reseller whose data it changes, or send system-wide commands unaddressed",
	"COMMAND_ALREADY_APPLIED":        "that --command-id was applied before the ledger was restored from its stream; query the result instead of retrying",
	"PAYLOAD_TOO_LARGE":              "the request is over the ledger's --max-payload; send less",
	"TENANT_NOT_OF_RESELLER":         "the tenant belongs to another reseller; pass that reseller, or another tenant",
	"LICENSE_NOT_ACTIVE":             "the license is suspended, expired or terminated; reinstate or renew it first",
	"LICENSE_EXPIRED":                "the license's term is over; `ledgerctl license renew` starts a new one",
	"LICENSE_TERMINATED":             "a terminated license never comes back; create a new one",
	"LICENSE_NOT_SUSPENDED":          "only a suspended license can be reinstated",
	"LICENSE_PERPETUAL":              "a perpetual license has no term to renew or expire",
	"QUOTA_EXCEEDED":                 "every seat of this quota period is consumed (unregistering frees none before the period ends): raise the quota (license set-quota, license upgrade) or wait for the next period",
	"ENTITLEMENT_NOT_FOUND":          "define it first: ledgerctl entitlement create --code C --name N [--product P]",
	"ENTITLEMENT_OF_ANOTHER_PRODUCT": "that entitlement belongs to another product; attach it to that product's plans and licenses only",
	"PLAN_OF_ANOTHER_PRODUCT":        "upgrades and downgrades stay within the license's product; pick a plan of that product",
	"NOT_AN_UPGRADE":                 "an upgrade needs a plan with a higher tier; use license downgrade for a lower one",
	"NOT_A_DOWNGRADE":                "a downgrade needs a plan with a lower tier; use license upgrade for a higher one",
	"TOO_MANY_MACHINES":              "the license's machine limit is reached; deactivate a machine first",
	"CREDENTIAL_REVOKED":             "a revoked credential never changes again; issue a new one",
	"RATE_LIMITED":                   "too many failed logins from here or with this token; wait as long as the message says, then retry with a good token",
	"OVERLOADED":                     "the ledger is at capacity; retry in a moment with the same --command-id (it will not apply twice)",
	"UNAVAILABLE":                    "the ledger is starting or stopping; retry in a moment with the same --command-id",
	"EVENT_NOT_FOUND":                "no event with that sequence or id; `ledgerctl audit events --from N` lists the log",
	"NOT_YET_CHECKPOINTED":           "no signed checkpoint covers that yet; ledgerd signs one every 10 s or 10,000 events: retry in a moment",
	"INTERNAL":                       "a fault in the ledger, not in your request; its log has the details",
}
