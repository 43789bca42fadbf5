package store

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
)

// Template header formats, as a template's shape and a send name them.
const (
	HeaderNone     = ""
	HeaderText     = "text"
	HeaderImage    = "image"
	HeaderVideo    = "video"
	HeaderDocument = "document"
	HeaderLocation = "location"
)

// Template statuses as Meta reports them. Only an approved template can be
// sent; a hand-made catalog entry has no status and is trusted.
const (
	TemplateApproved = "APPROVED"
	TemplatePaused   = "PAUSED"
	TemplateRejected = "REJECTED"
	TemplatePending  = "PENDING"
	TemplateDisabled = "DISABLED"
)

// TemplateShape is what an approved template expects in a send: the
// header's format and parameters, the body's parameters (positional, or
// named), and the URL buttons that take a suffix. It is stored as JSON in
// catalog_entries.shape.
type TemplateShape struct {
	// Header is one of the Header* formats.
	Header string `json:"header,omitempty"`
	// HeaderParams is how many parameters a text header takes (0 or 1);
	// HeaderName names it when the template uses named parameters.
	HeaderParams int    `json:"header_params,omitempty"`
	HeaderName   string `json:"header_name,omitempty"`
	// BodyParams is how many parameters the body takes; BodyNames are
	// their names, in order, when the template uses named parameters.
	BodyParams int      `json:"body_params,omitempty"`
	BodyNames  []string `json:"body_names,omitempty"`
	// URLButtons are the indexes (in the template's buttons) of the URL
	// buttons whose link ends in a parameter.
	URLButtons []int `json:"url_buttons,omitempty"`
}

// Named reports whether the template uses named parameters.
func (s TemplateShape) Named() bool { return len(s.BodyNames) > 0 || s.HeaderName != "" }

// IsZero reports a shape with nothing in it (a template with no header,
// no parameters and no URL buttons, or one typed in by hand).
func (s TemplateShape) IsZero() bool {
	return s.Header == "" && s.HeaderParams == 0 && s.HeaderName == "" && s.BodyParams == 0 &&
		len(s.BodyNames) == 0 && len(s.URLButtons) == 0
}

// Value stores the shape as JSON ("" for the zero shape).
func (s TemplateShape) Value() (driver.Value, error) {
	if s.IsZero() {
		return "", nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan reads the shape from its JSON column.
func (s *TemplateShape) Scan(src any) error {
	*s = TemplateShape{}
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("template shape: cannot scan %T", src)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return json.Unmarshal(b, s)
}

// TemplateHeader is the header of one template send: a text value, or an
// image, video or document from a saved message or the media library.
type TemplateHeader struct {
	// Format is one of the Header* formats.
	Format string `json:"format"`
	// Text is a text header's parameter (it may hold {{column}}); Name
	// is its name for a template with named parameters.
	Text string `json:"text,omitempty"`
	Name string `json:"name,omitempty"`
	// SavedMessageID names a saved image or video; MediaID a media
	// object. One of them is set for a media header.
	SavedMessageID int64 `json:"saved_message_id,omitempty"`
	MediaID        int64 `json:"media_id,omitempty"`
}

// TemplateButton is the value of one URL button's suffix parameter.
type TemplateButton struct {
	// Index is the button's index among the template's buttons.
	Index int `json:"index"`
	// Text is the suffix (it may hold {{column}}).
	Text string `json:"text"`
}

// templateArgs is how template_params stores more than positional body
// parameters. Positional body parameters alone stay a JSON array, as
// before migration 00010.
type templateArgs struct {
	Body    []string         `json:"body,omitempty"`
	Names   []string         `json:"names,omitempty"`
	Header  *TemplateHeader  `json:"header,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
}

// encodeTemplateArgs is c's template_params column value ("" for none).
func encodeTemplateArgs(c QueueContent) (string, error) {
	if c.TemplateHeader == nil && len(c.TemplateParamNames) == 0 && len(c.TemplateButtons) == 0 {
		if len(c.TemplateParams) == 0 {
			return "", nil
		}
		b, err := json.Marshal(c.TemplateParams)
		return string(b), err
	}
	if len(c.TemplateParamNames) > 0 && len(c.TemplateParamNames) != len(c.TemplateParams) {
		return "", errors.New("template params: each named parameter needs a value")
	}
	b, err := json.Marshal(templateArgs{Body: c.TemplateParams, Names: c.TemplateParamNames,
		Header: c.TemplateHeader, Buttons: c.TemplateButtons})
	return string(b), err
}

// decodeTemplateArgs fills c's template fields from a template_params
// column value: a JSON array (positional body parameters) or object.
func decodeTemplateArgs(s string, c *QueueContent) error {
	b := bytes.TrimSpace([]byte(s))
	if len(b) == 0 {
		return nil
	}
	if b[0] == '[' {
		return json.Unmarshal(b, &c.TemplateParams)
	}
	var a templateArgs
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	c.TemplateParams, c.TemplateParamNames, c.TemplateHeader, c.TemplateButtons = a.Body, a.Names, a.Header, a.Buttons
	return nil
}
