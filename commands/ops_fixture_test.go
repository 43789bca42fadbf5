package commands_test

import (
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

// newOps builds the operations layer over db the way the binary does, with
// gateways that can send everything and a settings cache that never goes
// stale, so a setting written in a test applies at once.
func newOps(t testing.TB, db *store.DB, gateways []string, now func() time.Time, notify func()) *ops.Service {
	t.Helper()
	if len(gateways) == 0 {
		gateways = []string{"dryrun"}
	}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs(gateways), meta.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	all := queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}
	var gws []ops.Gateway
	for _, g := range gateways {
		gws = append(gws, ops.Gateway{Name: g, Caps: all})
	}
	return ops.New(db, settings.NewReader(reg, db, time.Nanosecond, nil), ops.Config{Gateways: gws, Now: now, Notify: notify}, nil)
}
