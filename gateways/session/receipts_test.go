package session

import (
	"reflect"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/messagebridge/messagebridge/store"
)

func TestReceiptsFor(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	user := types.NewJID("919876543210", types.DefaultUserServer)
	dm := types.MessageSource{Chat: user, Sender: user}
	receipt := func(src types.MessageSource, typ types.ReceiptType, ids ...string) *events.Receipt {
		return &events.Receipt{MessageSource: src, MessageIDs: ids, Timestamp: at, Type: typ}
	}
	want := func(status store.QueueStatus, ids ...string) []store.Receipt {
		var out []store.Receipt
		for _, id := range ids {
			out = append(out, store.Receipt{Gateway: Name, ProviderMessageID: id, Status: status, At: at})
		}
		return out
	}
	own := dm
	own.IsFromMe = true
	group := types.MessageSource{Chat: types.NewJID("120363000000000000", types.GroupServer), Sender: user, IsGroup: true}
	status := types.MessageSource{Chat: types.StatusBroadcastJID, Sender: user}

	tests := []struct {
		name string
		evt  *events.Receipt
		want []store.Receipt
	}{
		{"delivered", receipt(dm, types.ReceiptTypeDelivered, "A1"), want(store.StatusDelivered, "A1")},
		{"read, several ids", receipt(dm, types.ReceiptTypeRead, "A1", "A2", ""), want(store.StatusRead, "A1", "A2")},
		{"played view-once", receipt(dm, types.ReceiptTypePlayed, "A3"), want(store.StatusRead, "A3")},
		{"read-self is about messages we received", receipt(own, types.ReceiptTypeReadSelf, "B1"), nil},
		{"read-self ignored even if not marked from me", receipt(dm, types.ReceiptTypeReadSelf, "B1"), nil},
		{"sender receipt from our own device", receipt(own, types.ReceiptTypeSender, "A1"), nil},
		{"retry receipt", receipt(dm, types.ReceiptTypeRetry, "A1"), nil},
		{"server error", receipt(dm, types.ReceiptTypeServerError, "A1"), nil},
		{"group receipt", receipt(group, types.ReceiptTypeRead, "G1"), nil},
		{"status broadcast", receipt(status, types.ReceiptTypeRead, "S1"), nil},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ReceiptsFor(tt.evt)
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReceiptsFor = %+v, want %+v", got, tt.want)
			}
		})
	}
}
