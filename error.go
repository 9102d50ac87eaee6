package f2fpay

import (
	"errors"
	"fmt"
)

// Error codes, in the spirit of a small, closed set: adapters translate them (only the
// HTTP layer maps them to status codes) and users see Message, never internal details.
const (
	ECONFLICT       = "conflict"        // the request contradicts existing state (idempotency key reuse, refund over the limit)
	EINTERNAL       = "internal"        // a bug or an unexpected failure; details are logged, not shown
	EINVALID        = "invalid"         // the input is wrong; Message says how
	ENOTFOUND       = "not_found"       // the thing asked for does not exist
	EUNAUTHORIZED   = "unauthorized"    // credentials are missing or wrong
	EUNAVAILABLE    = "unavailable"     // a dependency (Alipay, the database) is not answering; retry later
	ENOTIMPLEMENTED = "not_implemented" // the operation is not offered
)

// Error is an error with a code and a message meant for the user of the API.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("f2fpay: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a generic
// message so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}
