package ops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// Template values: one syntax for chat (/campaign set, /send) and the
// intake.template_params setting. Words of key=value, a value with spaces
// in quotes:
//
//	header=<value>     a text header's value, or the name of a saved image
//	                   or video message for an image or video header
//	body=<a>|<b>|…     the body's positional values, in order, split at |
//	params=<a>,<b>     the older form of body= (split at commas, or at |
//	                   when the value holds one)
//	<name>=<value>     a named parameter (body or header) of a template
//	                   with named parameters: first_name={{name}}
//	button=<value>     the suffix of the template's only URL button;
//	buttonN=<value>    of the URL button at position N (1 = first button)
//
// A value is fixed text or a placeholder standing alone: {{name}} or
// {{Column}} (a contact's column) in campaigns, {{phone}} and {{staff}} in
// staff sends. The older {Column} is read the same.

// ParseTemplateValues reads template values (see above) from key=value
// words; the template's name and language are left empty.
func ParseTemplateValues(args []string) (Template, error) {
	var t Template
	for _, kv := range args {
		key, val, ok := strings.Cut(kv, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || key == "" {
			return Template{}, Errorf(EINVALID, "%q is not key=value: give template values as header=, body=a|b, button1= or <name>=<value>.", Echo(kv))
		}
		val = unquote(val)
		switch {
		case key == "header":
			t.Header = val
		case key == "body":
			t.Params = strings.Split(val, "|")
		case key == "params":
			sep := ","
			if strings.Contains(val, "|") {
				sep = "|"
			}
			t.Params = strings.Split(val, sep)
		case key == "button":
			t.setButton(0, val)
		case strings.HasPrefix(key, "button"):
			n, err := strconv.Atoi(key[len("button"):])
			if err != nil || n < 1 || n > 10 {
				return Template{}, Errorf(EINVALID, "%s= is not a button: use button1= for the first button, button2= for the second, or button= for the only URL button.", Echo(key))
			}
			t.setButton(n, val)
		case paramName.MatchString(key):
			if t.Named == nil {
				t.Named = map[string]string{}
			}
			t.Named[key] = val
		default:
			return Template{}, Errorf(EINVALID, "%s= is not a template value: use header=, body=a|b, button1= or the name of a named parameter (letters, digits and _).", Echo(key))
		}
	}
	return t, nil
}

// splitValues cuts a setting's template values into key=value words; a
// value in quotes keeps its spaces (header="Diwali poster").
func splitValues(s string) []string {
	var out []string
	var b strings.Builder
	inQuote, open := false, false
	for _, r := range s {
		switch {
		case inQuote && strings.ContainsRune(`"”“`, r):
			inQuote = false
		case !inQuote && strings.ContainsRune(`"“”„`, r):
			inQuote, open = true, true
		case !inQuote && unicode.IsSpace(r):
			if open {
				out = append(out, b.String())
				b.Reset()
				open = false
			}
		default:
			b.WriteRune(r)
			open = true
		}
	}
	if open {
		out = append(out, b.String())
	}
	return out
}

func (t *Template) setButton(n int, v string) {
	if t.Buttons == nil {
		t.Buttons = map[int]string{}
	}
	t.Buttons[n] = v
}

// HasValues reports whether any value was given.
func (t Template) HasValues() bool {
	return t.Params != nil || t.Header != "" || len(t.Named) > 0 || len(t.Buttons) > 0
}

// paramName is a named parameter's name as Meta allows it.
var paramName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func unquote(v string) string {
	if n, tail, ok := cutQuoted(v); ok && tail == "" {
		return n
	}
	return v
}

// cutQuoted reads "a value" at the start of v.
func cutQuoted(v string) (string, string, bool) {
	for _, q := range []string{`"`, "“", "”"} {
		if rest, ok := strings.CutPrefix(v, q); ok {
			for _, c := range []string{`"`, "”", "“"} {
				if i := strings.Index(rest, c); i >= 0 {
					return rest[:i], strings.TrimSpace(rest[i+len(c):]), true
				}
			}
		}
	}
	return "", v, false
}

// Placeholders a staff send may use.
const (
	PlaceholderPhone = "phone"
	PlaceholderStaff = "staff"
)

// entryShape is what a catalog entry expects: its synced shape, or a hand-
// made entry's body parameter count.
func entryShape(e CatalogEntry) store.TemplateShape {
	if e.Shape.IsZero() && e.Params > 0 {
		return store.TemplateShape{BodyParams: e.Params}
	}
	return e.Shape
}

// statusProblem says why a catalog entry cannot be sent (Meta did not
// approve it, or it is paused or deleted), "" when it can: a hand-made
// entry has no status and is trusted.
func statusProblem(e CatalogEntry) string {
	switch st := strings.ToUpper(strings.TrimSpace(e.Status)); st {
	case "", store.TemplateApproved:
		return ""
	case "DELETED":
		return fmt.Sprintf("the template %s was deleted at Meta; choose another (/templates sync, then /templates)", e.Name)
	default:
		return fmt.Sprintf("the template %s is %s at Meta; only an APPROVED template can be sent: wait for Meta or choose another (/templates sync, then /templates)", e.Name, st)
	}
}

// shapeNeeds lists what a template of shape needs in a send, in words.
func shapeNeeds(shape store.TemplateShape) []string {
	var needs []string
	switch shape.Header {
	case store.HeaderImage, store.HeaderVideo, store.HeaderDocument:
		needs = append(needs, article(shape.Header)+" "+shape.Header+" header")
	case store.HeaderText:
		if shape.HeaderParams > 0 && shape.HeaderName == "" {
			needs = append(needs, "a header value")
		}
	}
	if shape.Named() {
		names := slices.Clone(shape.BodyNames)
		if shape.HeaderName != "" {
			names = append([]string{shape.HeaderName}, names...)
		}
		if len(names) == 1 {
			needs = append(needs, "a value for "+names[0])
		} else {
			needs = append(needs, "values for "+strings.Join(names, ", "))
		}
	} else if shape.BodyParams > 0 {
		needs = append(needs, words.Count(shape.BodyParams, "body value"))
	}
	switch len(shape.URLButtons) {
	case 0:
	case 1:
		needs = append(needs, "a value for the URL button")
	default:
		var bs []string
		for _, i := range shape.URLButtons {
			bs = append(bs, "button"+strconv.Itoa(i+1)+"=")
		}
		needs = append(needs, "values for its URL buttons ("+strings.Join(bs, ", ")+")")
	}
	return needs
}

// ShapeProblem checks a template send's content against the template's
// shape, named name for people: "" when every piece is there and nothing
// else, or one sentence saying what the template needs and what is wrong,
// e.g. "diwali_offer needs an image header and 1 body value: no header was
// given (header=<saved image or video>)".
func ShapeProblem(name string, shape store.TemplateShape, c store.QueueContent) string {
	var wrong []string
	h := c.TemplateHeader
	switch shape.Header {
	case store.HeaderImage, store.HeaderVideo, store.HeaderDocument:
		switch {
		case h == nil || h.SavedMessageID == 0 && h.MediaID == 0:
			wrong = append(wrong, "no header was given (header=<saved "+shape.Header+" message>)")
		case h.Format != shape.Header:
			wrong = append(wrong, "the header given is "+article(h.Format)+" "+h.Format)
		}
	case store.HeaderText:
		switch {
		case shape.HeaderParams == 0 && h != nil:
			wrong = append(wrong, "its header is fixed text, so leave header= out")
		case shape.HeaderParams > 0 && (h == nil || h.Format != store.HeaderText || strings.TrimSpace(h.Text) == ""):
			if shape.HeaderName != "" {
				wrong = append(wrong, shape.HeaderName+" (its header) has no value")
			} else {
				wrong = append(wrong, "no header value was given (header=<text>)")
			}
		}
	default:
		if h != nil {
			wrong = append(wrong, "it has no header, so leave header= out")
		}
	}
	if shape.Named() {
		want := map[string]bool{}
		for _, n := range shape.BodyNames {
			want[n] = true
		}
		got := map[string]bool{}
		for i, n := range c.TemplateParamNames {
			got[n] = i < len(c.TemplateParams) && strings.TrimSpace(c.TemplateParams[i]) != ""
			if !want[n] {
				wrong = append(wrong, n+" is not one of its parameters")
			}
		}
		var missing []string
		for _, n := range shape.BodyNames {
			if !got[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			wrong = append(wrong, words.List(missing)+" "+words.Noun(len(missing), "has")+" no value")
		}
		if len(c.TemplateParamNames) == 0 && len(c.TemplateParams) > 0 {
			wrong = append(wrong, "it takes named values (name=value), not body=")
		}
	} else {
		if len(c.TemplateParamNames) > 0 {
			wrong = append(wrong, "it takes positional values (body=a|b), not "+c.TemplateParamNames[0]+"=")
		} else if n := len(c.TemplateParams); n != shape.BodyParams {
			wrong = append(wrong, bodyGiven(n))
		} else {
			for i, p := range c.TemplateParams {
				if strings.TrimSpace(p) == "" {
					wrong = append(wrong, fmt.Sprintf("body value %d is empty", i+1))
				}
			}
		}
	}
	gotButtons := map[int]bool{}
	for _, b := range c.TemplateButtons {
		gotButtons[b.Index] = strings.TrimSpace(b.Text) != ""
		if !slices.Contains(shape.URLButtons, b.Index) {
			wrong = append(wrong, fmt.Sprintf("button%d is not a URL button that takes a value", b.Index+1))
		}
	}
	for _, i := range shape.URLButtons {
		if !gotButtons[i] {
			if len(shape.URLButtons) == 1 {
				wrong = append(wrong, fmt.Sprintf("the URL button has no value (button%d=)", i+1))
			} else {
				wrong = append(wrong, fmt.Sprintf("URL button %d has no value (button%d=)", i+1, i+1))
			}
		}
	}
	if len(wrong) == 0 {
		return ""
	}
	needs := shapeNeeds(shape)
	if len(needs) == 0 {
		return fmt.Sprintf("%s takes no values: %s", name, strings.Join(wrong, "; "))
	}
	return fmt.Sprintf("%s needs %s: %s", name, words.List(needs), strings.Join(wrong, "; "))
}

// templateSend is a template resolved and checked: the content it sends,
// and the catalog entry it came from (ok false for a template given by its
// own name and language, whose shape is not known).
type templateSend struct {
	content store.QueueContent
	entry   CatalogEntry
	known   bool
}

// buildTemplate resolves t (a catalog name, or a template's own name and
// language, with values as given) into the content it sends, and checks
// it whole: the template is approved, its values fit its shape, a media
// header names a usable saved image or video of the header's kind, and
// the placeholders are ones the send can fill (staff: {{phone}} and
// {{staff}} only). Nothing is left for the provider to discover.
func (s *Service) buildTemplate(ctx context.Context, t Template, staff bool) (templateSend, error) {
	const raw = "A template that is not saved is given as template=<name>:<language>, e.g. template=order_update:en."
	name := strings.TrimSpace(t.Name)
	if name == "" {
		return templateSend{}, Errorf(EINVALID, "A template needs a saved name, or a name and a language, e.g. template=order_update:en.")
	}
	lang, err := normLanguage(t.Language)
	if err != nil {
		return templateSend{}, err
	}
	e, known, err := s.lookupCatalog(ctx, CatalogTemplate, name)
	if err != nil {
		return templateSend{}, err
	}
	c := store.QueueContent{Kind: store.ContentTemplate}
	shape := store.TemplateShape{BodyParams: len(t.Params)}
	label := name
	if known {
		if why := statusProblem(e); why != "" {
			return templateSend{}, Errorf(ECONFLICT, "%s.", upperFirst(why))
		}
		if lang == "" {
			lang = e.Language
		}
		c.TemplateName, shape, label = e.ExternalID, entryShape(e), e.Name
	} else {
		if lang == "" || !externalIDShape(name) || len([]rune(name)) > maxExternalID {
			return templateSend{}, s.unknownName(ctx, CatalogTemplate, name, raw)
		}
		c.TemplateName = name
		// Its shape is not known: the values make it, and a header naming
		// a saved image or video is that media.
		if t.Header != "" {
			shape.Header, shape.HeaderParams = store.HeaderText, 1
			if m, err := s.st.SavedMessageByName(ctx, t.Header); err == nil && (m.Kind == store.HeaderImage || m.Kind == store.HeaderVideo) {
				shape.Header, shape.HeaderParams = m.Kind, 0
			}
		}
		for n := range t.Named {
			shape.BodyNames = append(shape.BodyNames, n)
		}
		slices.Sort(shape.BodyNames)
		for n := range t.Buttons {
			if n > 0 {
				shape.URLButtons = append(shape.URLButtons, n-1)
			}
		}
		slices.Sort(shape.URLButtons)
	}
	c.TemplateLanguage = lang
	if err := s.fillTemplateValues(ctx, &c, shape, t); err != nil {
		return templateSend{}, err
	}
	if why := ShapeProblem(label, shape, c); known && why != "" {
		return templateSend{}, Errorf(EINVALID, "%s.", why)
	}
	if staff {
		if bad := foreignPlaceholders(c, func(p string) bool { return p == PlaceholderPhone || p == PlaceholderStaff }); len(bad) > 0 {
			return templateSend{}, Errorf(EINVALID, "%s: a staff send fills only {{phone}} and {{staff}}; give fixed text for the rest.",
				words.List(bad))
		}
	}
	return templateSend{content: c, entry: e, known: known}, nil
}

// fillTemplateValues puts t's values into c as the template's shape takes
// them: named values by the shape's names, a media header as the saved
// message it names, URL buttons by their index.
func (s *Service) fillTemplateValues(ctx context.Context, c *store.QueueContent, shape store.TemplateShape, t Template) error {
	named := t.Named
	if shape.Named() {
		if shape.HeaderName != "" {
			if v, ok := named[shape.HeaderName]; ok && t.Header == "" {
				t.Header = v
			}
		}
		for _, n := range shape.BodyNames {
			if v, ok := named[n]; ok {
				c.TemplateParamNames = append(c.TemplateParamNames, n)
				c.TemplateParams = append(c.TemplateParams, v)
			}
		}
		extra := make([]string, 0)
		for n := range named {
			if !slices.Contains(shape.BodyNames, n) && n != shape.HeaderName {
				extra = append(extra, n)
			}
		}
		slices.Sort(extra)
		for _, n := range extra {
			c.TemplateParamNames = append(c.TemplateParamNames, n)
			c.TemplateParams = append(c.TemplateParams, named[n])
		}
		if t.Params != nil && len(c.TemplateParamNames) == 0 {
			c.TemplateParams = t.Params
		}
	} else {
		c.TemplateParams = t.Params
		if len(named) > 0 {
			for n := range named {
				c.TemplateParamNames = append(c.TemplateParamNames, n)
			}
			slices.Sort(c.TemplateParamNames)
			c.TemplateParams = make([]string, 0, len(c.TemplateParamNames))
			for _, n := range c.TemplateParamNames {
				c.TemplateParams = append(c.TemplateParams, named[n])
			}
		}
	}
	if t.Header != "" {
		switch shape.Header {
		case store.HeaderImage, store.HeaderVideo, store.HeaderDocument:
			h, err := s.mediaHeader(ctx, t.Header, shape.Header)
			if err != nil {
				return err
			}
			c.TemplateHeader = h
		default:
			c.TemplateHeader = &store.TemplateHeader{Format: store.HeaderText, Text: t.Header, Name: shape.HeaderName}
		}
	}
	for n, v := range t.Buttons {
		idx := n - 1
		if n == 0 {
			if len(shape.URLButtons) != 1 {
				return Errorf(EINVALID, "button= is for a template with one URL button; give button1=, button2=… by the button's position.")
			}
			idx = shape.URLButtons[0]
		}
		c.TemplateButtons = append(c.TemplateButtons, store.TemplateButton{Index: idx, Text: v})
	}
	slices.SortFunc(c.TemplateButtons, func(a, b store.TemplateButton) int { return a.Index - b.Index })
	return nil
}

// mediaHeader is a media header from the saved image or video message
// called name, which must be usable and of the header's format.
func (s *Service) mediaHeader(ctx context.Context, name, format string) (*store.TemplateHeader, error) {
	m, err := s.st.SavedMessageByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(ENOTFOUND, "There is no saved message called %q for the template's %s header; save the %s first (/messages lists them).", Echo(name), format, format)
	}
	if err != nil {
		return nil, err
	}
	if !m.Usable() {
		return nil, unusableMessage(m)
	}
	if m.Kind != format {
		return nil, Errorf(EINVALID, "The template's header is %s %s, and the saved message %q is %s %s.", article(format), format, m.Name, article(m.Kind), m.Kind)
	}
	return &store.TemplateHeader{Format: format, SavedMessageID: m.ID}, nil
}

// templateValues lists every value of a template send that may hold a
// placeholder: body values, a text header, URL button suffixes.
func templateValues(c store.QueueContent) []string {
	vals := slices.Clone(c.TemplateParams)
	if h := c.TemplateHeader; h != nil && h.Format == store.HeaderText {
		vals = append(vals, h.Text)
	}
	for _, b := range c.TemplateButtons {
		vals = append(vals, b.Text)
	}
	return vals
}

// foreignPlaceholders lists the placeholders in c that ok does not take,
// as written ({{City}}).
func foreignPlaceholders(c store.QueueContent, ok func(p string) bool) []string {
	var bad []string
	for _, v := range templateValues(c) {
		if p, is := campaign.Placeholder(v); is && !ok(strings.ToLower(p)) {
			bad = append(bad, "{{"+p+"}}")
		}
	}
	return bad
}

// fillStaff fills {{phone}} and {{staff}} in a staff template send.
func fillStaff(c store.QueueContent, phone, staff string) store.QueueContent {
	vars := map[string]string{PlaceholderPhone: phone, PlaceholderStaff: staff}
	return campaign.FillContent(c, "", vars)
}

// templateEntryFor finds the catalog entry a stored template send came
// from: the one with its provider name and language, else one with its
// name; ok false when none has.
func templateEntryFor(list []store.CatalogEntry, c store.QueueContent) (CatalogEntry, bool) {
	var byName *store.CatalogEntry
	for i, e := range list {
		if e.ExternalID != c.TemplateName {
			continue
		}
		if e.Language == c.TemplateLanguage {
			return catalogEntry(e), true
		}
		if byName == nil {
			byName = &list[i]
		}
	}
	if byName != nil {
		return catalogEntry(*byName), true
	}
	return CatalogEntry{}, false
}

// storedTemplateProblem checks a stored template send again against the
// catalog now (a template paused, deleted or changed at Meta since the send
// was set up) and its media header's saved message; "" when it still fits.
func storedTemplateProblem(list []store.CatalogEntry, c store.QueueContent, savedMessage func(id int64) (store.SavedMessage, error)) (string, error) {
	e, ok := templateEntryFor(list, c)
	if ok {
		if why := statusProblem(e); why != "" {
			return why, nil
		}
		if why := ShapeProblem(e.Name, entryShape(e), c); why != "" {
			return why, nil
		}
	}
	if h := c.TemplateHeader; h != nil && h.SavedMessageID > 0 {
		m, err := savedMessage(h.SavedMessageID)
		if errors.Is(err, store.ErrNotFound) {
			return "the saved message of its template's header is gone; set another with header=<saved " + h.Format + " message>", nil
		}
		if err != nil {
			return "", err
		}
		if !m.Usable() {
			return "its template's header: " + strings.TrimSuffix(unusableMessage(m).Error(), "."), nil
		}
	}
	return "", nil
}

// bodyGiven says how many body values came.
func bodyGiven(n int) string {
	switch n {
	case 0:
		return "no body value was given (body=a|b)"
	case 1:
		return "1 body value was given"
	}
	return words.Count(n, "body value") + " were given"
}

// upperFirst makes s start with a capital letter.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// article is "a" or "an" before word.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}
