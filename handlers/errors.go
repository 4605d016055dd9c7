package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Codes the handlers add to the domain's.
const (
	CodeMalformedJSON        domain.Code = "MALFORMED_JSON"
	CodeSchemaViolation      domain.Code = "SCHEMA_VIOLATION"
	CodeUnauthenticated      domain.Code = "UNAUTHENTICATED"
	CodeTokenExpired         domain.Code = "TOKEN_EXPIRED" // 401: the credential's expiresAt has passed
	CodeForbidden            domain.Code = "FORBIDDEN"
	CodeRoleNotFound         domain.Code = "ROLE_NOT_FOUND"
	CodePayloadTooLarge      domain.Code = "PAYLOAD_TOO_LARGE"
	CodeWrongExpectedVersion domain.Code = "WRONG_EXPECTED_VERSION"
	CodeCommandIDReused      domain.Code = "COMMAND_ID_REUSED"
	CodeCommandRestored      domain.Code = "COMMAND_ALREADY_APPLIED"
	CodeMisaddressed         domain.Code = "MISADDRESSED"
	CodeOverloaded           domain.Code = "OVERLOADED"
	CodeUnavailable          domain.Code = "UNAVAILABLE"
	CodeInternal             domain.Code = "INTERNAL"
	CodeRateLimited          domain.Code = "RATE_LIMITED"
	CodeQueryNotFound        domain.Code = "QUERY_NOT_FOUND" // an HTTP path that names no query
)

// Codes lists every code a reply may carry: the domain's and the handlers' own.
func Codes() []domain.Code {
	return append([]domain.Code{CodeMalformedJSON, CodeSchemaViolation, CodeUnauthenticated, CodeTokenExpired, CodeForbidden, CodeRoleNotFound,
		CodePayloadTooLarge, CodeWrongExpectedVersion, CodeCommandIDReused, CodeCommandRestored, CodeMisaddressed, CodeOverloaded, CodeUnavailable,
		CodeInternal, CodeRateLimited, CodeQueryNotFound, CodeSequenceNotReflected, CodeEventNotFound, CodeNotYetCheckpointed}, domain.Codes...)
}

// statusOf is the one place a code becomes a wire status.
func statusOf(c domain.Code) int {
	switch c {
	case domain.CodeInvalidArgument, CodeMalformedJSON, CodeSchemaViolation, domain.CodeFieldNotAllowed, domain.CodeCannotDeleteYourself, CodeMisaddressed:
		return 400
	case CodeUnauthenticated, CodeTokenExpired, domain.CodeLoginFailed:
		return 401
	case CodeForbidden, domain.CodeOutOfScope, domain.CodeRoleEscalation, domain.CodeProtected,
		domain.CodeAccessEscalation, domain.CodeExpiryEscalation, domain.CodeLevelEscalation, domain.CodeActsForAnother:
		return 403
	case domain.CodeResellerNotFound, domain.CodeTenantNotFound, domain.CodeProductNotFound,
		domain.CodePlanNotFound, domain.CodeLicenseNotFound, domain.CodeSeatNotFound, CodeRoleNotFound, domain.CodeMachineNotFound, domain.CodeAdminNotFound, domain.CodeCredentialNotFound, domain.CodeWebhookNotFound, CodeQueryNotFound, CodeEventNotFound, domain.CodeEntitlementNotFound:
		return 404
	case domain.CodeAlreadyExists, CodeWrongExpectedVersion, CodeCommandIDReused, CodeCommandRestored:
		return 409
	case CodePayloadTooLarge:
		return 413
	case domain.CodeTenantMismatch, domain.CodeScopeMismatch, domain.CodeLicenseNotActive, domain.CodeLicenseExpired, domain.CodeQuotaExceeded,
		domain.CodeLicenseTerminated, domain.CodeLicenseNotSuspended, domain.CodeLicensePerpetual,
		domain.CodePlanOfAnotherProduct, domain.CodeEntitlementOfAnotherProduct, domain.CodeNotAnUpgrade, domain.CodeNotADowngrade, domain.CodeTooManyMachines, domain.CodeCredentialRevoked:
		return 422
	case CodeRateLimited:
		return 429
	case CodeOverloaded, CodeUnavailable, CodeSequenceNotReflected, CodeNotYetCheckpointed:
		return 503
	}
	return 500
}

// asCoded turns any error into a coded one. Store and context errors get their wire codes;
// anything unexpected becomes INTERNAL without leaking its text.
func asCoded(err error) *domain.Error {
	var de *domain.Error
	switch {
	case errors.As(err, &de):
		return de
	case errors.Is(err, eventstore.ErrWrongExpectedVersion):
		return &domain.Error{Code: CodeWrongExpectedVersion, Message: err.Error(), Field: "expectedVersion"}
	case errors.Is(err, eventstore.ErrCommandRestored):
		return &domain.Error{Code: CodeCommandRestored, Field: "commandId",
			Message: "this command id was applied before the log was restored from its stream, which keeps no replies: it is not applied again; query the result"}
	case errors.Is(err, eventstore.ErrCommandIDReused):
		return &domain.Error{Code: CodeCommandIDReused, Message: "this command id was already used for a different request", Field: "commandId"}
	case errors.Is(err, eventstore.ErrOverloaded):
		return &domain.Error{Code: CodeOverloaded, Message: "the ledger is at capacity; retry in a moment with the same command id"}
	case errors.Is(err, eventstore.ErrClosed), errors.Is(err, eventstore.ErrFailed):
		return &domain.Error{Code: CodeUnavailable, Message: "the ledger is shutting down; retry with the same command id"}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &domain.Error{Code: CodeUnavailable, Message: "timed out; the command may still be applied: retry with the same command id"}
	}
	return &domain.Error{Code: CodeInternal, Message: "internal error"}
}

// wireError is the wire error: {"error": {"code", "message", "field", "pointer"}}. field is the
// dotted wire name of the value at fault ("quota.seats"), pointer the same as a JSON pointer
// (RFC 6901, "/quota/seats"); both are left out when no one field is at fault.
type wireError struct {
	Error errorDetail `json:"error"`
}

// errorDetail is a refusal as the wire says it: the error body's "error", and a refused command's
// in a batch's results.
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Pointer string `json:"pointer,omitempty"`
}

func detailOf(e *domain.Error) errorDetail {
	return errorDetail{Code: string(e.Code), Message: e.Message, Field: e.Field, Pointer: pointerOf(e.Field)}
}

func errorBody(e *domain.Error) []byte {
	b, _ := json.Marshal(wireError{Error: detailOf(e)})
	return b
}

// pointerOf is the JSON pointer of a dotted wire field name ("" for none).
func pointerOf(field string) string {
	if field == "" || field == "Authorization" { // a header, not in the body
		return ""
	}
	var b strings.Builder
	for _, token := range strings.Split(field, ".") {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(token))
	}
	return b.String()
}

// Failure is a refused request: the status for the micro error headers and the body.
type Failure struct {
	Status int
	Err    *domain.Error
}

// Refuse is the Failure an error makes: its code's status, and the error as the body says it.
func Refuse(err error) *Failure {
	e := asCoded(err)
	return &Failure{Status: statusOf(e.Code), Err: e}
}

// StatusText is the status as the micro error-code header carries it.
func (f *Failure) StatusText() string { return strconv.Itoa(f.Status) }

// Body is the JSON error body.
func (f *Failure) Body() []byte { return errorBody(f.Err) }
