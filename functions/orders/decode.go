package orders

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// Order is an order as published to the orders topic, and as stored. Its
// JSON encoding (json.Marshal) is the canonical form that is stored:
// members in this order, no white space.
type Order struct {
	// ID identifies the order: 1 to 128 of A–Z, a–z, 0–9, '.', '_' and '-'.
	ID string `json:"id"`
	// Customer names who placed the order; it is not blank.
	Customer string `json:"customer"`
	// Items are the order's lines; there is at least one.
	Items []Item `json:"items"`
	// Total is the order's total, at least 0.
	Total float64 `json:"total"`
}

// Item is one line of an Order.
type Item struct {
	// SKU is the stock-keeping unit ordered; it is not empty.
	SKU string `json:"sku"`
	// Quantity is how many were ordered: a positive integer.
	Quantity int64 `json:"quantity"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// decodeOrder decodes and validates one order: a JSON object with exactly
// the members of Order, each of its JSON type (null is no type), and nothing
// after it. A malformed order gives a *core.ValidationError listing every
// violation found, each with a JSON pointer into the message body (none when
// the body as a whole is wrong).
func decodeOrder(body []byte) (Order, error) {
	v := &validator{}
	members := v.object("", body)
	if members == nil {
		return Order{}, v.err()
	}
	var o Order
	if id, ok := v.string("/id", members["id"]); ok && !idPattern.MatchString(id) {
		v.add("/id", "must be 1 to 128 of the characters A-Z, a-z, 0-9, '.', '_' and '-'")
	} else {
		o.ID = id
	}
	if c, ok := v.string("/customer", members["customer"]); ok && strings.TrimSpace(c) == "" {
		v.add("/customer", "must not be blank")
	} else {
		o.Customer = c
	}
	o.Items = v.items("/items", members["items"])
	o.Total = v.total("/total", members["total"])
	v.unknown("", members, "id", "customer", "items", "total")
	if err := v.err(); err != nil {
		return Order{}, err
	}
	return o, nil
}

func (v *validator) items(pointer string, raw json.RawMessage) []Item {
	if raw == nil {
		v.add(pointer, "is required")
		return nil
	}
	var elems []json.RawMessage
	if jsonType(raw) != '[' || json.Unmarshal(raw, &elems) != nil {
		v.add(pointer, "must be an array")
		return nil
	}
	if len(elems) == 0 {
		v.add(pointer, "must not be empty")
		return nil
	}
	items := make([]Item, len(elems))
	for i, raw := range elems {
		p := fmt.Sprintf("%s/%d", pointer, i)
		members := v.object(p, raw)
		if members == nil {
			continue
		}
		if sku, ok := v.string(p+"/sku", members["sku"]); ok && strings.TrimSpace(sku) == "" {
			v.add(p+"/sku", "must not be blank")
		} else {
			items[i].SKU = sku
		}
		items[i].Quantity = v.quantity(p+"/quantity", members["quantity"])
		v.unknown(p, members, "sku", "quantity")
	}
	return items
}

func (v *validator) quantity(pointer string, raw json.RawMessage) int64 {
	if raw == nil {
		v.add(pointer, "is required")
		return 0
	}
	var n int64
	// Unmarshal into an int64 refuses fractions (1.5), exponents (1e2),
	// strings ("2") and anything out of range.
	if jsonType(raw) != '0' || json.Unmarshal(raw, &n) != nil || n <= 0 {
		v.add(pointer, "must be a positive integer")
		return 0
	}
	return n
}

func (v *validator) total(pointer string, raw json.RawMessage) float64 {
	if raw == nil {
		v.add(pointer, "is required")
		return 0
	}
	if jsonType(raw) != '0' {
		v.add(pointer, "must be a number")
		return 0
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil { // beyond float64's range, like 1e400
		v.add(pointer, "is out of range")
		return 0
	}
	if f < 0 {
		v.add(pointer, "must not be negative")
		return 0
	}
	if f == 0 {
		f = 0 // not -0, so that zero has one canonical form
	}
	return f
}

// validator collects the violations of one message.
type validator struct {
	violations []core.Violation
}

func (v *validator) add(pointer, detail string) {
	v.violations = append(v.violations, core.Violation{Pointer: pointer, Detail: detail})
}

func (v *validator) err() error {
	if len(v.violations) == 0 {
		return nil
	}
	return &core.ValidationError{Violations: v.violations}
}

// object decodes raw as a JSON object, or records why it is not one and
// returns nil. At the top level ("" pointer) it also rejects an empty body
// and anything after the object.
func (v *validator) object(pointer string, raw []byte) map[string]json.RawMessage {
	if pointer == "" && len(bytes.TrimSpace(raw)) == 0 {
		v.add("", "the message body is empty; want a JSON object")
		return nil
	}
	var members map[string]json.RawMessage
	err := json.Unmarshal(raw, &members)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) || (err == nil && members == nil):
		v.add(pointer, "must be a JSON object")
		return nil
	case err != nil:
		v.add(pointer, "is not valid JSON: "+err.Error())
		return nil
	}
	return members
}

// string decodes raw as a JSON string, or records why it is not one. ok is
// false when raw is missing or not a string.
func (v *validator) string(pointer string, raw json.RawMessage) (s string, ok bool) {
	if raw == nil {
		v.add(pointer, "is required")
		return "", false
	}
	if jsonType(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		v.add(pointer, "must be a string")
		return "", false
	}
	return s, true
}

// unknown records every member of an object other than known.
func (v *validator) unknown(pointer string, members map[string]json.RawMessage, known ...string) {
	var extra []string
	for k := range members {
		if !slices.Contains(known, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		v.add(pointer+"/"+escapePointer(k), "is not a known field")
	}
}

// jsonType classifies a JSON value that json.Unmarshal has found well-formed
// by its first byte: '{', '[', '"', 't', 'f', 'n', or '0' for a number.
func jsonType(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	}
	return '0'
}

// escapePointer escapes a member name as one JSON pointer token (RFC 6901).
func escapePointer(name string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}
