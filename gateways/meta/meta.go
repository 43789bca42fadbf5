// Package meta is the gateway for Meta's WhatsApp Cloud API (Graph API): it
// sends text, image, video, template (header, body and URL-button values)
// and flow messages through POST /{version}/{phone-number-id}/messages,
// uploads media once per media object and phone number, classifies Graph
// errors on their codes (131047: the customer's window is closed), lists
// the business account's templates, and takes delivery receipts and
// customers' messages from Meta's signed webhooks.
//
// The wire format follows shared/docs/providers.md §1 and the official
// OpenAPI spec (v23.0); the package tests validate every request body
// against that spec.
package meta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// Name is the gateway's name in settings, on queue items and in receipts.
const Name = "meta"

// Defaults for Credentials fields left empty.
const (
	DefaultGraphVersion = "v23.0"
	DefaultBaseURL      = "https://graph.facebook.com"
)

// MediaTTL is how long an uploaded media id stays usable at Meta.
const MediaTTL = 30 * 24 * time.Hour

const (
	// maxResponse bounds how much of a Graph response is read.
	maxResponse = 1 << 20
	// defaultTimeout bounds one request when Options.HTTPClient is nil;
	// uploads of 16 MB videos need more than a message send.
	defaultTimeout = 2 * time.Minute
	// defaultFlowCTA is the flow button text when Variables["cta"] is unset.
	defaultFlowCTA = "Open"
)

var _ queue.Sender = (*Client)(nil)

// Credentials are the settings of one Meta app and phone number.
type Credentials struct {
	AccessToken   string // secret
	PhoneNumberID string
	// WABAID is the WhatsApp Business Account id (meta.waba_id): the
	// template list is read from it. Sending does not need it.
	WABAID       string
	GraphVersion string // default "v23.0"
	BaseURL      string // default "https://graph.facebook.com"; tests point it at httptest
	AppSecret    string // secret: verifies X-Hub-Signature-256
	VerifyToken  string // secret: webhook GET handshake
	// MediaByLink sends images and videos (and a template's media header)
	// by Media.PublicURL instead of uploading them, when PublicURL is set.
	MediaByLink bool
	// Secrets are the values of every other secret setting (CredentialsFrom
	// fills them in), redacted from provider text like the three above.
	Secrets []string
}

// secrets lists the credential values that must never appear in errors or
// logs.
func (c Credentials) secrets() []string {
	return append([]string{c.AccessToken, c.AppSecret, c.VerifyToken}, c.Secrets...)
}

var versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// notReady says why c cannot send yet, "" when it can: the readiness
// check and Send share it.
func (c Credentials) notReady() string {
	switch {
	case strings.TrimSpace(c.AccessToken) == "":
		return "not set up: the access token is empty"
	case strings.TrimSpace(c.PhoneNumberID) == "":
		return "not set up: the phone number id is empty"
	}
	return ""
}

// endpoint validates the credentials needed to send and returns the base
// of the phone number's endpoints: {BaseURL}/{version}/{phone-number-id}.
func (c Credentials) endpoint() (string, error) {
	if p := c.notReady(); p != "" {
		return "", gateways.NotReady(p)
	}
	if strings.Trim(c.PhoneNumberID, "0123456789") != "" {
		return "", errors.New("meta: the phone number id must be digits only")
	}
	root, err := c.graphRoot()
	if err != nil {
		return "", err
	}
	return root + "/" + c.PhoneNumberID, nil
}

// graphRoot validates the Graph version and base URL and returns
// {BaseURL}/{version}.
func (c Credentials) graphRoot() (string, error) {
	version := c.GraphVersion
	if version == "" {
		version = DefaultGraphVersion
	}
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("meta: graph version %q is not like v23.0", version)
	}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", errors.New("meta: the base URL must be an http(s) URL without query or user info")
	}
	return strings.TrimRight(base, "/") + "/" + version, nil
}

// MediaCache remembers the ids Meta gave uploaded media; *store.DB
// satisfies it.
type MediaCache interface {
	GatewayMediaID(ctx context.Context, mediaID int64, gateway, account string) (string, bool, error)
	PutGatewayMediaID(ctx context.Context, mediaID int64, gateway, account, providerID string, expiresAt time.Time) error
}

// Options configure a Client.
type Options struct {
	// Credentials is read on every send and webhook request: admins change
	// them at run time.
	Credentials func(ctx context.Context) (Credentials, error)
	// Media caches upload ids; nil uploads media on every send.
	Media      MediaCache
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// Client sends through the Cloud API and handles its webhooks. It is safe
// for concurrent use.
type Client struct {
	creds func(ctx context.Context) (Credentials, error)
	media MediaCache
	http  *http.Client
	log   *slog.Logger
	now   func() time.Time
	// uploads serialises uploads of one media object to one phone number,
	// so concurrent sends of the same image upload it once.
	uploads keyedLocks
}

// New returns a Client.
func New(o Options) *Client {
	c := &Client{creds: o.Credentials, media: o.Media, http: o.HTTPClient, log: o.Logger, now: o.Now}
	if c.http == nil {
		c.http = &http.Client{Timeout: defaultTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "gateways.meta")
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// credentials reads the current credentials and checks they can send.
func (c *Client) credentials(ctx context.Context) (Credentials, string, error) {
	if c.creds == nil {
		return Credentials{}, "", queue.Classify(queue.SenderBlocked, "", errors.New("meta: no credentials are configured"))
	}
	cr, err := c.creds(ctx)
	if err != nil {
		return Credentials{}, "", queue.Classify(queue.Retry, "", fmt.Errorf("meta: read credentials: %w", err))
	}
	base, err := cr.endpoint()
	if errors.Is(err, gateways.ErrNotReady) {
		return cr, "", err
	}
	if err != nil {
		return cr, "", queue.Classify(queue.SenderBlocked, "", err)
	}
	return cr, base, nil
}

// Send sends one delivery and returns Meta's message id (the wamid).
// Errors are *queue.SendError with the Graph error code.
func (c *Client) Send(ctx context.Context, d queue.Delivery) (string, error) {
	cr, base, err := c.credentials(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "send not attempted", "item", d.ItemID, "err", redact(err.Error(), cr.secrets()))
		return "", err
	}
	msg, err := c.message(ctx, cr, base, d)
	if err != nil {
		c.logFailure(ctx, cr, d, err)
		return "", err
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return "", queue.Classify(queue.Permanent, "", fmt.Errorf("meta: encode message: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/messages", bytes.NewReader(body))
	if err != nil {
		return "", queue.Classify(queue.SenderBlocked, "", &safeError{msg: "meta send: cannot build the request", cause: err})
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(ctx, cr, req, "send")
	if err != nil {
		c.logFailure(ctx, cr, d, err)
		return "", err
	}
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(resp, &out); err != nil || len(out.Messages) == 0 || out.Messages[0].ID == "" {
		// The outcome is unknown; Retry risks a duplicate, but failing
		// would drop a message that Meta may not have taken.
		err := queue.Classify(queue.Retry, "", errors.New("meta send: the response carried no message id"))
		c.logFailure(ctx, cr, d, err)
		return "", err
	}
	id := out.Messages[0].ID
	c.log.DebugContext(ctx, "sent", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "kind", d.Kind, "provider_id", id)
	return id, nil
}

func (c *Client) logFailure(ctx context.Context, cr Credentials, d queue.Delivery, err error) {
	class, _ := queue.ClassOf(err)
	c.log.WarnContext(ctx, "send failed", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "kind", d.Kind,
		"class", class.String(), "err", redact(err.Error(), cr.secrets()))
}

// do runs an authorised request and returns the body of a 2xx response, or
// a classified error.
func (c *Client) do(ctx context.Context, cr Credentials, req *http.Request, op string) ([]byte, error) {
	return c.doLimit(ctx, cr, req, op, maxResponse)
}

// doLimit is do for a response of up to limit bytes: a longer 2xx body is
// an error (an error body is cut to limit).
func (c *Client) doLimit(ctx context.Context, cr Credentials, req *http.Request, op string, limit int64) ([]byte, error) {
	req.Header.Set("Authorization", "Bearer "+cr.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "messagebridge")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, op, err, cr.secrets())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, transportError(ctx, op, err, cr.secrets())
	}
	tooLong := int64(len(body)) > limit
	if tooLong {
		body = body[:limit]
	}
	if resp.StatusCode/100 != 2 {
		return nil, apiError(op, resp, body, cr.secrets())
	}
	if tooLong {
		return nil, queue.Classify(queue.Retry, "", fmt.Errorf("meta %s: the response is larger than %d bytes", op, limit))
	}
	return body, nil
}

// Wire format of POST /{version}/{phone-number-id}/messages (§1.2).
type (
	message struct {
		MessagingProduct string       `json:"messaging_product"`
		RecipientType    string       `json:"recipient_type"`
		To               string       `json:"to"`
		Type             string       `json:"type"`
		Text             *textObject  `json:"text,omitempty"`
		Image            *mediaObject `json:"image,omitempty"`
		Video            *mediaObject `json:"video,omitempty"`
		Template         *template    `json:"template,omitempty"`
		Interactive      *interactive `json:"interactive,omitempty"`
	}
	textObject struct {
		PreviewURL bool   `json:"preview_url"`
		Body       string `json:"body"`
	}
	mediaObject struct {
		ID       string `json:"id,omitempty"`
		Link     string `json:"link,omitempty"`
		Caption  string `json:"caption,omitempty"`
		Filename string `json:"filename,omitempty"`
	}
	template struct {
		Name       string              `json:"name"`
		Language   templateLanguage    `json:"language"`
		Components []templateComponent `json:"components,omitempty"`
	}
	templateLanguage struct {
		// Policy is always "deterministic"; the spec's LanguageObject
		// requires it and Meta accepts it.
		Policy string `json:"policy"`
		Code   string `json:"code"`
	}
	templateComponent struct {
		Type string `json:"type"`
		// SubType and Index are a button's: "url" and its position
		// among the template's buttons, as a string.
		SubType    string `json:"sub_type,omitempty"`
		Index      string `json:"index,omitempty"`
		Parameters []any  `json:"parameters"`
	}
	// textParameter is a text value; ParameterName names it in a
	// template with named parameters.
	textParameter struct {
		Type          string `json:"type"`
		ParameterName string `json:"parameter_name,omitempty"`
		Text          string `json:"text"`
	}
	// mediaParameter is a header's image, video or document; the field
	// named like Type is set.
	mediaParameter struct {
		Type     string       `json:"type"`
		Image    *mediaObject `json:"image,omitempty"`
		Video    *mediaObject `json:"video,omitempty"`
		Document *mediaObject `json:"document,omitempty"`
	}
	interactive struct {
		Type   string             `json:"type"`
		Header *interactiveHeader `json:"header,omitempty"`
		Body   *interactiveText   `json:"body,omitempty"`
		Footer *interactiveText   `json:"footer,omitempty"`
		Action flowAction         `json:"action"`
	}
	interactiveHeader struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	interactiveText struct {
		Text string `json:"text"`
	}
	flowAction struct {
		Name       string         `json:"name"`
		Parameters flowParameters `json:"parameters"`
	}
	flowParameters struct {
		FlowMessageVersion string       `json:"flow_message_version"`
		FlowID             string       `json:"flow_id"`
		FlowToken          string       `json:"flow_token"`
		FlowCTA            string       `json:"flow_cta"`
		Mode               string       `json:"mode,omitempty"`
		FlowAction         string       `json:"flow_action"`
		FlowActionPayload  *flowPayload `json:"flow_action_payload,omitempty"`
	}
	flowPayload struct {
		Screen string            `json:"screen"`
		Data   map[string]string `json:"data,omitempty"`
	}
)

// Flow variables with a meaning of their own; every other variable is
// passed to the first screen as flow_action_payload.data.
const (
	FlowVarCTA    = "cta"    // button text, default "Open"
	FlowVarToken  = "token"  // flow_token, default a random one
	FlowVarScreen = "screen" // first screen; enables flow_action_payload
	FlowVarBody   = "body"   // message body, default Delivery.Text, then the CTA
	FlowVarHeader = "header" // optional text header
	FlowVarFooter = "footer" // optional footer
	FlowVarMode   = "mode"   // "draft" to send an unpublished flow
)

var reservedFlowVars = []string{FlowVarCTA, FlowVarToken, FlowVarScreen, FlowVarBody, FlowVarHeader, FlowVarFooter, FlowVarMode}

// message builds the request body for d, uploading its media if needed.
func (c *Client) message(ctx context.Context, cr Credentials, base string, d queue.Delivery) (*message, error) {
	to := phoneDigits(d.Phone)
	if to == "" {
		return nil, queue.Classify(queue.Permanent, "", errors.New("meta: the phone number has no digits"))
	}
	m := &message{MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Type: string(d.Kind)}
	switch d.Kind {
	case queue.KindText:
		if strings.TrimSpace(d.Text) == "" {
			return nil, queue.Classify(queue.Permanent, "", errors.New("meta: the text message is empty"))
		}
		m.Text = &textObject{PreviewURL: false, Body: d.Text}
	case queue.KindImage, queue.KindVideo:
		mo, err := c.mediaObject(ctx, cr, base, d)
		if err != nil {
			return nil, err
		}
		if d.Kind == queue.KindImage {
			m.Image = mo
		} else {
			m.Video = mo
		}
	case queue.KindTemplate:
		t, err := c.templateMessage(ctx, cr, base, d.Template)
		if err != nil {
			return nil, err
		}
		m.Template = t
	case queue.KindFlow:
		in, err := flowMessage(d)
		if err != nil {
			return nil, err
		}
		m.Type, m.Interactive = "interactive", in
	default:
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("meta: cannot send %q messages", d.Kind))
	}
	return m, nil
}

// templateMessage builds a template message with every component the
// template takes (§1.2): the header's text or media, the body's
// parameters (positional, or named), and the URL buttons' suffixes. A
// media header goes by link or by uploaded id as mediaObject decides for
// a plain image or video.
func (c *Client) templateMessage(ctx context.Context, cr Credentials, base string, t queue.Template) (*template, error) {
	permanent := func(format string, args ...any) error {
		return queue.Classify(queue.Permanent, "", fmt.Errorf("meta: template %q: "+format, append([]any{t.Name}, args...)...))
	}
	if t.Name == "" || t.Language == "" {
		return nil, queue.Classify(queue.Permanent, "", errors.New("meta: the template needs a name and a language"))
	}
	out := &template{Name: t.Name, Language: templateLanguage{Policy: "deterministic", Code: t.Language}}
	if h := t.Header; h != nil {
		var p any
		switch h.Format {
		case store.HeaderText:
			if strings.TrimSpace(h.Text) == "" {
				return nil, permanent("the text header's value is empty")
			}
			p = textParameter{Type: "text", ParameterName: h.Name, Text: h.Text}
		case store.HeaderImage, store.HeaderVideo, store.HeaderDocument:
			if h.Media == nil {
				return nil, permanent("the %s header has no media", h.Format)
			}
			mo, err := c.mediaRef(ctx, cr, base, h.Media)
			if err != nil {
				return nil, err
			}
			mp := mediaParameter{Type: h.Format}
			switch h.Format {
			case store.HeaderImage:
				mp.Image = mo
			case store.HeaderVideo:
				mp.Video = mo
			default:
				mo.Filename = h.Media.Name
				mp.Document = mo
			}
			p = mp
		default:
			return nil, permanent("cannot fill a %q header", h.Format)
		}
		out.Components = append(out.Components, templateComponent{Type: "header", Parameters: []any{p}})
	}
	if len(t.ParamNames) > 0 && len(t.ParamNames) != len(t.Params) {
		return nil, permanent("%d named body parameters for %d values", len(t.ParamNames), len(t.Params))
	}
	if len(t.Params) > 0 {
		params := make([]any, len(t.Params))
		for i, v := range t.Params {
			p := textParameter{Type: "text", Text: v}
			if len(t.ParamNames) > 0 {
				if t.ParamNames[i] == "" {
					return nil, permanent("body parameter %d has no name", i+1)
				}
				p.ParameterName = t.ParamNames[i]
			}
			params[i] = p
		}
		out.Components = append(out.Components, templateComponent{Type: "body", Parameters: params})
	}
	seen := map[int]bool{}
	for _, b := range t.Buttons {
		// Meta numbers a template's buttons 0 to 9.
		if b.Index < 0 || b.Index > 9 || seen[b.Index] {
			return nil, permanent("URL button index %d is out of range 0–9 or given twice", b.Index)
		}
		seen[b.Index] = true
		if strings.TrimSpace(b.Text) == "" {
			return nil, permanent("URL button %d's value is empty", b.Index)
		}
		out.Components = append(out.Components, templateComponent{Type: "button", SubType: "url",
			Index: strconv.Itoa(b.Index), Parameters: []any{textParameter{Type: "text", Text: b.Text}}})
	}
	return out, nil
}

// flowMessage builds an interactive flow message (§1.2, "Send Published
// Flow by ID").
func flowMessage(d queue.Delivery) (*interactive, error) {
	f := d.Flow
	if f.ID == "" {
		return nil, queue.Classify(queue.Permanent, "", errors.New("meta: the flow id is not set"))
	}
	v := f.Variables
	cta := v[FlowVarCTA]
	if cta == "" {
		cta = defaultFlowCTA
	}
	token := v[FlowVarToken]
	if token == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		token = "mb." + hex.EncodeToString(b)
	}
	body := v[FlowVarBody]
	if body == "" {
		body = d.Text
	}
	if body == "" {
		// Meta rejects flow messages without a body.
		body = cta
	}
	p := flowParameters{FlowMessageVersion: "3", FlowID: f.ID, FlowToken: token, FlowCTA: cta, FlowAction: "navigate"}
	if v[FlowVarMode] == "draft" {
		p.Mode = "draft"
	}
	if screen := v[FlowVarScreen]; screen != "" {
		p.FlowActionPayload = &flowPayload{Screen: screen}
		for k, val := range v {
			if !slices.Contains(reservedFlowVars, k) {
				if p.FlowActionPayload.Data == nil {
					p.FlowActionPayload.Data = map[string]string{}
				}
				p.FlowActionPayload.Data[k] = val
			}
		}
	}
	in := &interactive{Type: "flow", Body: &interactiveText{Text: body}, Action: flowAction{Name: "flow", Parameters: p}}
	if h := v[FlowVarHeader]; h != "" {
		in.Header = &interactiveHeader{Type: "text", Text: h}
	}
	if f := v[FlowVarFooter]; f != "" {
		in.Footer = &interactiveText{Text: f}
	}
	return in, nil
}

// mediaObject returns the image/video object: by link when allowed, else
// by an uploaded id (cached per media object and phone number).
func (c *Client) mediaObject(ctx context.Context, cr Credentials, base string, d queue.Delivery) (*mediaObject, error) {
	md := d.Media
	if md == nil {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("meta: the %s message has no media", d.Kind))
	}
	mo, err := c.mediaRef(ctx, cr, base, md)
	if err != nil {
		return nil, err
	}
	mo.Caption = d.Text
	return mo, nil
}

// mediaRef refers to md by its public link when meta.media_by_link allows
// and it has one, else by the id of its upload (cached per media object
// and phone number).
func (c *Client) mediaRef(ctx context.Context, cr Credentials, base string, md *queue.Media) (*mediaObject, error) {
	if cr.MediaByLink && md.PublicURL != "" {
		return &mediaObject{Link: md.PublicURL}, nil
	}
	id, err := c.mediaID(ctx, cr, base, md)
	if err != nil {
		return nil, err
	}
	return &mediaObject{ID: id}, nil
}

// mediaID returns Meta's id for md on this phone number, uploading it the
// first time.
func (c *Client) mediaID(ctx context.Context, cr Credentials, base string, md *queue.Media) (string, error) {
	if c.media == nil || md.ID == 0 {
		return c.upload(ctx, cr, base, md)
	}
	release, err := c.uploads.lock(ctx, cr.PhoneNumberID+"/"+strconv.FormatInt(md.ID, 10))
	if err != nil {
		return "", queue.Classify(queue.Retry, "", fmt.Errorf("meta: wait for media upload: %w", err))
	}
	defer release()
	id, ok, err := c.media.GatewayMediaID(ctx, md.ID, Name, cr.PhoneNumberID)
	if err != nil {
		c.log.WarnContext(ctx, "media cache read failed; uploading again", "media", md.ID, "err", err)
	} else if ok && id != "" {
		return id, nil
	}
	id, err = c.upload(ctx, cr, base, md)
	if err != nil {
		return "", err
	}
	if err := c.media.PutGatewayMediaID(ctx, md.ID, Name, cr.PhoneNumberID, id, c.now().Add(MediaTTL)); err != nil {
		c.log.WarnContext(ctx, "media cache write failed; the next send uploads again", "media", md.ID, "err", err)
	}
	c.log.DebugContext(ctx, "media uploaded", "media", md.ID, "mime", md.MIME, "size", md.Size)
	return id, nil
}

// upload posts md to /{version}/{phone-number-id}/media as multipart form
// data (§1.3) and returns the new media id. The file is streamed.
func (c *Client) upload(ctx context.Context, cr Credentials, base string, md *queue.Media) (string, error) {
	if md.Open == nil {
		return "", queue.Classify(queue.Permanent, "", fmt.Errorf("meta: media %d has no content", md.ID))
	}
	mimeType := md.MIME
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	f, err := md.Open(ctx)
	if err != nil {
		return "", queue.Classify(queue.Retry, "", fmt.Errorf("meta: open media %d: %w", md.ID, err))
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.Close()
		pw.CloseWithError(writeUpload(mw, f, mimeType, md.Name))
	}()
	defer func() {
		_ = pr.Close()
		<-done
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/media", pr)
	if err != nil {
		return "", queue.Classify(queue.SenderBlocked, "", &safeError{msg: "meta upload: cannot build the request", cause: err})
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.do(ctx, cr, req, "upload")
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp, &out); err != nil || out.ID == "" {
		return "", queue.Classify(queue.Retry, "", errors.New("meta upload: the response carried no media id"))
	}
	return out.ID, nil
}

// writeUpload writes the three form fields Meta documents: messaging_product,
// type (the MIME type) and file.
func writeUpload(mw *multipart.Writer, f io.Reader, mimeType, name string) error {
	if err := mw.WriteField("messaging_product", "whatsapp"); err != nil {
		return err
	}
	if err := mw.WriteField("type", mimeType); err != nil {
		return err
	}
	if name == "" {
		name = "media"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(name)))
	h.Set("Content-Type", mimeType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, f); err != nil {
		return fmt.Errorf("read media: %w", err)
	}
	return mw.Close()
}

// phoneDigits is the "to" field: the E.164 number without "+" or spacing.
func phoneDigits(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// keyedLocks is a set of context-aware mutexes by key, dropped when unused.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

// lock takes the lock for key, or gives up when ctx ends.
func (k *keyedLocks) lock(ctx context.Context, key string) (release func(), err error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	unref := func() {
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; unref() }, nil
	case <-ctx.Done():
		unref()
		return nil, ctx.Err()
	}
}
