// Package bot turns chat traffic (Telegram, WhatsApp, the console) into
// transport-neutral messages for the command router and sends its replies
// back. It knows transports, not commands: each transport lives in its own
// subpackage and calls a Handler.
package bot

import (
	"context"
	"io"
	"time"
)

// Transports by name, as used in identities ("telegram:123456").
const (
	Telegram = "telegram"
	WhatsApp = "whatsapp"
	Console  = "console"
)

// Identity is who sent a message: the transport and the sender's id there
// (a Telegram user id, a WhatsApp number in E.164, a console user name).
type Identity struct {
	Transport string
	ID        string
	// Name is a display name, for replies and logs only.
	Name string
}

// String is the identity's key in the operators table: "transport:id".
func (i Identity) String() string { return i.Transport + ":" + i.ID }

// Attachment is a file that came with a message.
type Attachment struct {
	Name string // file name as sent, e.g. "contacts.xlsx"
	MIME string // declared type, which may be wrong
	Size int64  // declared size in bytes; -1 when unknown
	// Open reads the file. It returns a *FileError with a message for the
	// sender when the file cannot be had (too large, expired).
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Message is one incoming chat message.
type Message struct {
	Transport string
	// ChatID is where replies go.
	ChatID    string
	MessageID string
	From      Identity
	Text      string
	// ReplyToText is the text of the message this one answers, if any.
	ReplyToText string
	Attachment  *Attachment
	At          time.Time
}

// Reply is one outgoing message: text, optionally with a file.
type Reply struct {
	Text string
	File *File
}

// File is an outgoing document.
type File struct {
	Name string
	MIME string
	Data []byte
}

// Handler handles one message and returns the replies to send back to its
// chat, in order.
type Handler interface {
	Handle(ctx context.Context, m Message) []Reply
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m Message) []Reply

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, m Message) []Reply { return f(ctx, m) }

// FileError explains to the sender why an attachment cannot be read.
type FileError struct {
	// Message is shown to the sender as it is.
	Message string
}

func (e *FileError) Error() string { return e.Message }
