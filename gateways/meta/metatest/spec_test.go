package metatest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/messagebridge/messagebridge/gateways/meta/metatest"
)

// specRelPath is Meta's official OpenAPI spec, read in place from the
// shared folder beside the repository: the nearest ancestor of the package
// directory that has it (a worktree may sit deeper than the checkout).
const specRelPath = "shared/specs/meta-whatsapp-cloud-api-v23.0.yaml"

// findSpec returns the spec's path in the nearest ancestor directory.
func findSpec() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, filepath.FromSlash(specRelPath))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fs.ErrNotExist
		}
		dir = parent
	}
}

const specURL = "file:///meta-whatsapp-cloud-api-v23.0.json"

type spec struct {
	doc map[string]any
	mu  sync.Mutex
	c   *jsonschema.Compiler
}

var loadSpecOnce = sync.OnceValues(func() (*spec, error) {
	path, err := findSpec()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
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
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, m); err != nil {
		return nil, err
	}
	return &spec{doc: m, c: c}, nil
})

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

func loadSpec(t *testing.T) *spec {
	t.Helper()
	s, err := loadSpecOnce()
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("Meta's OpenAPI spec is not at %s in any directory above the package; the fake's answers are not checked against it", specRelPath)
	}
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	return s
}

func (s *spec) validate(t *testing.T, ptr string, body []byte) {
	t.Helper()
	s.mu.Lock()
	sch, err := s.c.Compile(specURL + ptr)
	s.mu.Unlock()
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s: %v\n%s", ptr, err, body)
	}
}

// valid reports whether body passes the schema at ptr.
func (s *spec) valid(ptr string, body []byte) bool {
	s.mu.Lock()
	sch, err := s.c.Compile(specURL + ptr)
	s.mu.Unlock()
	if err != nil {
		return false
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	return err == nil && sch.Validate(inst) == nil
}

// at walks the spec document along keys.
func (s *spec) at(t *testing.T, keys ...string) any {
	t.Helper()
	var cur any = s.doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("spec: no %q on the way to %v", k, keys)
		}
		cur = m[k]
	}
	return cur
}

// keyPaths lists the object keys of v as dotted paths ([] for arrays).
func keyPaths(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			out[prefix+"."+k] = true
			keyPaths(prefix+"."+k, e, out)
		}
	case []any:
		for _, e := range v {
			keyPaths(prefix+"[]", e, out)
		}
	}
}

// sameKeys checks that ours has every key of Meta's example and no other.
func sameKeys(t *testing.T, what string, example any, ours []byte) {
	t.Helper()
	var o any
	if err := json.Unmarshal(ours, &o); err != nil {
		t.Fatal(err)
	}
	want, got := map[string]bool{}, map[string]bool{}
	keyPaths("", example, want)
	keyPaths("", o, got)
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: keys missing from ours %v, not in Meta's example %v", what, missing, extra)
	}
}

// Everything the fake answers or posts has the spec's shape: the send
// answer, Graph errors, the template list, and webhooks, whose keys match
// Meta's own inbound examples exactly.
func TestAnswersAndWebhooksFollowTheSpec(t *testing.T) {
	t.Parallel()
	sp := loadSpec(t)
	s := metatest.New(t)
	h := newHook(t)
	s.SetWebhook(h.srv.URL)
	retail(s)

	s.CustomerWrites(customer, "Does it come in another color?")
	s.CustomerSendsImage(customer, "Taj Mahal")
	_, ok := send(t, s, text("Hi"))
	id := wamid(t, ok)
	s.Deliver(id, "delivered")
	s.Deliver(id, "failed", metatest.StatusError{Code: 131026, Title: "Message undeliverable", Details: "Message Undeliverable."})

	examples := sp.at(t, "paths", "/whatsapp/webhooks", "post", "requestBody", "content", "application/json", "examples").(map[string]any)
	bodies, _ := h.received()
	if len(bodies) != 4 {
		t.Fatalf("%d webhooks", len(bodies))
	}
	// The spec's inbound message schemas refuse Meta's own examples (they
	// require send-side fields such as "to"), so inbound bodies are checked
	// against the examples' keys, and status bodies against the schema.
	for _, name := range []string{"Text Message", "Image Message"} {
		b, _ := json.Marshal(examples[name].(map[string]any)["value"])
		if sp.valid("#/components/schemas/WebhookPayload", b) {
			t.Errorf("the spec's inbound schema now accepts its example %q: validate inbound bodies against it too", name)
		}
	}
	for _, b := range bodies[2:] {
		sp.validate(t, "#/components/schemas/WebhookPayload", b)
	}
	sameKeys(t, "inbound text", examples["Text Message"].(map[string]any)["value"], bodies[0])
	sameKeys(t, "inbound image", examples["Image Message"].(map[string]any)["value"], bodies[1])

	okBody, _ := json.Marshal(ok)
	sp.validate(t, "#/components/schemas/MessageResponsePayload", okBody)
	for _, msg := range []map[string]any{{"type": "text", "to": "16505551234", "text": map[string]any{"body": "closed window"}}, tmpl("paused_one", "en"), tmpl("nope", "en")} {
		_, ans := send(t, s, msg)
		b, _ := json.Marshal(ans)
		sp.validate(t, "#/components/schemas/GraphAPIError", b)
	}
	_, list := call(t, s, http.MethodGet, "/v23.0/"+s.WABAID()+"/message_templates?limit=3", nil)
	b, _ := json.Marshal(list)
	sp.validate(t, "#/paths/~1{Version}~1{WABA-ID}~1message_templates/get/responses/200/content/application~1json/schema", b)
	// The list's items carry the example's fields (and parameter_format).
	ex := sp.at(t, "paths", "/{Version}/{WABA-ID}/message_templates", "get", "responses", "200", "content",
		"application/json", "examples", "Example response", "value", "data").([]any)[0].(map[string]any)
	item := list["data"].([]any)[0].(map[string]any)
	for k := range ex {
		if _, ok := item[k]; !ok && k != "previous_category" {
			t.Errorf("listed template has no %q", k)
		}
	}
	if !slices.Contains([]string{"POSITIONAL", "NAMED"}, fmt.Sprint(item["parameter_format"])) {
		t.Errorf("parameter_format %v", item["parameter_format"])
	}
	if strings.Contains(string(b), s.Token()) {
		t.Error("the token is in a listing")
	}
}
