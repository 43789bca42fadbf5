package whapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"

	"github.com/messagebridge/messagebridge/gateways/whapi"
)

var (
	schemasOnce sync.Once
	schemasDoc  *openapi3.T
	schemasErr  error
)

// loadSchemas returns WHAPI's spec with its components only, skipping the
// test when the spec copy is absent.
func loadSchemas(t *testing.T) *openapi3.T {
	t.Helper()
	schemasOnce.Do(func() { schemasDoc, schemasErr = newSchemaDoc(specPath) })
	if errors.Is(schemasErr, os.ErrNotExist) {
		t.Skipf("WHAPI spec copy not found at %s: webhook payloads were not checked against it", specPath)
	}
	if schemasErr != nil {
		t.Fatalf("load WHAPI spec: %v", schemasErr)
	}
	return schemasDoc
}

// newSchemaDoc loads the spec's components (no paths: see newSpecValidator
// for the path whose $ref no loader resolves) with one in-memory repair of
// a defect in the 1.8.7 copy: MediaFile requires "time", a property it
// does not declare (it declares "timestamp", optional), so no media
// message could match; "time" is dropped from its required list.
func newSchemaDoc(path string) (*openapi3.T, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	doc["paths"] = map[string]any{}
	media, err := dig(doc, "components", "schemas", "MediaFile")
	if err != nil {
		return nil, err
	}
	req, _ := media["required"].([]any)
	kept := make([]any, 0, len(req))
	for _, r := range req {
		if r != "time" {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(req) {
		return nil, errors.New(`spec's MediaFile no longer requires "time": drop the repair`)
	}
	media["required"] = kept
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	loaded, err := openapi3.NewLoader().LoadFromData(js)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return loaded, nil
}

func TestSpecWebhookPayloads(t *testing.T) {
	t.Parallel()
	doc := loadSchemas(t)
	ref := doc.Components.Schemas["WebhookPayload"]
	if ref == nil || ref.Value == nil {
		t.Fatal("the spec has no WebhookPayload schema")
	}
	names := make([]string, 0)
	fx := inboundFixtures()
	for n := range fx {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var v any
		if err := json.Unmarshal([]byte(fx[n]), &v); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s does not match WHAPI's WebhookPayload: %v", n, err)
		}
	}
}

// Every field the webhook handler decodes is one WHAPI's WebhookPayload
// declares, at the same place: a misspelt or invented name would decode
// as empty and drop what customers wrote.
func TestSpecWebhookFieldsAreDeclared(t *testing.T) {
	t.Parallel()
	doc := loadSchemas(t)
	ref := doc.Components.Schemas["WebhookPayload"]
	if ref == nil || ref.Value == nil {
		t.Fatal("the spec has no WebhookPayload schema")
	}
	var checked []string
	var walk func(path string, typ reflect.Type, s *openapi3.Schema)
	walk = func(path string, typ reflect.Type, s *openapi3.Schema) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch {
		case typ == reflect.TypeOf(json.RawMessage(nil)):
			return
		case typ.Kind() == reflect.Slice:
			if s.Items == nil || s.Items.Value == nil {
				t.Errorf("%s: the spec declares no array items", path)
				return
			}
			walk(path+"[]", typ.Elem(), s.Items.Value)
			return
		case typ.Kind() != reflect.Struct:
			return
		}
		props := properties(s)
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			p, ok := props[name]
			if !ok {
				t.Errorf("%s.%s is read by the webhook but not declared by WHAPI's spec", path, name)
				continue
			}
			checked = append(checked, path+"."+name)
			walk(path+"."+name, f.Type, p)
		}
	}
	walk("WebhookPayload", reflect.TypeOf(whapi.WebhookPayload{}), ref.Value)
	// The walk reached the message fields the inbound mapping rests on.
	for _, want := range []string{"WebhookPayload.messages[].from_me", "WebhookPayload.messages[].chat_id",
		"WebhookPayload.messages[].text.body", "WebhookPayload.messages[].image.caption", "WebhookPayload.messages[].document.caption",
		"WebhookPayload.statuses[].errors[].message"} {
		if !slices.Contains(checked, want) {
			t.Errorf("%s was not checked (checked: %v)", want, checked)
		}
	}
}

// properties are the properties s declares, also through allOf.
func properties(s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	for name, p := range s.Properties {
		if p != nil && p.Value != nil {
			out[name] = p.Value
		}
	}
	for _, sub := range s.AllOf {
		if sub != nil && sub.Value != nil {
			for name, p := range properties(sub.Value) {
				if _, ok := out[name]; !ok {
					out[name] = p
				}
			}
		}
	}
	return out
}
