package meta_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// specRelPath is Meta's official OpenAPI spec, read in place from the
// shared folder beside the repository (package dir → ../../../shared).
const specRelPath = "../../../shared/specs/meta-whatsapp-cloud-api-v23.0.yaml"

// messagesOp points at the request body schema of
// POST /{Version}/{Phone-Number-ID}/messages.
const messagesOp = "#/paths/~1{Version}~1{Phone-Number-ID}~1messages/post/requestBody/content/application~1json/schema"

const specURL = "file:///meta-whatsapp-cloud-api-v23.0.json"

// spec is the parsed spec with its schemas, loaded once per test binary
// (parsing 1 MB of YAML is the slow part).
type spec struct {
	doc     map[string]any
	compile func(ptr string) (*jsonschema.Schema, error)
	// indexFixes counts the button index patterns fixIndexPattern
	// replaced.
	indexFixes int
}

var loadSpecOnce = sync.OnceValues(loadSpecFile)

// loadSpec returns the spec or skips the test when the file is absent.
func loadSpec(t *testing.T) *spec {
	t.Helper()
	s, err := loadSpecOnce()
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("Meta's OpenAPI spec is not at %s (shared/specs beside the repository); contract not checked", specRelPath)
	}
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	return s
}

// optionalSpec returns the spec, or nil (with a log line) when the file is
// absent, for tests whose main point does not need it.
func optionalSpec(t *testing.T) *spec {
	t.Helper()
	s, err := loadSpecOnce()
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("Meta's OpenAPI spec is not at %s; fixtures not checked against it", specRelPath)
		return nil
	}
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	return s
}

func loadSpecFile() (*spec, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(wd, filepath.FromSlash(specRelPath)))
	if err != nil {
		return nil, err
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	// Through JSON, so the validator sees the JSON data model.
	j, err := json.Marshal(jsonValue(y))
	if err != nil {
		return nil, fmt.Errorf("to json: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("spec is not an object")
	}
	closeAllOf(m)
	fixes := fixIndexPattern(m)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020) // OpenAPI 3.1 schemas are JSON Schema 2020-12
	if err := c.AddResource(specURL, m); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	return &spec{doc: m, indexFixes: fixes, compile: func(ptr string) (*jsonschema.Schema, error) {
		mu.Lock()
		defer mu.Unlock()
		return c.Compile(specURL + ptr)
	}}, nil
}

// brokenIndexPattern is the spec's pattern for a template button's
// index. It is one character class (2 to 6, a comma, a space, 1 and 4),
// so it rejects "0", "7", "8" and "9", although its own description says
// "Position index of the button (0-9)" and Meta's examples use "0".
const brokenIndexPattern = "^[2-6, 11-14]$"

// fixIndexPattern replaces brokenIndexPattern with the range the
// description gives, and only it; it returns how many it replaced.
func fixIndexPattern(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		if v["pattern"] == brokenIndexPattern {
			v["pattern"] = "^[0-9]$"
			n++
		}
		for _, e := range v {
			n += fixIndexPattern(e)
		}
	case []any:
		for _, e := range v {
			n += fixIndexPattern(e)
		}
	}
	return n
}

// validateTemplateMessage checks a template message against the spec
// more closely than the messages schema alone can: the schema lists a
// template's components and their parameters through OpenAPI
// discriminators, which JSON Schema ignores (a header parameter
// {"type":"image"} without an image passes it). So each component is
// also checked against the schema its type maps to (HeaderComponent,
// BodyComponent, ButtonComponent), and each parameter against the one
// its type maps to (ImageParameter, TextParameter, ButtonTextParameter,
// …), as the spec's own discriminator mappings say.
func (s *spec) validateTemplateMessage(t *testing.T, body []byte) error {
	t.Helper()
	if err := s.validate(t, messagesOp, body); err != nil {
		return err
	}
	var m struct {
		Template struct {
			Components []map[string]any `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	for i, comp := range m.Template.Components {
		ref, err := s.mapped("TemplateComponent", comp)
		if err != nil {
			return fmt.Errorf("component %d: %w", i, err)
		}
		if err := s.validate(t, ref, mustJSON(t, comp)); err != nil {
			return fmt.Errorf("component %d against %s: %w", i, ref, err)
		}
		base := "ParameterObject"
		if comp["type"] == "button" {
			base = "ButtonParameterObject"
		}
		params, _ := comp["parameters"].([]any)
		for j, p := range params {
			pm, _ := p.(map[string]any)
			ref, err := s.mapped(base, pm)
			if err != nil {
				return fmt.Errorf("component %d parameter %d: %w", i, j, err)
			}
			if err := s.validate(t, ref, mustJSON(t, pm)); err != nil {
				return fmt.Errorf("component %d parameter %d against %s: %w", i, j, ref, err)
			}
		}
	}
	return nil
}

// mapped returns the pointer of the schema that the discriminator of the
// named schema maps v to.
func (s *spec) mapped(schema string, v map[string]any) (string, error) {
	var cur any = s.doc
	for _, k := range []string{"components", "schemas", schema, "discriminator"} {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", fmt.Errorf("spec: %s has no discriminator", schema)
		}
		cur = m[k]
	}
	d, _ := cur.(map[string]any)
	prop, _ := d["propertyName"].(string)
	mapping, _ := d["mapping"].(map[string]any)
	key, _ := v[prop].(string)
	ref, ok := mapping[key].(string)
	if !ok {
		return "", fmt.Errorf("spec: %s has no %s %q", schema, prop, key)
	}
	return ref, nil
}

// jsonValue turns YAML's decoded maps into JSON objects.
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonValue(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonValue(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonValue(e)
		}
		return v
	default:
		return v
	}
}

// closeAllOf fixes one known flaw of the spec, and only it: message schemas
// are written allOf[BaseMessageProperties, {additionalProperties: false,
// …}], which under JSON Schema rejects every message (the second branch
// does not see messaging_product, to, … from the first), including Meta's
// own examples. The intent, "no properties beyond those of all branches",
// is what 2020-12 spells unevaluatedProperties: false on the allOf, so the
// flag moves there. Unknown fields are still rejected.
func closeAllOf(v any) {
	switch v := v.(type) {
	case map[string]any:
		if branches, ok := v["allOf"].([]any); ok {
			for _, b := range branches {
				if bm, ok := b.(map[string]any); ok && bm["additionalProperties"] == false {
					delete(bm, "additionalProperties")
					v["unevaluatedProperties"] = false
				}
			}
		}
		for _, e := range v {
			closeAllOf(e)
		}
	case []any:
		for _, e := range v {
			closeAllOf(e)
		}
	}
}

// validate checks a JSON body against the schema at ptr.
func (s *spec) validate(t *testing.T, ptr string, body []byte) error {
	t.Helper()
	sch, err := s.compile(ptr)
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// messageExamples returns the spec's own request examples for the
// messages operation, by name.
func (s *spec) messageExamples(t *testing.T) map[string][]byte {
	t.Helper()
	var cur any = s.doc
	for _, k := range []string{"paths", "/{Version}/{Phone-Number-ID}/messages", "post", "requestBody", "content", "application/json", "examples"} {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("spec: no %q on the way to the messages examples", k)
		}
		cur = m[k]
	}
	exs, _ := cur.(map[string]any)
	out := map[string][]byte{}
	for name, ex := range exs {
		v := ex.(map[string]any)["value"]
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// The validator (with the allOf fix) accepts Meta's own examples for the
// message kinds this gateway sends, so a failure on our bodies is ours.
// Meta's template examples omit language.policy, which the schema's
// LanguageObject requires; with it added they pass, which is why the
// gateway sends "policy":"deterministic".
func TestSpecAcceptsItsOwnExamples(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	exs := s.messageExamples(t)
	for _, name := range []string{"Send Text Message", "Send Image Message by ID", "Send Image Message by URL",
		"Send Video Message by ID", "Send Video Message by URL", "Send Published Flow by ID", "Send Draft Flow by ID"} {
		body, ok := exs[name]
		if !ok {
			t.Errorf("the spec has no example %q", name)
			continue
		}
		if err := s.validate(t, messagesOp, body); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	var tmpl map[string]any
	if err := json.Unmarshal(exs["Send Message Template Text"], &tmpl); err != nil {
		t.Fatal(err)
	}
	if err := s.validate(t, messagesOp, mustJSON(t, tmpl)); err == nil {
		t.Fatal("the template example without language.policy passed; the spec changed, revisit templateLanguage.Policy")
	}
	tmpl["template"].(map[string]any)["language"].(map[string]any)["policy"] = "deterministic"
	if err := s.validate(t, messagesOp, mustJSON(t, tmpl)); err != nil {
		t.Fatalf("template example with policy: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
