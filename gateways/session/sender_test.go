package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

type senderSetup struct {
	s      *Sender
	c      *fakeConn
	sink   *fakeSink
	states *stateLog
}

type stateLog struct {
	mu  sync.Mutex
	got []State
}

func (l *stateLog) add(st State, _ string) {
	l.mu.Lock()
	l.got = append(l.got, st)
	l.mu.Unlock()
}

func (l *stateLog) all() []State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]State(nil), l.got...)
}

type fakeSink struct {
	mu  sync.Mutex
	got []store.Receipt
	err error
}

func (f *fakeSink) ApplyReceipt(_ context.Context, r store.Receipt) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	return f.err == nil, f.err
}

// setupSender returns a sender over a connected fake, without pacing.
func setupSender(t *testing.T, tune func(c *fakeConn, o *SenderOptions)) senderSetup {
	t.Helper()
	c := newFakeConn()
	st := senderSetup{c: c, sink: &fakeSink{}, states: &stateLog{}}
	opts := SenderOptions{
		Receipts:      st.sink,
		Pacer:         NewPacer(0, 0),
		ConnectWait:   20 * time.Millisecond,
		OnStateChange: st.states.add,
	}
	if tune != nil {
		tune(c, &opts)
	}
	st.s = NewSender(c, opts)
	return st
}

func textDelivery(text string) queue.Delivery {
	return queue.Delivery{ItemID: 7, Phone: "+919876543210", Kind: queue.KindText, Text: text}
}

func mediaDelivery(kind queue.Kind, mimeType string, data []byte, caption string) queue.Delivery {
	return queue.Delivery{ItemID: 8, Phone: "+919876543210", Kind: kind, Text: caption, Media: &queue.Media{
		ID: 3, MIME: mimeType, Name: "promo", Size: int64(len(data)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}}
}

func wantClass(t *testing.T, err error, want queue.Class) *queue.SendError {
	t.Helper()
	c, se := queue.ClassOf(err)
	if err == nil || c != want || se == nil {
		t.Fatalf("error = %v (class %v), want class %v", err, c, want)
	}
	return se
}

var jpeg = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{1}, 100)...)

func TestSendText(t *testing.T) {
	t.Parallel()
	st := setupSender(t, nil)
	id, err := st.s.Send(context.Background(), textDelivery("Your order shipped"))
	if err != nil {
		t.Fatal(err)
	}
	if id != "3EB0A" {
		t.Errorf("id = %q, want the send response's id", id)
	}
	if len(st.c.sends) != 1 {
		t.Fatalf("%d sends", len(st.c.sends))
	}
	got := st.c.sends[0]
	if got.to.String() != "919876543210@s.whatsapp.net" {
		t.Errorf("to = %s", got.to)
	}
	if got.msg.GetConversation() != "Your order shipped" || got.msg.ExtendedTextMessage != nil {
		t.Errorf("message = %v, want a plain Conversation", got.msg)
	}
	if len(st.c.lookups) != 1 || st.c.lookups[0][0] != "+919876543210" {
		t.Errorf("number lookups = %v", st.c.lookups)
	}
}

func TestSendTextWithLinkIsExtended(t *testing.T) {
	t.Parallel()
	st := setupSender(t, nil)
	if _, err := st.s.Send(context.Background(), textDelivery("Track it: https://example.com/t/1")); err != nil {
		t.Fatal(err)
	}
	m := st.c.sends[0].msg
	if m.Conversation != nil || m.GetExtendedTextMessage().GetText() != "Track it: https://example.com/t/1" {
		t.Errorf("message = %v, want ExtendedTextMessage", m)
	}
}

func TestSendUsesTheJIDWhatsAppKnows(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(c *fakeConn, _ *SenderOptions) {
		c.lookupFn = func(phones []string) ([]types.IsOnWhatsAppResponse, error) {
			// Brazil: WhatsApp may know a number without its ninth digit.
			return []types.IsOnWhatsAppResponse{{Query: phones[0], IsIn: true, JID: types.NewJID("551187654321", types.DefaultUserServer)}}, nil
		}
	})
	d := textDelivery("oi")
	d.Phone = "+5511987654321"
	if _, err := st.s.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if to := st.c.sends[0].to.String(); to != "551187654321@s.whatsapp.net" {
		t.Errorf("to = %s, want the canonical JID from the lookup", to)
	}
}

func TestSendSkipNumberCheck(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(_ *fakeConn, o *SenderOptions) { o.SkipNumberCheck = true })
	if _, err := st.s.Send(context.Background(), textDelivery("hi")); err != nil {
		t.Fatal(err)
	}
	if len(st.c.lookups) != 0 {
		t.Errorf("looked numbers up: %v", st.c.lookups)
	}
}

func TestSendMedia(t *testing.T) {
	t.Parallel()
	mp4 := append([]byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'm', 'p', '4', '2'}, bytes.Repeat([]byte{2}, 50)...)
	tests := []struct {
		name     string
		d        queue.Delivery
		wantType whatsmeow.MediaType
		wantMIME string
	}{
		{"image", mediaDelivery(queue.KindImage, "image/jpeg", jpeg, "New stock"), whatsmeow.MediaImage, "image/jpeg"},
		{"image, MIME sniffed", mediaDelivery(queue.KindImage, "", jpeg, ""), whatsmeow.MediaImage, "image/jpeg"},
		{"video", mediaDelivery(queue.KindVideo, "video/mp4", mp4, "Watch"), whatsmeow.MediaVideo, "video/mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setupSender(t, nil)
			if _, err := st.s.Send(context.Background(), tt.d); err != nil {
				t.Fatal(err)
			}
			if len(st.c.uploads) != 1 || st.c.uploads[0].mt != tt.wantType {
				t.Fatalf("uploads = %+v, want one %s", st.c.uploads, tt.wantType)
			}
			if data := st.c.uploads[0].data; len(data) != int(tt.d.Media.Size) {
				t.Errorf("uploaded %d bytes, want %d", len(data), tt.d.Media.Size)
			}
			m := st.c.sends[0].msg
			type media interface {
				GetURL() string
				GetDirectPath() string
				GetMediaKey() []byte
				GetFileEncSHA256() []byte
				GetFileSHA256() []byte
				GetFileLength() uint64
				GetMimetype() string
				GetCaption() string
			}
			var got media
			if tt.wantType == whatsmeow.MediaVideo {
				got = m.GetVideoMessage()
			} else {
				got = m.GetImageMessage()
			}
			if got == nil || m.Conversation != nil {
				t.Fatalf("message = %v", m)
			}
			if got.GetURL() != "https://mmg.whatsapp.net/x" || got.GetDirectPath() != "/v/t62/x" ||
				string(got.GetMediaKey()) != "key" || string(got.GetFileEncSHA256()) != "enc" ||
				string(got.GetFileSHA256()) != "plain" || got.GetFileLength() != uint64(tt.d.Media.Size) {
				t.Errorf("upload fields not copied: %v", got)
			}
			if got.GetMimetype() != tt.wantMIME || got.GetCaption() != tt.d.Text {
				t.Errorf("mimetype %q caption %q", got.GetMimetype(), got.GetCaption())
			}
		})
	}
}

func TestSendReusesUploads(t *testing.T) {
	t.Parallel()
	st := setupSender(t, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := st.s.Send(ctx, mediaDelivery(queue.KindImage, "image/jpeg", jpeg, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(st.c.uploads); n != 1 {
		t.Errorf("%d uploads for one file sent three times, want 1", n)
	}
	other := append(bytes.Clone(jpeg), 9)
	if _, err := st.s.Send(ctx, mediaDelivery(queue.KindImage, "image/jpeg", other, "x")); err != nil {
		t.Fatal(err)
	}
	if n := len(st.c.uploads); n != 2 {
		t.Errorf("%d uploads after a different file, want 2", n)
	}

	noCache := setupSender(t, func(_ *fakeConn, o *SenderOptions) { o.MediaCacheTTL = -1 })
	for range 2 {
		if _, err := noCache.s.Send(ctx, mediaDelivery(queue.KindImage, "image/jpeg", jpeg, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(noCache.c.uploads); n != 2 {
		t.Errorf("with the cache off: %d uploads, want 2", n)
	}
}

func TestSendRefusesTemplatesAndFlows(t *testing.T) {
	t.Parallel()
	for _, kind := range []queue.Kind{queue.KindTemplate, queue.KindFlow} {
		st := setupSender(t, nil)
		d := queue.Delivery{Phone: "+919876543210", Kind: kind, Template: queue.Template{Name: "order_update"}}
		_, err := st.s.Send(context.Background(), d)
		wantClass(t, err, queue.Permanent)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "cannot send templates/flows") {
			t.Errorf("%s: error = %v", kind, err)
		}
		if len(st.c.sends)+len(st.c.lookups) != 0 {
			t.Errorf("%s: touched the network", kind)
		}
	}
}

func TestSendPermanentInputs(t *testing.T) {
	t.Parallel()
	big := mediaDelivery(queue.KindImage, "image/jpeg", jpeg, "")
	big.Media.Size = 1 << 40
	lying := mediaDelivery(queue.KindImage, "image/jpeg", bytes.Repeat(jpeg, 20), "")
	lying.Media.Size = 10 // declared small, is not
	tests := []struct {
		name string
		d    queue.Delivery
		has  string
	}{
		{"no plus", func() queue.Delivery { d := textDelivery("x"); d.Phone = "919876543210"; return d }(), "invalid phone"},
		{"letters", func() queue.Delivery { d := textDelivery("x"); d.Phone = "+91abc"; return d }(), "invalid phone"},
		{"empty text", textDelivery("  "), "empty"},
		{"unknown kind", queue.Delivery{Phone: "+919876543210", Kind: "poll"}, "unknown"},
		{"image without file", queue.Delivery{Phone: "+919876543210", Kind: queue.KindImage}, "no file"},
		{"declared too big", big, "at most"},
		{"actually too big", lying, "over"},
		{"empty file", mediaDelivery(queue.KindImage, "image/jpeg", nil, ""), "empty"},
		{"video that is an image", mediaDelivery(queue.KindVideo, "image/jpeg", jpeg, ""), "not video"},
		{"image that is text", mediaDelivery(queue.KindImage, "", []byte("hello there"), ""), "not image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := setupSender(t, func(_ *fakeConn, o *SenderOptions) { o.MaxMediaSize = 1000 })
			_, err := st.s.Send(context.Background(), tt.d)
			wantClass(t, err, queue.Permanent)
			if !strings.Contains(err.Error(), tt.has) {
				t.Errorf("error %q does not mention %q", err, tt.has)
			}
			if len(st.c.sends) != 0 {
				t.Error("sent anyway")
			}
			if st.s.Warning() != "" {
				t.Error("a bad item must not mark the sender as blocked")
			}
		})
	}
}

func TestSendNotOnWhatsApp(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(c *fakeConn, _ *SenderOptions) {
		c.lookupFn = func(phones []string) ([]types.IsOnWhatsAppResponse, error) {
			return []types.IsOnWhatsAppResponse{{Query: phones[0], IsIn: false}}, nil
		}
	})
	_, err := st.s.Send(context.Background(), textDelivery("hi"))
	wantClass(t, err, queue.Permanent)
	if !errors.Is(err, ErrNotOnWhatsApp) || len(st.c.sends) != 0 {
		t.Errorf("error = %v, sends = %d", err, len(st.c.sends))
	}
}

func TestBlockingEventsFailSendsFast(t *testing.T) {
	t.Parallel()
	for _, evt := range []any{
		&events.LoggedOut{Reason: events.ConnectFailureLoggedOut},
		&events.StreamReplaced{},
		&events.TemporaryBan{Code: events.TempBanBlockedByUsers},
	} {
		st := setupSender(t, nil)
		st.s.HandleEvent(evt)
		if w := st.s.Warning(); w == "" {
			t.Fatalf("%T: no warning", evt)
		}
		_, err := st.s.Send(context.Background(), textDelivery("hi"))
		wantClass(t, err, queue.SenderBlocked)
		if err.Error() == "" || !strings.Contains(err.Error(), st.s.Warning()) {
			t.Errorf("%T: error %q does not carry the warning %q", evt, err, st.s.Warning())
		}
		if len(st.c.sends)+len(st.c.lookups) != 0 {
			t.Errorf("%T: a blocked sender touched the network", evt)
		}
		// The disconnect that follows keeps the block; a new connection lifts it.
		st.s.HandleEvent(&events.Disconnected{})
		if s, _ := st.s.State(); s != StateBlocked {
			t.Errorf("%T: state after Disconnected = %v, want blocked", evt, s)
		}
		st.s.HandleEvent(&events.Connected{})
		if _, err := st.s.Send(context.Background(), textDelivery("hi")); err != nil {
			t.Errorf("%T: send after reconnect: %v", evt, err)
		}
		if got := st.states.all(); len(got) != 2 || got[0] != StateBlocked || got[1] != StateConnected {
			t.Errorf("%T: state changes = %v, want [blocked connected]", evt, got)
		}
	}
}

func TestBlockingSendErrorIsRemembered(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(c *fakeConn, _ *SenderOptions) {
		c.sendFn = func(types.JID, *waE2E.Message) (whatsmeow.SendResponse, error) {
			return whatsmeow.SendResponse{}, fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 463)
		}
	})
	_, err := st.s.Send(context.Background(), textDelivery("hi"))
	if se := wantClass(t, err, queue.SenderBlocked); se.Code != "463" {
		t.Errorf("code = %q", se.Code)
	}
	_, err = st.s.Send(context.Background(), textDelivery("hi again"))
	wantClass(t, err, queue.SenderBlocked)
	if n := len(st.c.sends); n != 1 {
		t.Errorf("%d SendMessage calls, want 1: the second send should fail fast", n)
	}
	if !strings.Contains(st.s.Warning(), "time-lock") {
		t.Errorf("warning = %q", st.s.Warning())
	}
}

func TestTransientSendErrorsRetry(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(c *fakeConn, _ *SenderOptions) {
		c.sendFn = func(types.JID, *waE2E.Message) (whatsmeow.SendResponse, error) {
			return whatsmeow.SendResponse{}, whatsmeow.ErrMessageTimedOut
		}
	})
	_, err := st.s.Send(context.Background(), textDelivery("hi"))
	wantClass(t, err, queue.Retry)
	if st.s.Warning() != "" {
		t.Error("a timeout must not block the sender")
	}
}

func TestSendNotLinked(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(c *fakeConn, _ *SenderOptions) {
		c.linked, c.loggedIn, c.connected = types.EmptyJID, false, false
	})
	if s, _ := st.s.State(); s != StateNotLinked {
		t.Errorf("state = %v", s)
	}
	if !strings.Contains(st.s.Warning(), "whatsapp pair") {
		t.Errorf("warning = %q", st.s.Warning())
	}
	_, err := st.s.Send(context.Background(), textDelivery("hi"))
	wantClass(t, err, queue.SenderBlocked)
	// The pause names what happened: nothing is linked (not "logged out").
	if !errors.Is(err, gateways.ErrNotReady) || !strings.Contains(err.Error(), NotLinkedReason) {
		t.Errorf("error = %v", err)
	}
}

func TestSendWaitsForConnection(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(c *fakeConn, o *SenderOptions) {
		c.loggedIn, c.connected = false, false
		o.ConnectWait = 5 * time.Second
	})
	go func() {
		time.Sleep(20 * time.Millisecond)
		st.c.setLoggedIn(true)
		st.s.HandleEvent(&events.Connected{})
	}()
	start := time.Now()
	if _, err := st.s.Send(context.Background(), textDelivery("hi")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %s; the Connected event should end the wait", d)
	}
}

func TestSendNotConnectedRetries(t *testing.T) {
	t.Parallel()
	st := setupSender(t, func(c *fakeConn, _ *SenderOptions) { c.loggedIn, c.connected = false, false })
	st.s.HandleEvent(&events.Disconnected{})
	_, err := st.s.Send(context.Background(), textDelivery("hi"))
	wantClass(t, err, queue.Retry)
	if !errors.Is(err, ErrNotConnected) || !strings.Contains(err.Error(), "reconnecting") {
		t.Errorf("error = %v", err)
	}
}

func TestSendsArePaced(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var at []time.Time
	st := setupSender(t, func(c *fakeConn, o *SenderOptions) {
		o.Pacer = NewPacer(40*time.Millisecond, 60*time.Millisecond)
		c.sendFn = func(types.JID, *waE2E.Message) (whatsmeow.SendResponse, error) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			return whatsmeow.SendResponse{ID: "x"}, nil
		}
	})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := st.s.Send(context.Background(), textDelivery("hi")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(at) != 3 {
		t.Fatalf("%d sends", len(at))
	}
	first, last := at[0], at[0]
	for _, a := range at {
		if a.Before(first) {
			first = a
		}
		if a.After(last) {
			last = a
		}
	}
	if span := last.Sub(first); span < 75*time.Millisecond {
		t.Errorf("3 sends within %s, want two gaps of at least 40ms", span)
	}
}

func TestSendPastDeadlineIsRateLimited(t *testing.T) {
	t.Parallel()
	p := NewPacer(time.Hour, time.Hour)
	p.reserve = 0
	st := setupSender(t, func(_ *fakeConn, o *SenderOptions) { o.Pacer = p })
	if _, err := st.s.Send(context.Background(), textDelivery("first")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := st.s.Send(ctx, textDelivery("second"))
	se := wantClass(t, err, queue.RateLimited)
	if se.RetryAfter < 59*time.Minute {
		t.Errorf("RetryAfter = %s, want the wait for the next slot", se.RetryAfter)
	}
	if len(st.c.sends) != 1 {
		t.Errorf("%d sends", len(st.c.sends))
	}
}

func TestReceiptEventsReachTheSink(t *testing.T) {
	t.Parallel()
	st := setupSender(t, nil)
	user := types.NewJID("919876543210", types.DefaultUserServer)
	st.s.HandleEvent(&events.Receipt{
		MessageSource: types.MessageSource{Chat: user, Sender: user},
		MessageIDs:    []string{"3EB0A", "3EB0B"},
		Type:          types.ReceiptTypeRead,
	})
	st.sink.mu.Lock()
	got := st.sink.got
	st.sink.mu.Unlock()
	if len(got) != 2 || got[0].Gateway != Name || got[0].ProviderMessageID != "3EB0A" || got[1].Status != store.StatusRead {
		t.Errorf("receipts = %+v", got)
	}
	// A failing sink is logged, not fatal; other events are ignored.
	st.sink.err = errors.New("db down")
	st.s.HandleEvent(&events.Receipt{MessageSource: types.MessageSource{Chat: user, Sender: user}, MessageIDs: []string{"x"}})
	st.s.HandleEvent(&events.Message{})
	st.s.HandleEvent(&events.HistorySync{})
	if s, _ := st.s.State(); s != StateConnected {
		t.Errorf("state = %v", s)
	}
}
