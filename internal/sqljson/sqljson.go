// Package sqljson keeps a Go value in a text column as JSON, for both stores: the
// SQLite and PostgreSQL drivers accept the same database/sql Scanner and Valuer, so
// the encoding is written once and the two databases hold the same text.
package sqljson

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
)

// Column adapts a value (a slice, a map, a struct; a pointer to it to scan into) to
// a NOT NULL text column: an empty value is stored as the empty string, so rows
// written before the column existed and orders without promotions read back the
// same, and anything else as its JSON.
type Column struct{ V any }

// Value encodes V: the empty string when it is empty (nil or zero length), its JSON
// otherwise.
func (c Column) Value() (driver.Value, error) {
	v := reflect.ValueOf(c.V)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid:
		return "", nil
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return "", nil
		}
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan decodes the column into *V; the empty string and NULL leave it zero.
func (c Column) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case nil:
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("JSON column holds %T, want text", src)
	}
	v := reflect.ValueOf(c.V)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("JSON column scanned into %T, want a pointer", c.V)
	}
	v.Elem().SetZero()
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, c.V); err != nil {
		return fmt.Errorf("JSON column: %w", err)
	}
	return nil
}
