package session

import (
	"context"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/messagebridge/messagebridge/store"
)

// ReceiptSink applies delivery receipts; *store.DB satisfies it.
type ReceiptSink interface {
	ApplyReceipt(ctx context.Context, r store.Receipt) (bool, error)
}

var _ ReceiptSink = (*store.DB)(nil)

// ReceiptsFor maps a whatsmeow receipt to the store receipts it reports,
// one per message id, or nil when it reports nothing about a message this
// gateway sent:
//
//   - delivered ("") → delivered; read and played (a view-once opened) → read;
//   - receipts from our own devices (sender, read-self, played-self: they are
//     about messages we received or copies on our other devices), retry and
//     server-error receipts, and receipts in groups, broadcast lists and
//     status (this gateway sends only to single numbers) → nothing.
func ReceiptsFor(evt *events.Receipt) []store.Receipt {
	if evt == nil || evt.IsFromMe || evt.IsGroup || evt.Chat.Server == types.BroadcastServer {
		return nil
	}
	var status store.QueueStatus
	switch evt.Type {
	case types.ReceiptTypeDelivered:
		status = store.StatusDelivered
	case types.ReceiptTypeRead, types.ReceiptTypePlayed:
		status = store.StatusRead
	default:
		// Sender, ReadSelf, PlayedSelf (our own devices), Retry (the
		// recipient could not decrypt; whatsmeow resends by itself),
		// ServerError, Inactive, PeerMsg, HistorySync.
		return nil
	}
	out := make([]store.Receipt, 0, len(evt.MessageIDs))
	for _, id := range evt.MessageIDs {
		if id == "" {
			continue
		}
		out = append(out, store.Receipt{Gateway: Name, ProviderMessageID: id, Status: status, At: evt.Timestamp})
	}
	return out
}
