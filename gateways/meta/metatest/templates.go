package metatest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Template is a message template in the shape of Meta's
// GET /{v}/{waba-id}/message_templates.
type Template struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Language        string      `json:"language"`
	Status          string      `json:"status"`   // APPROVED (default), PAUSED, REJECTED, PENDING, DISABLED
	Category        string      `json:"category"` // MARKETING (default), UTILITY, AUTHENTICATION
	ParameterFormat string      `json:"parameter_format"`
	Components      []Component `json:"components"`
}

// Component is a template component: HEADER (Format TEXT, IMAGE, VIDEO,
// DOCUMENT; a TEXT header may have one {{1}} or {{name}}), BODY (Text with
// {{1}}.. or {{name}}s), FOOTER, or BUTTONS.
type Component struct {
	Type    string         `json:"type"`
	Format  string         `json:"format,omitempty"`
	Text    string         `json:"text,omitempty"`
	Buttons []Button       `json:"buttons,omitempty"`
	Example map[string]any `json:"example,omitempty"`
}

// Button is a template button: URL (a URL ending in {{1}} takes a suffix
// parameter), QUICK_REPLY, PHONE_NUMBER, FLOW or COPY_CODE.
type Button struct {
	Type        string   `json:"type"`
	Text        string   `json:"text,omitempty"`
	URL         string   `json:"url,omitempty"`
	PhoneNumber string   `json:"phone_number,omitempty"`
	Example     []string `json:"example,omitempty"`
}

var (
	varRE   = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	namedRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// vars lists the distinct variables of text in order of appearance.
func vars(text string) []string {
	var out []string
	for _, m := range varRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// AddTemplate adds t, or replaces the template of the same name and
// language, and returns it with its defaults and id filled in. A template
// whose variables do not fit its parameter format fails the test.
func (s *Server) AddTemplate(t Template) Template {
	s.t.Helper()
	if t.Status == "" {
		t.Status = "APPROVED"
	}
	if t.Category == "" {
		t.Category = "MARKETING"
	}
	if t.ParameterFormat == "" {
		t.ParameterFormat = "POSITIONAL"
	}
	if err := t.check(); err != nil {
		s.t.Errorf("metatest: AddTemplate %s/%s: %v", t.Name, t.Language, err)
		return t
	}
	t.Components = slices.Clone(t.Components)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.templates {
		if old.Name == t.Name && old.Language == t.Language {
			if t.ID == "" {
				t.ID = old.ID
			}
			s.templates[i] = &t
			return t
		}
	}
	if t.ID == "" {
		t.ID = strconv.Itoa(920070352646000 + s.nextID)
		s.nextID++
	}
	s.templates = append(s.templates, &t)
	return t
}

// SetTemplateStatus changes a template's status (as when Meta pauses or
// disables it).
func (s *Server) SetTemplateStatus(name, language, status string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.templates {
		if t.Name == name && t.Language == language {
			t.Status = status
			return
		}
	}
	s.t.Errorf("metatest: SetTemplateStatus: no template %s/%s", name, language)
}

// check validates a template the way Meta does when it is created.
func (t Template) check() error {
	if t.Name == "" || t.Language == "" {
		return fmt.Errorf("a template needs a name and a language")
	}
	if t.ParameterFormat != "POSITIONAL" && t.ParameterFormat != "NAMED" {
		return fmt.Errorf("parameter_format %q is not POSITIONAL or NAMED", t.ParameterFormat)
	}
	for _, c := range t.Components {
		switch c.Type {
		case "HEADER", "BODY":
			vs := vars(c.Text)
			if c.Type == "HEADER" && (len(vs) > 1 || (c.Format != "TEXT" && len(vs) > 0)) {
				return fmt.Errorf("a header takes at most one variable, and only in a TEXT header")
			}
			if c.Type == "HEADER" && !slices.Contains([]string{"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"}, c.Format) {
				return fmt.Errorf("header format %q is not TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION", c.Format)
			}
			for i, v := range vs {
				if t.ParameterFormat == "NAMED" && !namedRE.MatchString(v) {
					return fmt.Errorf("%s variable {{%s}} is not a lower-case name", c.Type, v)
				}
				if t.ParameterFormat == "POSITIONAL" && v != strconv.Itoa(i+1) {
					return fmt.Errorf("%s variables must be {{1}}, {{2}}, … in order; found {{%s}}", c.Type, v)
				}
			}
		case "FOOTER":
		case "BUTTONS":
			for _, b := range c.Buttons {
				if vs := vars(b.URL); b.Type == "URL" && (len(vs) > 1 || (len(vs) == 1 && (vs[0] != "1" || !strings.HasSuffix(b.URL, "{{1}}")))) {
					return fmt.Errorf("a URL button takes one {{1}} at the end of its URL")
				}
			}
		default:
			return fmt.Errorf("component type %q is not HEADER, BODY, FOOTER or BUTTONS", c.Type)
		}
	}
	return nil
}

func (t *Template) component(typ string) *Component {
	for i := range t.Components {
		if t.Components[i].Type == typ {
			return &t.Components[i]
		}
	}
	return nil
}

func (t *Template) buttons() []Button {
	if c := t.component("BUTTONS"); c != nil {
		return c.Buttons
	}
	return nil
}

// Template send errors (§1.5).
func errTemplate(code int, details string) *graphErr {
	e := &graphErr{status: http.StatusBadRequest, code: code, details: details}
	switch code {
	case 132000:
		e.message = "(#132000) Number of parameters does not match the expected number of params"
	case 132001:
		e.status, e.message = http.StatusNotFound, "(#132001) Template name does not exist in the translation"
	case 132012:
		e.message = "(#132012) Parameter format does not match format in the created template"
	case 132015:
		e.message = "(#132015) Template is Paused"
	case 132016:
		e.message = "(#132016) Template is disabled"
	case 131008:
		e.message = "(#131008) Required parameter is missing"
	}
	return e
}

func countMismatch(where string, got, want int) *graphErr {
	return errTemplate(132000, fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", where, got, want))
}

// checkTemplate checks a template send against the approved template and
// decodes its components into msg.
func (s *Server) checkTemplate(ts *templateSend, msg *Message) *graphErr {
	s.mu.Lock()
	var tpl Template
	found := false
	for _, t := range s.templates {
		if t.Name == ts.Name && t.Language == ts.Language.Code {
			tpl, found = *t, true
			break
		}
	}
	s.mu.Unlock()
	if !found {
		return errTemplate(132001, fmt.Sprintf("template name (%s) does not exist in %s", ts.Name, ts.Language.Code))
	}
	switch tpl.Status {
	case "APPROVED":
	case "PAUSED":
		return errTemplate(132015, fmt.Sprintf("Cannot send template %s: it is paused", tpl.Name))
	case "DISABLED":
		return errTemplate(132016, fmt.Sprintf("Cannot send template %s: it is disabled", tpl.Name))
	default:
		return errTemplate(132001, fmt.Sprintf("template name (%s) does not exist in %s (status %s)", ts.Name, ts.Language.Code, tpl.Status))
	}
	named := tpl.ParameterFormat == "NAMED"
	header, body, buttons := tpl.component("HEADER"), tpl.component("BODY"), tpl.buttons()
	seen := map[string]bool{}
	values := map[string]string{} // body variable → text, for Message.Text
	for _, c := range ts.Components {
		sc := SentComponent{Type: strings.ToLower(c.Type), SubType: strings.ToLower(c.SubType)}
		for _, p := range c.Parameters {
			sc.Parameters = append(sc.Parameters, p.decoded())
		}
		key := sc.Type
		switch sc.Type {
		case "header":
			if header == nil {
				return countMismatch("header", len(c.Parameters), 0)
			}
			if e := s.checkHeader(header, c.Parameters, named); e != nil {
				return e
			}
		case "body":
			text := ""
			if body != nil {
				text = body.Text
			}
			if e := checkTextParams("body", vars(text), c.Parameters, named, true); e != nil {
				return e
			}
			for i, p := range c.Parameters {
				k := strconv.Itoa(i + 1)
				if named {
					k = p.ParameterName
				}
				values[k] = paramText(p)
			}
		case "button":
			idx, ok := buttonIndex(c.Index)
			if !ok {
				return invalidParam("Param template['components'][]['index'] must be a button index.")
			}
			sc.Index, key = idx, "button/"+strconv.Itoa(idx)
			if e := s.checkButton(buttons, idx, sc.SubType, c.Parameters); e != nil {
				return e
			}
		default:
			return invalidParam(fmt.Sprintf("Param template['components'][]['type'] %q is not header, body or button.", c.Type))
		}
		if seen[key] {
			return invalidParam(fmt.Sprintf("template component %s is given twice", key))
		}
		seen[key] = true
		msg.Template.Components = append(msg.Template.Components, sc)
	}
	// Components the template needs that the send left out.
	if header != nil && !seen["header"] {
		switch {
		case header.Format == "TEXT" && len(vars(header.Text)) > 0:
			return countMismatch("header", 0, 1)
		case header.Format != "TEXT":
			return errTemplate(132012, fmt.Sprintf("header: Format mismatch, expected %s, received UNKNOWN", header.Format))
		}
	}
	if body != nil && !seen["body"] && len(vars(body.Text)) > 0 {
		return countMismatch("body", 0, len(vars(body.Text)))
	}
	for i, b := range buttons {
		if b.Type == "URL" && len(vars(b.URL)) > 0 && !seen["button/"+strconv.Itoa(i)] {
			return countMismatch(fmt.Sprintf("buttons: button at index %d", i), 0, 1)
		}
	}
	if body != nil {
		msg.Text = varRE.ReplaceAllStringFunc(body.Text, func(v string) string {
			return values[varRE.FindStringSubmatch(v)[1]]
		})
	}
	return nil
}

func paramText(p paramSend) string {
	if p.Text != nil {
		return *p.Text
	}
	return ""
}

func (p paramSend) decoded() Parameter {
	d := Parameter{Type: p.Type, Name: p.ParameterName, Text: paramText(p)}
	for _, o := range []*mediaObject{p.Image, p.Video, p.Document} {
		if o != nil {
			d.ID, d.Link = o.ID, o.Link
		}
	}
	if p.Payload != nil {
		d.Text = *p.Payload
	}
	return d
}

// checkTextParams checks the text parameters of a header or body against
// its variables: the count (132000), then each parameter's kind and name
// (132012), then that it has a value (131008) without new lines, tabs or
// more than 4 consecutive spaces (100).
func checkTextParams(where string, want []string, got []paramSend, named, body bool) *graphErr {
	if len(got) != len(want) {
		return countMismatch(where, len(got), len(want))
	}
	used := map[string]bool{}
	for i, p := range got {
		okType := p.Type == "text" || (body && !named && (p.Type == "currency" || p.Type == "date_time"))
		if !okType {
			return errTemplate(132012, fmt.Sprintf("%s: parameter %d: Format mismatch, expected TEXT, received %s", where, i+1, strings.ToUpper(p.Type)))
		}
		switch {
		case named && p.ParameterName == "":
			return errTemplate(132012, fmt.Sprintf("%s: parameter %d has no parameter_name; the template has named parameters (%s)", where, i+1, strings.Join(want, ", ")))
		case named && (!slices.Contains(want, p.ParameterName) || used[p.ParameterName]):
			return errTemplate(132012, fmt.Sprintf("%s: parameter_name %q does not match the template's parameters (%s)", where, p.ParameterName, strings.Join(want, ", ")))
		case !named && p.ParameterName != "":
			return errTemplate(132012, fmt.Sprintf("%s: parameter %d has parameter_name %q; the template has positional parameters", where, i+1, p.ParameterName))
		}
		used[p.ParameterName] = true
		v := paramText(p)
		if p.Type == "text" && strings.TrimSpace(v) == "" {
			return errTemplate(131008, fmt.Sprintf("%s: parameter %d: text is required", where, i+1))
		}
		if strings.ContainsAny(v, "\n\t") || strings.Contains(v, "     ") {
			return invalidParam(fmt.Sprintf("%s: parameter %d: Param text cannot have new-line/tab characters or more than 4 consecutive spaces", where, i+1))
		}
	}
	return nil
}

// checkHeader checks a header component's parameters against the
// template's header.
func (s *Server) checkHeader(h *Component, got []paramSend, named bool) *graphErr {
	if h.Format == "TEXT" {
		return checkTextParams("header", vars(h.Text), got, named, false)
	}
	if len(got) != 1 {
		return countMismatch("header", len(got), 1)
	}
	p := got[0]
	format := strings.ToLower(h.Format)
	var o *mediaObject
	switch format {
	case "image":
		o = p.Image
	case "video":
		o = p.Video
	case "document":
		o = p.Document
	}
	if p.Type != format || (format != "location" && o == nil) {
		return errTemplate(132012, fmt.Sprintf("header: Format mismatch, expected %s, received %s", h.Format, strings.ToUpper(p.Type)))
	}
	if o != nil {
		return s.checkMedia("header "+format, o)
	}
	return nil
}

// checkButton checks a button component against the template's button at
// idx.
func (s *Server) checkButton(buttons []Button, idx int, subType string, got []paramSend) *graphErr {
	if idx >= len(buttons) {
		return errTemplate(132012, fmt.Sprintf("buttons: the template has no button at index %d", idx))
	}
	b := buttons[idx]
	wantSub := map[string]string{"URL": "url", "QUICK_REPLY": "quick_reply", "FLOW": "flow", "COPY_CODE": "copy_code"}[b.Type]
	if wantSub == "" || subType != wantSub {
		return errTemplate(132012, fmt.Sprintf("buttons: button at index %d is %s, not sub_type %q", idx, b.Type, subType))
	}
	where := fmt.Sprintf("buttons: button at index %d", idx)
	switch b.Type {
	case "URL":
		if e := checkTextParams(where, vars(b.URL), got, false, false); e != nil {
			return e
		}
	case "QUICK_REPLY":
		for _, p := range got {
			if p.Type != "payload" || p.Payload == nil {
				return errTemplate(132012, where+": a quick reply parameter must be of type payload")
			}
		}
	case "FLOW":
		for _, p := range got {
			if p.Type != "action" {
				return errTemplate(132012, where+": a flow button parameter must be of type action")
			}
		}
	case "COPY_CODE":
		if len(got) != 1 {
			return countMismatch(where, len(got), 1)
		}
		if got[0].Type != "coupon_code" || got[0].CouponCode == nil {
			return errTemplate(132012, where+": a copy code parameter must be of type coupon_code")
		}
	}
	return nil
}

// defaultFields are the fields listed without a fields parameter.
func defaultFields() []string {
	return []string{"id", "name", "language", "status", "category", "parameter_format", "components"}
}

// knownField reports whether a message template node has field f; Graph
// refuses others. Fields the fake does not hold are accepted and omitted.
func knownField(f string) bool {
	return slices.Contains(defaultFields(), f) || slices.Contains([]string{"previous_category", "sub_category",
		"quality_score", "rejected_reason", "correct_category", "cta_url_link_tracking_opted_out",
		"library_template_name", "message_send_ttl_seconds"}, f)
}

// serveTemplates answers GET /{v}/{waba-id}/message_templates with Graph's
// paging: limit, after, fields.
func (s *Server) serveTemplates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			graphError(w, invalidParam("Param limit must be a positive integer."))
			return
		}
		limit = n
	}
	if s.pageSize > 0 && s.pageSize < limit {
		limit = s.pageSize
	}
	fields := defaultFields()
	if v := q.Get("fields"); v != "" {
		fields = nil
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if !knownField(f) {
				graphError(w, &graphErr{status: http.StatusBadRequest, code: 100,
					message: fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (WhatsAppBusinessHSM)", f)})
				return
			}
			fields = append(fields, f)
		}
		if !slices.Contains(fields, "id") {
			fields = append(fields, "id")
		}
	}
	s.mu.Lock()
	all := make([]Template, len(s.templates))
	for i, t := range s.templates {
		all[i] = *t
	}
	s.mu.Unlock()
	if name := q.Get("name"); name != "" {
		all = slices.DeleteFunc(all, func(t Template) bool { return !strings.Contains(t.Name, name) })
	}
	start := 0
	if a := q.Get("after"); a != "" {
		pos, ok := decodeCursor(a)
		if !ok || pos >= len(all) {
			graphError(w, invalidParam("Param after is not a valid cursor."))
			return
		}
		start = pos + 1
	}
	end := min(start+limit, len(all))
	data := []map[string]any{}
	for _, t := range all[start:end] {
		full := map[string]any{"id": t.ID, "name": t.Name, "language": t.Language, "status": t.Status,
			"category": t.Category, "parameter_format": t.ParameterFormat, "components": t.Components}
		item := map[string]any{}
		for _, f := range fields {
			if v, ok := full[f]; ok {
				item[f] = v
			}
		}
		data = append(data, item)
	}
	resp := map[string]any{"data": data}
	if end > start {
		paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end - 1)}}
		if end < len(all) {
			next := *r.URL
			nq := next.Query()
			nq.Set("after", cursor(end-1))
			nq.Set("limit", strconv.Itoa(limit))
			next.RawQuery = nq.Encode()
			paging["next"] = s.srv.URL + (&url.URL{Path: next.Path, RawQuery: next.RawQuery}).String()
		}
		resp["paging"] = paging
	}
	writeJSON(w, http.StatusOK, resp)
}

func cursor(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("pos:" + strconv.Itoa(pos)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "pos:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(string(b), "pos:")
}
