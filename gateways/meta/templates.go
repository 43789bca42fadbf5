package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// The template list: GET /{version}/{waba-id}/message_templates, one page
// of up to templatePageSize templates at a time.
const (
	templateFields   = "name,language,status,category,parameter_format,components"
	templatePageSize = 100
	// maxTemplatePages bounds one listing: 100 pages of 100 templates is
	// far more than a business account may hold.
	maxTemplatePages = 100
	// maxTemplatePage bounds one page's body: 100 templates with long
	// bodies and examples stay well below it.
	maxTemplatePage = 4 << 20
)

// Wire format of the template list (spec: WhatsApp Business Account >
// Message Templates).
type (
	templatePage struct {
		Data   []templateData `json:"data"`
		Paging struct {
			Cursors struct {
				After string `json:"after"`
			} `json:"cursors"`
			Next string `json:"next"`
		} `json:"paging"`
	}
	templateData struct {
		Name            string                 `json:"name"`
		Language        string                 `json:"language"`
		Status          string                 `json:"status"`
		Category        string                 `json:"category"`
		ParameterFormat string                 `json:"parameter_format"`
		Components      []templateComponentDef `json:"components"`
	}
	templateComponentDef struct {
		Type    string `json:"type"`
		Format  string `json:"format"`
		Text    string `json:"text"`
		Buttons []struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"buttons"`
	}
)

// Templates lists every message template of the business account
// (meta.waba_id), following the list's pages, as catalog entries of kind
// template: ExternalID is the template's name, with its language, status,
// category, body parameter count and shape. Name is left for the caller.
// Errors are classified like a send's and carry no credential.
func (c *Client) Templates(ctx context.Context) ([]store.CatalogEntry, error) {
	if c.creds == nil {
		return nil, gateways.NotReady("meta templates: no credentials are configured")
	}
	cr, err := c.creds(ctx)
	if err != nil {
		return nil, queue.Classify(queue.Retry, "", fmt.Errorf("meta templates: read credentials: %w", err))
	}
	first, err := cr.templatesURL()
	if errors.Is(err, errTemplatesNotSetUp) {
		// Nothing to read until an admin sets it: the scheduled sync skips
		// quietly, a sync from chat or the page says what to set.
		return nil, gateways.NotReady(err.Error())
	}
	if err != nil {
		return nil, queue.Classify(queue.SenderBlocked, "", err)
	}
	var out []store.CatalogEntry
	seen := map[string]bool{}
	next := first
	for page := 1; ; page++ {
		if page > maxTemplatePages {
			return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("meta templates: the list has more than %d pages; stopped", maxTemplatePages))
		}
		seen[next.String()] = true
		p, err := c.templatePage(ctx, cr, next)
		if err != nil {
			return nil, err
		}
		for _, td := range p.Data {
			e, ok := catalogEntry(td)
			if !ok {
				c.log.WarnContext(ctx, "template without a name or language skipped", "name", bound(clean(td.Name, cr.secrets())))
				continue
			}
			out = append(out, e)
		}
		if p.Paging.Next == "" {
			break
		}
		next, err = nextTemplatePage(first, p.Paging.Next, p.Paging.Cursors.After)
		if err != nil {
			return nil, queue.Classify(queue.Permanent, "", err)
		}
		if seen[next.String()] {
			return nil, queue.Classify(queue.Permanent, "", errors.New("meta templates: the list's next page repeats an earlier one; stopped"))
		}
	}
	c.log.DebugContext(ctx, "templates listed", "templates", len(out))
	return out, nil
}

// errTemplatesNotSetUp marks a template list that cannot be read until an
// admin sets something.
var errTemplatesNotSetUp = errors.New("meta templates: not set up")

// templatesURL is the first page's URL.
func (c Credentials) templatesURL() (*url.URL, error) {
	if strings.TrimSpace(c.AccessToken) == "" {
		return nil, fmt.Errorf("%w: the access token is empty (meta.access_token)", errTemplatesNotSetUp)
	}
	waba := strings.TrimSpace(c.WABAID)
	if waba == "" {
		return nil, fmt.Errorf("%w: the WhatsApp Business Account id is empty: set meta.waba_id (MB_META_WABA_ID)", errTemplatesNotSetUp)
	}
	if strings.Trim(waba, "0123456789") != "" {
		return nil, errors.New("meta templates: meta.waba_id must be digits only")
	}
	root, err := c.graphRoot()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(root + "/" + waba + "/message_templates")
	if err != nil {
		return nil, errors.New("meta templates: cannot build the list's URL")
	}
	u.RawQuery = url.Values{"fields": {templateFields}, "limit": {fmt.Sprint(templatePageSize)}}.Encode()
	return u, nil
}

// nextTemplatePage is the URL of the page after the one that named next
// and after: the first page's URL with the after cursor when there is
// one, else next itself without an access token in it. A next URL on
// another host (or scheme) is refused: the token would go there.
func nextTemplatePage(first *url.URL, next, after string) (*url.URL, error) {
	n, err := url.Parse(next)
	if err != nil || n.Scheme != first.Scheme || !strings.EqualFold(n.Host, first.Host) || n.User != nil {
		return nil, errors.New("meta templates: the list's next page is not on the Graph API's host; refused")
	}
	if after != "" {
		u := *first
		q := u.Query()
		q.Set("after", after)
		u.RawQuery = q.Encode()
		return &u, nil
	}
	q := n.Query()
	q.Del("access_token")
	n.RawQuery = q.Encode()
	n.Fragment = ""
	return n, nil
}

// templatePage reads one page of the list.
func (c *Client) templatePage(ctx context.Context, cr Credentials, u *url.URL) (templatePage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return templatePage{}, queue.Classify(queue.SenderBlocked, "", &safeError{msg: "meta templates: cannot build the request", cause: err})
	}
	body, err := c.doLimit(ctx, cr, req, "templates", maxTemplatePage)
	if err != nil {
		return templatePage{}, err
	}
	var p templatePage
	if err := json.Unmarshal(body, &p); err != nil {
		return templatePage{}, queue.Classify(queue.Retry, "", errors.New("meta templates: the list's page is not the expected JSON"))
	}
	return p, nil
}

// placeholderRE matches a template variable: {{1}} or {{first_name}}.
var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}\s]+)\s*\}\}`)

// placeholders returns the distinct variables of text in order of first
// appearance.
func placeholders(text string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// catalogEntry turns one listed template into a catalog entry; ok is
// false for one without a name or language.
func catalogEntry(td templateData) (store.CatalogEntry, bool) {
	if strings.TrimSpace(td.Name) == "" || strings.TrimSpace(td.Language) == "" {
		return store.CatalogEntry{}, false
	}
	named := strings.EqualFold(td.ParameterFormat, "NAMED")
	if td.ParameterFormat == "" {
		// Older answers carry no parameter_format: a variable that is not
		// a number means named parameters.
		for _, comp := range td.Components {
			for _, v := range placeholders(comp.Text) {
				if strings.Trim(v, "0123456789") != "" {
					named = true
				}
			}
		}
	}
	var shape store.TemplateShape
	for _, comp := range td.Components {
		switch strings.ToUpper(comp.Type) {
		case "HEADER":
			shape.Header = strings.ToLower(comp.Format)
			if shape.Header == store.HeaderText {
				vars := placeholders(comp.Text)
				shape.HeaderParams = len(vars)
				if named && len(vars) > 0 {
					shape.HeaderName = vars[0]
				}
			}
		case "BODY":
			vars := placeholders(comp.Text)
			shape.BodyParams = len(vars)
			if named && len(vars) > 0 {
				shape.BodyNames = vars
			}
		case "BUTTONS":
			for i, b := range comp.Buttons {
				if strings.EqualFold(b.Type, "URL") && placeholderRE.MatchString(b.URL) {
					shape.URLButtons = append(shape.URLButtons, i)
				}
			}
		}
	}
	return store.CatalogEntry{Kind: store.CatalogTemplate, ExternalID: td.Name, Language: td.Language,
		Status: td.Status, Category: td.Category, ParamCount: shape.BodyParams, Shape: shape}, true
}
