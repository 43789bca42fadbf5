package session

import (
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

func TestStateFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		evt       any
		want      State
		wantOK    bool
		reasonHas string
	}{
		{"connected", &events.Connected{}, StateConnected, true, ""},
		{"disconnected", &events.Disconnected{}, StateDisconnected, true, "reconnecting"},
		{"pair success", &events.PairSuccess{ID: types.NewJID("1555", types.DefaultUserServer)}, StateDisconnected, true, "linked"},
		{"stream error", &events.StreamError{Code: "999"}, StateDisconnected, true, "999"},
		{"logged out from phone", &events.LoggedOut{}, StateBlocked, true, "whatsapp pair"},
		{"logged out on connect", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureMainDeviceGone}, StateBlocked, true, "403"},
		{"stream replaced", &events.StreamReplaced{}, StateBlocked, true, "only one MessageBridge"},
		{"temporary ban", &events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Hour}, StateBlocked, true, "temporarily banned"},
		{"client outdated", &events.ClientOutdated{}, StateBlocked, true, "upgrade"},
		{"connect failure 503 retries", &events.ConnectFailure{Reason: events.ConnectFailureServiceUnavailable}, StateDisconnected, true, "retrying"},
		{"connect failure logged out", &events.ConnectFailure{Reason: events.ConnectFailureUnknownLogout}, StateBlocked, true, "pair"},
		{"connect failure other", &events.ConnectFailure{Reason: events.ConnectFailureGeneric}, StateBlocked, true, "restart"},
		{"other permanent disconnect", &events.CATRefreshError{}, StateBlocked, true, "CAT"},
		{"keepalive timeout says nothing", &events.KeepAliveTimeout{ErrorCount: 2}, StateUnknown, false, ""},
		{"message says nothing", &events.Message{}, StateUnknown, false, ""},
		{"receipt says nothing", &events.Receipt{}, StateUnknown, false, ""},
		{"QR says nothing", &events.QR{Codes: []string{"x"}}, StateUnknown, false, ""},
		{"nil", nil, StateUnknown, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, reason, ok := StateFor(tt.evt)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("StateFor(%T) = %v, %q, %v; want %v, ok %v", tt.evt, got, reason, ok, tt.want, tt.wantOK)
			}
			if !strings.Contains(reason, tt.reasonHas) {
				t.Errorf("reason %q does not mention %q", reason, tt.reasonHas)
			}
			if tt.want == StateBlocked && reason == "" {
				t.Error("a blocked state needs a reason for operators")
			}
		})
	}
}
