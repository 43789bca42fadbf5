package session

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// inboundLog keeps the messages it is given, or fails with err; it
// records whether each call had a deadline.
type inboundLog struct {
	mu          sync.Mutex
	msgs        []store.InboundMessage
	noDeadlines int
	err         error
}

func (l *inboundLog) Inbound(ctx context.Context, m store.InboundMessage) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		l.noDeadlines++
	}
	if l.err != nil {
		return l.err
	}
	l.msgs = append(l.msgs, m)
	return nil
}

func (l *inboundLog) taken() []store.InboundMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]store.InboundMessage(nil), l.msgs...)
}

// Words the customer wrote: they must reach the sink and never the log.
const (
	custText    = "Where is parcel 8812?"
	custCaption = "label is torn"
	custName    = "Ravi Menon"
)

var (
	custPN   = types.NewJID("919876543210", types.DefaultUserServer)
	custLID  = types.NewJID("204518837739521", types.HiddenUserServer)
	ourPN    = types.NewJID("15550001111", types.DefaultUserServer)
	sentAt   = time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)
	groupJID = types.NewJID("120363012345678901", types.GroupServer)
)

// msgEvent is a message from the customer in their own chat, addressed by
// phone number.
func msgEvent(id string, m *waE2E.Message) *events.Message {
	return &events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: custPN, Sender: custPN},
			ID:            id, PushName: custName, Timestamp: sentAt,
		},
		Message: m,
	}
}

func textMsg(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

func imageMsg(caption string) *waE2E.Message {
	return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String(caption), Mimetype: proto.String("image/jpeg")}}
}

func TestInboundFor(t *testing.T) {
	t.Parallel()
	want := func(id, phone, kind, body string) store.InboundMessage {
		return store.InboundMessage{Gateway: Name, ProviderMessageID: id, Phone: phone, ProfileName: custName, Kind: kind, Body: body, ReceivedAt: sentAt}
	}
	with := func(e *events.Message, f func(e *events.Message)) *events.Message { f(e); return e }
	resolver := func(lid types.JID) types.JID {
		if lid == custLID {
			return custPN
		}
		return types.EmptyJID
	}
	tests := []struct {
		name    string
		evt     *events.Message
		resolve func(types.JID) types.JID
		want    store.InboundMessage
		skip    string // a word of the reason; "" when taken
	}{
		{name: "text", evt: msgEvent("T1", textMsg(custText)), want: want("T1", "+919876543210", store.InboundText, custText)},
		{name: "extended text (a reply or a link)", evt: msgEvent("T2", &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("see https://x.in")}}),
			want: want("T2", "+919876543210", store.InboundText, "see https://x.in")},
		{name: "image with caption", evt: msgEvent("I1", imageMsg(custCaption)), want: want("I1", "+919876543210", store.InboundImage, custCaption)},
		{name: "video", evt: msgEvent("V1", &waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: proto.String("clip")}}),
			want: want("V1", "+919876543210", store.InboundVideo, "clip")},
		{name: "voice note", evt: msgEvent("A1", &waE2E.Message{AudioMessage: &waE2E.AudioMessage{PTT: proto.Bool(true)}}),
			want: want("A1", "+919876543210", store.InboundAudio, "")},
		{name: "document", evt: msgEvent("D1", &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: proto.String("invoice"), FileName: proto.String("inv.pdf")}}),
			want: want("D1", "+919876543210", store.InboundDocument, "invoice")},
		{name: "document with caption, still wrapped", evt: msgEvent("D2", &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{
			Message: &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: proto.String("bill")}}}}),
			want: want("D2", "+919876543210", store.InboundDocument, "bill")},
		{name: "sticker", evt: msgEvent("S1", &waE2E.Message{StickerMessage: &waE2E.StickerMessage{}}), want: want("S1", "+919876543210", store.InboundOther, "")},
		{name: "location", evt: msgEvent("L1", &waE2E.Message{LocationMessage: &waE2E.LocationMessage{}}), want: want("L1", "+919876543210", store.InboundOther, "")},
		{name: "sender on another device", evt: with(msgEvent("T3", textMsg("hi")), func(e *events.Message) {
			e.Info.Sender = types.JID{User: custPN.User, Server: types.DefaultUserServer, Device: 12}
		}), want: want("T3", "+919876543210", store.InboundText, "hi")},
		{name: "LID addressing with the phone number as SenderAlt", evt: with(msgEvent("T4", textMsg("hi")), func(e *events.Message) {
			e.Info.Chat, e.Info.Sender, e.Info.SenderAlt, e.Info.AddressingMode = custLID, custLID, custPN, types.AddressingModeLID
		}), want: want("T4", "+919876543210", store.InboundText, "hi")},
		{name: "LID addressing resolved from the device store", evt: with(msgEvent("T5", textMsg("hi")), func(e *events.Message) {
			e.Info.Chat, e.Info.Sender = custLID, custLID
		}), resolve: resolver, want: want("T5", "+919876543210", store.InboundText, "hi")},
		{name: "LID addressing without a phone number", evt: with(msgEvent("T6", textMsg("hi")), func(e *events.Message) {
			e.Info.Chat, e.Info.Sender = custLID, custLID
		}), skip: "phone number is unknown"},
		{name: "LID unknown to the device store", evt: with(msgEvent("T7", textMsg("hi")), func(e *events.Message) {
			e.Info.Chat = types.NewJID("999999999999999", types.HiddenUserServer)
			e.Info.Sender = e.Info.Chat
		}), resolve: resolver, skip: "phone number is unknown"},
		{name: "sent by this number (also from its phone)", evt: with(msgEvent("M1", textMsg("shipped")), func(e *events.Message) {
			e.Info.IsFromMe, e.Info.Sender = true, ourPN
		}), skip: "sent by this number"},
		{name: "group", evt: with(msgEvent("G1", textMsg("hello all")), func(e *events.Message) {
			e.Info.Chat, e.Info.IsGroup = groupJID, true
		}), skip: "group"},
		{name: "group JID even if not flagged", evt: with(msgEvent("G2", textMsg("hello all")), func(e *events.Message) {
			e.Info.Chat = groupJID
		}), skip: "group"},
		{name: "status broadcast", evt: with(msgEvent("B1", imageMsg("my day")), func(e *events.Message) {
			e.Info.Chat = types.StatusBroadcastJID
		}), skip: "status"},
		{name: "broadcast list", evt: with(msgEvent("B2", textMsg("offer")), func(e *events.Message) {
			e.Info.Chat = types.NewJID("1712995300", types.BroadcastServer)
		}), skip: "broadcast"},
		{name: "channel", evt: with(msgEvent("N1", textMsg("news")), func(e *events.Message) {
			e.Info.Chat = types.NewJID("120363098765432100", types.NewsletterServer)
		}), skip: "not a person's chat"},
		{name: "edit", evt: with(msgEvent("E1", textMsg("fixed")), func(e *events.Message) { e.IsEdit = true }), skip: "edit"},
		{name: "reaction", evt: msgEvent("R1", &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍")}}), skip: "no customer content"},
		{name: "protocol message (revoke)", evt: msgEvent("P1", &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{}}), skip: "no customer content"},
		{name: "empty message", evt: msgEvent("X1", &waE2E.Message{}), skip: "no customer content"},
		{name: "no message", evt: msgEvent("X2", nil), skip: "no message content"},
		{name: "nil event", evt: nil, skip: "no message content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, skip := InboundFor(tt.evt, tt.resolve)
			if tt.skip != "" {
				if !strings.Contains(skip, tt.skip) || got != (store.InboundMessage{}) {
					t.Fatalf("InboundFor = %+v, %q; want skipped for %q", got, skip, tt.skip)
				}
				return
			}
			if skip != "" || got != tt.want {
				t.Fatalf("InboundFor = %+v, %q\nwant %+v", got, skip, tt.want)
			}
		})
	}
}

func TestInboundHandleEvent(t *testing.T) {
	t.Parallel()
	newInbound := func(sink *inboundLog, logs *bytes.Buffer, chats ...string) *Inbound {
		return NewInbound(InboundOptions{
			Sink: sink, Account: func() types.JID { return types.JID{User: ourPN.User, Server: ourPN.Server, Device: 7} },
			OperatorChats: func(context.Context) []string { return chats },
			Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	}

	t.Run("a text and an image reach the sink; the rest does not", func(t *testing.T) {
		t.Parallel()
		sink := &inboundLog{}
		var logs bytes.Buffer
		in := newInbound(sink, &logs)
		own := msgEvent("M1", textMsg("shipped"))
		own.Info.IsFromMe = true
		group := msgEvent("G1", textMsg("hello all"))
		group.Info.Chat, group.Info.IsGroup = groupJID, true
		for _, evt := range []any{msgEvent("T1", textMsg(custText)), own, group, &events.Receipt{}, &events.Connected{}, nil,
			(*events.Message)(nil), msgEvent("I1", imageMsg(custCaption))} {
			in.HandleEvent(evt)
		}
		want := []store.InboundMessage{
			{Gateway: Name, Account: ourPN.User, ProviderMessageID: "T1", Phone: "+919876543210", ProfileName: custName, Kind: store.InboundText, Body: custText, ReceivedAt: sentAt},
			{Gateway: Name, Account: ourPN.User, ProviderMessageID: "I1", Phone: "+919876543210", ProfileName: custName, Kind: store.InboundImage, Body: custCaption, ReceivedAt: sentAt},
		}
		got := sink.taken()
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("sink got %+v\nwant %+v", got, want)
		}
		if sink.noDeadlines != 0 {
			t.Errorf("%d sink calls had no deadline", sink.noDeadlines)
		}
		for _, s := range []string{custText, custCaption, custName, "shipped", "hello all"} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("the log holds %q:\n%s", s, logs.String())
			}
		}
	})

	t.Run("the operator bot's chats are left to the bot", func(t *testing.T) {
		t.Parallel()
		sink := &inboundLog{}
		var logs bytes.Buffer
		// The operator's number as a "+" number, and another operator
		// chat named by its LID.
		in := newInbound(sink, &logs, " +919876543210", "204518837739521@lid", "120363012345678901@g.us")
		in.HandleEvent(msgEvent("O1", textMsg("/status")))
		byLID := msgEvent("O2", textMsg("/queue"))
		byLID.Info.Chat, byLID.Info.Sender, byLID.Info.SenderAlt = custLID, custLID, types.NewJID("919800000002", types.DefaultUserServer)
		in.HandleEvent(byLID)
		other := msgEvent("C1", textMsg(custText))
		other.Info.Chat = types.NewJID("447700900123", types.DefaultUserServer)
		other.Info.Sender = other.Info.Chat
		in.HandleEvent(other)
		got := sink.taken()
		if len(got) != 1 || got[0].ProviderMessageID != "C1" || got[0].Phone != "+447700900123" {
			t.Fatalf("sink got %+v, want only the customer's C1", got)
		}
		if strings.Contains(logs.String(), "/status") {
			t.Errorf("the log holds an operator's command:\n%s", logs.String())
		}
	})

	t.Run("a sink error is logged without the message, and does not panic", func(t *testing.T) {
		t.Parallel()
		sink := &inboundLog{err: errors.New("database is locked")}
		var logs bytes.Buffer
		in := newInbound(sink, &logs)
		in.HandleEvent(msgEvent("T9", textMsg(custText)))
		if !strings.Contains(logs.String(), "customer message not stored") || !strings.Contains(logs.String(), "T9") ||
			!strings.Contains(logs.String(), "database is locked") {
			t.Fatalf("log:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), custText) || strings.Contains(logs.String(), custName) {
			t.Fatalf("the log holds the message:\n%s", logs.String())
		}
	})
}

// The definition wires Inbound onto the session: a customer's message
// emitted by whatsmeow reaches env.Inbound, one in an operator chat
// (setting OperatorChatsSetting) does not, and Close removes the handler.
func TestDefinitionPassesCustomerMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t, storetest.Options{})
	reg, err := settings.NewRegistry([]settings.Def{{Key: OperatorChatsSetting, Type: settings.List}})
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	if _, err := r.Set(ctx, OperatorChatsSetting, "+919800000001", "test"); err != nil {
		t.Fatal(err)
	}
	fc := newFakeConn()
	s := newSession(fc, slog.New(slog.DiscardHandler))
	sink := &inboundLog{}
	gw, err := Definition(s).Open(ctx, gateways.Env{DB: db, Settings: r, Inbound: sink})
	if err != nil {
		t.Fatal(err)
	}
	operator := msgEvent("O1", textMsg("/status"))
	operator.Info.Chat = types.NewJID("919800000001", types.DefaultUserServer)
	operator.Info.Sender = operator.Info.Chat
	fc.emit(operator)
	fc.emit(msgEvent("T1", textMsg(custText)))
	got := sink.taken()
	if len(got) != 1 || got[0].ProviderMessageID != "T1" || got[0].Account != fc.linked.User {
		t.Fatalf("sink got %+v, want the customer's T1 on account %s", got, fc.linked.User)
	}
	gw.Close()
	fc.emit(msgEvent("T2", textMsg(custText)))
	if n := len(sink.taken()); n != 1 {
		t.Fatalf("after Close the sink got %d messages", n)
	}
}
