package shiprocket

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
)

// values are what placeholders stand for in one send.
type values struct {
	phone, digits, national, countryCode string
	flowID, itemID                       string
	variables                            map[string]string
}

func newValues(d queue.Delivery) (values, error) {
	digits := strings.TrimPrefix(strings.TrimSpace(d.Phone), "+")
	if len(digits) < 7 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return values{}, fmt.Errorf("shiprocket: %q is not an E.164 phone number", gateways.MaskPhone(d.Phone))
	}
	v := values{phone: "+" + digits, digits: digits, national: digits, flowID: d.Flow.ID,
		itemID: strconv.FormatInt(d.ItemID, 10), variables: d.Flow.Variables}
	if num, err := phonenumbers.Parse(v.phone, ""); err == nil {
		v.national = phonenumbers.GetNationalSignificantNumber(num)
		v.countryCode = strconv.Itoa(int(num.GetCountryCode()))
	}
	if v.variables == nil {
		v.variables = map[string]string{}
	}
	return v, nil
}

// lookup returns a placeholder's value: a string, or for "variables" the
// map of flow variables.
func (v values) lookup(name string) (any, bool) {
	switch name {
	case "phone":
		return v.phone, true
	case "phone_digits":
		return v.digits, true
	case "phone_national":
		return v.national, true
	case "country_code":
		return v.countryCode, true
	case "flow_id":
		return v.flowID, true
	case "item_id":
		return v.itemID, true
	case "variables":
		return v.variables, true
	}
	if key, ok := strings.CutPrefix(name, "var."); ok && key != "" {
		return v.variables[key], true
	}
	return nil, false
}

// text is a placeholder's value inside a longer string.
func text(val any) string {
	if s, ok := val.(string); ok {
		return s
	}
	b, _ := json.Marshal(val)
	return string(b)
}

// flowURL expands FlowURL, relative to BaseURL unless absolute, with
// URL-escaped values.
func flowURL(cr Credentials, v values) (string, error) {
	raw := strings.TrimSpace(cr.FlowURL)
	var bad error
	expanded := placeholder.ReplaceAllStringFunc(raw, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		val, ok := v.lookup(name)
		if !ok || name == "variables" {
			bad = fmt.Errorf("shiprocket: flow URL: placeholder %s is not allowed there", m)
			return ""
		}
		// Everything but unreserved characters is escaped, so a value is
		// one path segment or one query value wherever it stands.
		return strings.ReplaceAll(url.QueryEscape(text(val)), "+", "%20")
	})
	if bad != nil {
		return "", bad
	}
	if !strings.HasPrefix(expanded, "http://") && !strings.HasPrefix(expanded, "https://") {
		expanded = cr.BaseURL + "/" + strings.TrimLeft(expanded, "/")
	}
	u, err := url.Parse(expanded)
	if err != nil || u.Host == "" {
		return "", errors.New("shiprocket: the flow URL is not a valid URL")
	}
	return u.String(), nil
}

// flowBody builds the JSON body from the template: the template is parsed
// as JSON and placeholders are replaced in its string values, so values
// are always JSON-encoded and cannot change the body's shape.
func flowBody(tmpl string, v values) ([]byte, error) {
	dec := json.NewDecoder(strings.NewReader(tmpl))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("shiprocket: the flow body template is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("shiprocket: the flow body template holds more than one JSON value")
	}
	out, err := expand(doc, v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func expand(node any, v values) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, child := range n {
			e, err := expand(child, v)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(n))
		for i, child := range n {
			e, err := expand(child, v)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case string:
		if m := placeholder.FindStringSubmatch(n); m != nil && m[0] == n {
			val, ok := v.lookup(m[1])
			if !ok {
				return nil, fmt.Errorf("shiprocket: the flow body template has an unknown placeholder %s", n)
			}
			return val, nil
		}
		var bad error
		s := placeholder.ReplaceAllStringFunc(n, func(m string) string {
			val, ok := v.lookup(placeholder.FindStringSubmatch(m)[1])
			if !ok {
				bad = fmt.Errorf("shiprocket: the flow body template has an unknown placeholder %s", m)
				return m
			}
			return text(val)
		})
		return s, bad
	default:
		return node, nil
	}
}

// successful applies a SuccessWhen predicate to a parsed answer and
// returns the value it saw.
func successful(doc any, when string) (bool, string) {
	path, want, hasWant := strings.Cut(when, "=")
	val, ok := lookup(doc, strings.TrimSpace(path))
	if !ok {
		return false, "nothing"
	}
	got := scalar(val)
	if hasWant {
		return got == strings.TrimSpace(want), strconv.Quote(got)
	}
	switch x := val.(type) {
	case bool:
		return x, got
	case json.Number:
		f, err := x.Float64()
		return err == nil && f != 0, got
	case string:
		s := strings.ToLower(strings.TrimSpace(x))
		return s != "" && s != "false" && s != "0", strconv.Quote(got)
	case nil:
		return false, "null"
	default:
		return true, "an object"
	}
}

// lookup follows a dot path through objects (and array indexes).
func lookup(doc any, path string) (any, bool) {
	cur := doc
	for _, key := range strings.Split(path, ".") {
		switch n := cur.(type) {
		case map[string]any:
			next, ok := n[key]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(n) {
				return nil, false
			}
			cur = n[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// scalar is a JSON scalar as text; objects, arrays and null give "".
func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		return ""
	}
}
