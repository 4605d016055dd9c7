package domain

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Codes never change meaning once published.
type Code string

// Error codes the domain returns. The handlers map each to a wire status in one place.
const (
	CodeInvalidArgument  Code = "INVALID_ARGUMENT"
	CodeAlreadyExists    Code = "ALREADY_EXISTS"
	CodeResellerNotFound Code = "RESELLER_NOT_FOUND"
	CodeTenantNotFound   Code = "TENANT_NOT_FOUND"
	CodeProductNotFound  Code = "PRODUCT_NOT_FOUND"
	CodePlanNotFound     Code = "PLAN_NOT_FOUND"
	CodeLicenseNotFound  Code = "LICENSE_NOT_FOUND"
	CodeSeatNotFound     Code = "SEAT_NOT_FOUND"
	CodeTenantMismatch   Code = "TENANT_NOT_OF_RESELLER"
	CodeLicenseNotActive Code = "LICENSE_NOT_ACTIVE"
	CodeLicenseExpired   Code = "LICENSE_EXPIRED"
	CodeQuotaExceeded    Code = "QUOTA_EXCEEDED"

	CodeLicenseTerminated    Code = "LICENSE_TERMINATED"
	CodeLicenseNotSuspended  Code = "LICENSE_NOT_SUSPENDED"
	CodeLicensePerpetual     Code = "LICENSE_PERPETUAL"
	CodePlanOfAnotherProduct Code = "PLAN_OF_ANOTHER_PRODUCT"
	CodeNotAnUpgrade         Code = "NOT_AN_UPGRADE"
	CodeNotADowngrade        Code = "NOT_A_DOWNGRADE"
	CodeTooManyMachines      Code = "TOO_MANY_MACHINES"
	CodeMachineNotFound      Code = "MACHINE_NOT_FOUND"
	CodeAdminNotFound        Code = "ADMIN_NOT_FOUND"
	CodeFieldNotAllowed      Code = "FIELD_NOT_ALLOWED"
	CodeCannotDeleteYourself Code = "CANNOT_DELETE_YOURSELF"
	CodeCredentialNotFound   Code = "CREDENTIAL_NOT_FOUND"
	CodeCredentialRevoked    Code = "CREDENTIAL_REVOKED"
)

// Codes lists every code the domain returns, so that the edges can prove each has a status.
var Codes = []Code{
	CodeInvalidArgument, CodeAlreadyExists, CodeResellerNotFound, CodeTenantNotFound,
	CodeProductNotFound, CodePlanNotFound, CodeLicenseNotFound, CodeSeatNotFound,
	CodeTenantMismatch, CodeLicenseNotActive, CodeLicenseExpired, CodeQuotaExceeded,
	CodeLicenseTerminated, CodeLicenseNotSuspended, CodeLicensePerpetual,
	CodePlanOfAnotherProduct, CodeNotAnUpgrade, CodeNotADowngrade,
	CodeTooManyMachines, CodeMachineNotFound,
	CodeAdminNotFound, CodeFieldNotAllowed, CodeCannotDeleteYourself, CodeLoginFailed, CodeWebhookNotFound,
	CodeCredentialNotFound, CodeCredentialRevoked, CodeOutOfScope, CodeRoleEscalation, CodeProtected,
	CodeAccessEscalation, CodeExpiryEscalation, CodeLevelEscalation, CodeActsForAnother, CodeScopeMismatch,
	CodeEntitlementNotFound, CodeEntitlementOfAnotherProduct,
}

// Error is the domain's one error type: a code, a message for people, and the field at fault.
type Error struct {
	Code    Code
	Message string
	Field   string // camelCase wire name of the offending field, if one is
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf makes an *Error.
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a domain error anywhere in err's chain, or "".
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
