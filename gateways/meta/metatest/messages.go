package metatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Request body of POST /{v}/{pnid}/messages (§1.2), as far as the server
// checks it.
type (
	sendRequest struct {
		MessagingProduct string                 `json:"messaging_product"`
		RecipientType    string                 `json:"recipient_type"`
		To               string                 `json:"to"`
		Type             string                 `json:"type"`
		Text             *struct{ Body string } `json:"text"`
		Image            *mediaObject           `json:"image"`
		Video            *mediaObject           `json:"video"`
		Document         *mediaObject           `json:"document"`
		Audio            *mediaObject           `json:"audio"`
		Sticker          *mediaObject           `json:"sticker"`
		Template         *templateSend          `json:"template"`
		Interactive      *interactive           `json:"interactive"`
		Location         json.RawMessage        `json:"location"`
		Contacts         json.RawMessage        `json:"contacts"`
		Reaction         json.RawMessage        `json:"reaction"`
	}
	mediaObject struct {
		ID      string `json:"id"`
		Link    string `json:"link"`
		Caption string `json:"caption"`
	}
	interactive struct {
		Type string `json:"type"`
		Body *struct {
			Text string `json:"text"`
		} `json:"body"`
		Action json.RawMessage `json:"action"`
	}
	templateSend struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []componentSend `json:"components"`
	}
	componentSend struct {
		Type       string          `json:"type"`
		SubType    string          `json:"sub_type"`
		Index      json.RawMessage `json:"index"`
		Parameters []paramSend     `json:"parameters"`
	}
	paramSend struct {
		Type          string          `json:"type"`
		ParameterName string          `json:"parameter_name"`
		Text          *string         `json:"text"`
		Image         *mediaObject    `json:"image"`
		Video         *mediaObject    `json:"video"`
		Document      *mediaObject    `json:"document"`
		Payload       *string         `json:"payload"`
		Currency      json.RawMessage `json:"currency"`
		DateTime      json.RawMessage `json:"date_time"`
		Action        json.RawMessage `json:"action"`
		CouponCode    *string         `json:"coupon_code"`
	}
)

const (
	maxText    = 4096
	maxCaption = 1024
)

// serveMessages takes POST /{v}/{pnid}/messages.
func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		graphError(w, invalidParam("cannot read the request body"))
		return
	}
	var m sendRequest
	if err := json.Unmarshal(raw, &m); err != nil {
		graphError(w, invalidParam("the request body is not a JSON object: "+err.Error()))
		return
	}
	msg, gerr := s.checkShape(&m)
	if gerr == nil && m.Type == "template" {
		gerr = s.checkTemplate(m.Template, msg)
	}
	wa := waID(m.To)
	s.mu.Lock()
	now := s.now()
	if gerr == nil && m.Type != "template" && !s.windowOpenLocked(wa) {
		gerr = windowErr()
	}
	if gerr != nil && !(gerr.code == 131047 && s.asyncWindow) {
		s.refusals = append(s.refusals, Refusal{To: m.To, WaID: wa, Type: m.Type, Template: templateName(m.Template),
			Code: gerr.code, HTTPStatus: gerr.status, Details: gerr.details, At: now})
		s.mu.Unlock()
		graphError(w, gerr)
		return
	}
	id := newWAMID(wa)
	s.sentTo[id] = wa
	var status []byte
	if gerr != nil { // async 131047
		s.refusals = append(s.refusals, Refusal{To: m.To, WaID: wa, Type: m.Type, Template: templateName(m.Template),
			Code: gerr.code, HTTPStatus: http.StatusOK, Details: gerr.details, Async: true, ID: id, At: now})
		status = s.statusBodyLocked(id, wa, "failed", now, []StatusError{WindowStatusError()})
		if s.holdStatuses {
			s.held = append(s.held, status)
			status = nil
		}
	} else {
		msg.ID, msg.To, msg.WaID, msg.Type, msg.At, msg.Raw = id, m.To, wa, m.Type, now, raw
		s.messages = append(s.messages, *msg)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": m.To, "wa_id": wa}},
		"messages":          []map[string]string{{"id": id, "message_status": "accepted"}},
	})
	if status != nil {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			_, _ = s.post(status)
		}()
	}
}

// windowErr is Meta's answer to a free-form message outside the window.
func windowErr() *graphErr {
	return &graphErr{status: http.StatusBadRequest, code: 131047, message: "(#131047) Re-engagement message",
		details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
}

// WindowStatusError is the error of Meta's failed status for a free-form
// message outside the window (131047, "Re-engagement message"), for
// Deliver(id, "failed", metatest.WindowStatusError()).
func WindowStatusError() StatusError {
	e := windowErr()
	return StatusError{Code: e.code, Title: "Re-engagement message", Details: e.details}
}

func templateName(t *templateSend) string {
	if t == nil {
		return ""
	}
	return t.Name
}

// checkShape checks the common fields and the object of the message's type,
// and decodes what Message records.
func (s *Server) checkShape(m *sendRequest) (*Message, *graphErr) {
	if m.MessagingProduct != "whatsapp" {
		return nil, invalidParam("The parameter messaging_product is required and must be whatsapp.")
	}
	if m.RecipientType != "" && m.RecipientType != "individual" && m.RecipientType != "group" {
		return nil, invalidParam("Param recipient_type must be individual or group.")
	}
	if strings.Trim(m.To, "+0123456789 -()") != "" || len(waID(m.To)) < 7 || len(waID(m.To)) > 15 {
		return nil, invalidParam(fmt.Sprintf("Param to (%q) is not a valid phone number.", m.To))
	}
	msg := &Message{}
	media := func(o *mediaObject) *graphErr {
		if o == nil {
			return invalidParam(fmt.Sprintf("The parameter %s is required.", m.Type))
		}
		if e := s.checkMedia(m.Type, o); e != nil {
			return e
		}
		if utf8.RuneCountInString(o.Caption) > maxCaption {
			return invalidParam(fmt.Sprintf("Param %s['caption'] must be at most %d characters long.", m.Type, maxCaption))
		}
		msg.MediaID, msg.MediaLink, msg.Text = o.ID, o.Link, o.Caption
		return nil
	}
	switch m.Type {
	case "text":
		if m.Text == nil || strings.TrimSpace(m.Text.Body) == "" {
			return nil, invalidParam("The parameter text['body'] is required.")
		}
		if utf8.RuneCountInString(m.Text.Body) > maxText {
			return nil, invalidParam(fmt.Sprintf("Param text['body'] must be at most %d characters long.", maxText))
		}
		msg.Text = m.Text.Body
	case "image":
		return msg, media(m.Image)
	case "video":
		return msg, media(m.Video)
	case "document":
		return msg, media(m.Document)
	case "audio":
		return msg, media(m.Audio)
	case "sticker":
		return msg, media(m.Sticker)
	case "interactive":
		in := m.Interactive
		if in == nil || in.Type == "" || len(in.Action) == 0 {
			return nil, invalidParam("The parameters interactive['type'] and interactive['action'] are required.")
		}
		if in.Type == "flow" && (in.Body == nil || in.Body.Text == "") {
			return nil, &graphErr{status: http.StatusBadRequest, code: 131008, message: "(#131008) Required parameter is missing",
				details: "interactive['body'] is required for flow messages."}
		}
		if in.Body != nil {
			msg.Text = in.Body.Text
		}
	case "location", "contacts", "reaction":
		raw := map[string]json.RawMessage{"location": m.Location, "contacts": m.Contacts, "reaction": m.Reaction}[m.Type]
		if len(raw) == 0 || string(raw) == "null" {
			return nil, invalidParam(fmt.Sprintf("The parameter %s is required.", m.Type))
		}
	case "template":
		t := m.Template
		if t == nil || t.Name == "" || t.Language.Code == "" {
			return nil, invalidParam("The parameters template['name'] and template['language']['code'] are required.")
		}
		msg.Template = &SentTemplate{Name: t.Name, Language: t.Language.Code}
	case "":
		return nil, invalidParam("The parameter type is required.")
	default:
		return nil, &graphErr{status: http.StatusBadRequest, code: 131051, message: "(#131051) Unsupported message type",
			details: fmt.Sprintf("Message type %q is not supported.", m.Type)}
	}
	return msg, nil
}

// checkMedia checks a media object: exactly one of an id this server gave
// out or an http(s) link.
func (s *Server) checkMedia(where string, o *mediaObject) *graphErr {
	switch {
	case o.ID != "" && o.Link != "":
		return invalidParam(fmt.Sprintf("Param %s must have either id or link, not both.", where))
	case o.ID != "":
		s.mu.Lock()
		known := s.media[o.ID]
		s.mu.Unlock()
		if !known {
			return invalidParam(fmt.Sprintf("Param %s['id'] is not a valid whatsapp business account media attachment ID", where))
		}
	case o.Link != "":
		u, err := url.Parse(o.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalidParam(fmt.Sprintf("Param %s['link'] is not a valid URI.", where))
		}
	default:
		return &graphErr{status: http.StatusBadRequest, code: 131008, message: "(#131008) Required parameter is missing",
			details: fmt.Sprintf("Param %s must have an id or a link.", where)}
	}
	return nil
}

// buttonIndex reads a button index given as 0 or "0".
func buttonIndex(raw json.RawMessage) (int, bool) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, n >= 0
	}
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return 0, false
	}
	n, err := strconv.Atoi(str)
	return n, err == nil && n >= 0
}

// StatusError is an error of a failed status webhook.
type StatusError struct {
	Code    int
	Title   string
	Details string
}

// Deliver posts a signed status webhook for the message id (sent,
// delivered, read, or failed with errs) and returns the callback's HTTP
// status. The id must be one the server answered.
func (s *Server) Deliver(id, status string, errs ...StatusError) int {
	s.t.Helper()
	s.mu.Lock()
	wa, ok := s.sentTo[id]
	var body []byte
	if ok {
		body = s.statusBodyLocked(id, wa, status, s.now(), errs)
	}
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("metatest: Deliver(%q): no message with that id was sent", id)
		return 0
	}
	code, err := s.post(body)
	if err != nil {
		s.t.Errorf("metatest: status webhook: %v", err)
	}
	return code
}

// FlushStatuses posts the status webhooks held by WithHeldStatuses and
// returns the callback's HTTP status for each.
func (s *Server) FlushStatuses() []int {
	s.t.Helper()
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	var codes []int
	for _, b := range held {
		code, err := s.post(b)
		if err != nil {
			s.t.Errorf("metatest: status webhook: %v", err)
		}
		codes = append(codes, code)
	}
	return codes
}

// statusBodyLocked builds a status webhook (§1.6).
func (s *Server) statusBodyLocked(id, wa, status string, at time.Time, errs []StatusError) []byte {
	st := map[string]any{"id": id, "status": status, "timestamp": strconv.FormatInt(at.Unix(), 10), "recipient_id": wa}
	if status != "failed" {
		st["conversation"] = map[string]any{"id": "CONVERSATION_" + wa, "origin": map[string]string{"type": "utility"}}
		st["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "utility"}
	}
	if len(errs) > 0 {
		var list []map[string]any
		for _, e := range errs {
			list = append(list, map[string]any{"code": e.Code, "title": e.Title, "message": e.Title,
				"error_data": map[string]string{"details": e.Details},
				"href":       "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"})
		}
		st["errors"] = list
	}
	return s.envelopeLocked(map[string]any{"statuses": []any{st}})
}

// envelopeLocked wraps a change value in Meta's webhook envelope.
func (s *Server) envelopeLocked(value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]string{"display_phone_number": DefaultDisplayPhone, "phone_number_id": s.pnid}
	b, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": s.waba, "changes": []any{map[string]any{"field": "messages", "value": value}}}},
	})
	if err != nil {
		panic(err)
	}
	return b
}
