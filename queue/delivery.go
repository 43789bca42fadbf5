package queue

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/messagebridge/messagebridge/store"
)

// Kind says what a delivery sends.
type Kind string

// The delivery kinds gateways handle.
const (
	KindText     Kind = "text"
	KindImage    Kind = "image"
	KindVideo    Kind = "video"
	KindTemplate Kind = "template"
	KindFlow     Kind = "flow"
)

// Delivery is one send handed to a gateway: one phone and one message,
// with saved messages already resolved to their text or media.
type Delivery struct {
	ItemID  int64
	Phone   string // E.164, "+919876543210"
	Attempt int
	Kind    Kind
	// Text is the body of a text message or the caption of an image/video.
	Text string
	// Media is the image or video to send.
	Media *Media
	// Template and Flow are set for their kinds.
	Template Template
	Flow     Flow
}

// Media is a stored image or video. Gateways that upload media once per
// object key their caches on ID (or SHA256) and read the bytes with Open.
type Media struct {
	ID     int64
	SHA256 string
	MIME   string
	Name   string
	Size   int64
	// PublicURL is set when the file can be fetched by the provider from a
	// public address; gateways may send it by link instead of uploading.
	PublicURL string
	Open      func(ctx context.Context) (io.ReadCloser, error)
}

// Template is a provider message template with every component's values:
// the header, the body's parameters (positional, or named when ParamNames
// is set) and the URL buttons' suffixes. The values are final: contact
// columns and placeholders are filled in before the send.
type Template struct {
	Name     string
	Language string
	Params   []string
	// ParamNames are the body parameters' names, as long as Params, for a
	// template with named parameters; empty for positional ones.
	ParamNames []string
	// Header is the header's value; nil for a template without one.
	Header *TemplateHeader
	// Buttons are the URL buttons' suffix values.
	Buttons []TemplateButton
}

// TemplateHeader is a template send's header: a text value (Text, named
// Name for named parameters), or an image, video or document (Media).
type TemplateHeader struct {
	// Format is "text", "image", "video" or "document".
	Format string
	Text   string
	Name   string
	Media  *Media
}

// TemplateButton is one URL button's suffix value.
type TemplateButton struct {
	// Index is the button's index among the template's buttons.
	Index int
	Text  string
}

// Flow is a provider flow (Shiprocket flow, WhatsApp Flow) by id.
type Flow struct {
	ID        string
	Variables map[string]string
}

// ErrWindowClosed marks a send the provider refused because it was
// free-form and the customer's service window is closed (Meta 131047). A
// gateway wraps it in its classified error; the loop closes the window and
// sends the item as the intake template, or holds it.
var ErrWindowClosed = errors.New("the customer's 24-hour window is closed")

// ErrNoLibrary means an item names a saved message but the loop has no
// library to read it from.
var ErrNoLibrary = errors.New("saved messages are not available in this process")

// delivery builds the Delivery for a claimed item.
func (l *Loop) delivery(ctx context.Context, it store.QueueItem) (Delivery, error) {
	d := Delivery{ItemID: it.ID, Phone: it.Phone, Attempt: it.Attempts}
	c := it.Content
	switch c.Kind {
	case store.ContentText:
		d.Kind, d.Text = KindText, c.Body
	case store.ContentTemplate:
		t, err := l.template(ctx, c)
		if err != nil {
			return Delivery{}, err
		}
		d.Kind, d.Template = KindTemplate, t
	case store.ContentFlow:
		d.Kind, d.Flow = KindFlow, Flow{ID: c.FlowID, Variables: c.FlowVariables}
	case store.ContentSavedMessage:
		if l.cfg.Library == nil {
			return Delivery{}, Classify(Permanent, "", ErrNoLibrary)
		}
		text, kind, media, err := l.cfg.Library.SavedMessage(ctx, c.SavedMessageID)
		if errors.Is(err, store.ErrNotFound) {
			return Delivery{}, Classify(Permanent, "", fmt.Errorf("saved message %d no longer exists", c.SavedMessageID))
		}
		if err != nil {
			return Delivery{}, Classify(Retry, "", fmt.Errorf("read saved message %d: %w", c.SavedMessageID, err))
		}
		d.Kind, d.Text, d.Media = kind, text, media
	default:
		return Delivery{}, Classify(Permanent, "", fmt.Errorf("unknown content kind %q", c.Kind))
	}
	return d, nil
}

// template is a template send's Template: every component's values, a
// media header resolved through the Library (a saved image or video
// message, or a media object when the Library is a MediaLibrary).
func (l *Loop) template(ctx context.Context, c store.QueueContent) (Template, error) {
	t := Template{Name: c.TemplateName, Language: c.TemplateLanguage, Params: c.TemplateParams, ParamNames: c.TemplateParamNames}
	for _, b := range c.TemplateButtons {
		t.Buttons = append(t.Buttons, TemplateButton{Index: b.Index, Text: b.Text})
	}
	h := c.TemplateHeader
	if h == nil {
		return t, nil
	}
	t.Header = &TemplateHeader{Format: h.Format, Text: h.Text, Name: h.Name}
	if h.Format == store.HeaderText {
		return t, nil
	}
	media, err := l.headerMedia(ctx, *h)
	if err != nil {
		return Template{}, err
	}
	t.Header.Media = media
	return t, nil
}

// headerMedia reads the image, video or document of a template's header.
func (l *Loop) headerMedia(ctx context.Context, h store.TemplateHeader) (*Media, error) {
	if l.cfg.Library == nil {
		return nil, Classify(Permanent, "", ErrNoLibrary)
	}
	var media *Media
	var err error
	what := ""
	switch {
	case h.SavedMessageID > 0:
		what = fmt.Sprintf("saved message %d", h.SavedMessageID)
		_, _, media, err = l.cfg.Library.SavedMessage(ctx, h.SavedMessageID)
	case h.MediaID > 0:
		what = fmt.Sprintf("media %d", h.MediaID)
		ml, ok := l.cfg.Library.(MediaLibrary)
		if !ok {
			return nil, Classify(Permanent, "", fmt.Errorf("template header %s: %w", what, ErrNoLibrary))
		}
		media, err = ml.Media(ctx, h.MediaID)
	default:
		return nil, Classify(Permanent, "", fmt.Errorf("the template's %s header names no saved message or media", h.Format))
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, Classify(Permanent, "", fmt.Errorf("the template header's %s no longer exists", what))
	}
	if err != nil {
		return nil, Classify(Retry, "", fmt.Errorf("read the template header's %s: %w", what, err))
	}
	if media == nil {
		return nil, Classify(Permanent, "", fmt.Errorf("the template header's %s has no image or video", what))
	}
	return media, nil
}

// Capabilities say what a gateway can send. Each gateway declares its own
// (in its gateways.Definition); the campaign and intake rules refuse
// content a gateway cannot carry before anything is queued.
type Capabilities struct {
	Text      bool
	Media     bool // images and videos
	Templates bool
	Flows     bool
}

// CanSend reports whether a gateway with caps can send kind, and if not,
// says why in words for an operator.
func (c Capabilities) CanSend(kind Kind) (bool, string) {
	switch kind {
	case KindText:
		return c.Text, "it cannot send plain text messages"
	case KindImage, KindVideo:
		return c.Media, "it cannot send images or videos"
	case KindTemplate:
		return c.Templates, "it has no message templates"
	case KindFlow:
		return c.Flows, "it cannot send flows"
	}
	return false, fmt.Sprintf("it cannot send %s messages", kind)
}
