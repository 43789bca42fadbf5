package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/messagebridge/messagebridge/bot/telegram"
	"github.com/messagebridge/messagebridge/bot/whatsapp"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/dryrun"
	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

// gatewayNames lists the gateways admins may choose, the default first.
func gatewayNames() []string {
	return []string{dryrun.Name, meta.Name, whapi.Name, shiprocket.Name, session.Name}
}

// newRegistry collects every runtime setting, each declared beside the code
// that uses it.
func newRegistry() (*settings.Registry, error) {
	return settings.NewRegistry(
		ops.SettingDefs(gatewayNames()),
		queue.SettingDefs(),
		meta.SettingDefs(),
		whapi.SettingDefs(),
		shiprocket.SettingDefs(),
		whatsapp.SettingDefs(),
		telegram.SettingDefs(),
		library.SettingDefs(),
		httpSettingDefs(),
	)
}

// gatewaySet is every configured gateway: the senders the loop resolves by
// name, the webhook handlers, and the linked WhatsApp session.
type gatewaySet struct {
	senders  map[string]queue.Sender
	webhooks map[string]http.Handler
	session  *session.Session
	dry      *dryrun.Gateway
}

// describe tells the operations layer what each gateway can send.
func (g *gatewaySet) describe() []ops.Gateway {
	var out []ops.Gateway
	for _, name := range gatewayNames() {
		s, ok := g.senders[name]
		if !ok {
			continue
		}
		d := ops.Gateway{Name: name}
		if c, ok := s.(queue.Capable); ok {
			d.Caps = c.Capabilities()
		}
		switch name {
		case shiprocket.Name:
			d.StaffFlowSetting = shiprocket.SettingStaffFlow
		case session.Name:
			d.MinInterval = session.DefaultMinGap
		}
		out = append(out, d)
	}
	return out
}

// rates are the gateways' configured send rates, read live.
func rates(r *settings.Reader) func(ctx context.Context) map[string]float64 {
	return func(ctx context.Context) map[string]float64 {
		return map[string]float64{
			meta.Name: r.Float(ctx, meta.SettingRate),
			// The session sender paces itself (3-8 s apart); the loop
			// need not offer more.
			session.Name: 0.2,
		}
	}
}

func (g *gatewaySet) close() {
	g.dry.Close()
	if g.session != nil {
		_ = g.session.Close()
	}
}

// buildGateways creates every gateway. Credentials are read from the
// settings (through the cached reader) on each send, so admins can change
// them while MessageBridge runs.
func buildGateways(ctx context.Context, dataDir string, db *store.DB, r *settings.Reader, log *slog.Logger) (*gatewaySet, error) {
	g := &gatewaySet{
		senders:  map[string]queue.Sender{},
		webhooks: map[string]http.Handler{},
		dry:      dryrun.New(dryrun.Options{Receipts: db, Logger: log}),
	}
	g.senders[dryrun.Name] = g.dry

	mc := meta.New(meta.Options{Credentials: meta.CredentialsFrom(r), Media: db, Logger: log})
	g.senders[meta.Name] = mc
	g.webhooks[meta.Name] = mc.WebhookHandler(db, db)

	wc := whapi.New(whapi.Options{Credentials: whapi.CredentialsFrom(r), Logger: log})
	g.senders[whapi.Name] = wc
	g.webhooks[whapi.Name] = wc.WebhookHandler(db, db)

	g.senders[shiprocket.Name] = shiprocket.New(shiprocket.Options{Credentials: shiprocket.CredentialsFrom(r), Logger: log})

	sess, err := session.Open(ctx, dataDir, log)
	if err != nil {
		g.dry.Close()
		return nil, fmt.Errorf("whatsapp session: %w", err)
	}
	g.session = sess
	snd := session.NewSender(sess, session.SenderOptions{
		Receipts: db,
		Logger:   log,
		OnStateChange: func(state session.State, reason string) {
			if state != session.StateConnected {
				return
			}
			// The number can send again: lift a block the loop recorded.
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := db.UnblockGateway(uctx, session.Name); err != nil {
				log.Warn("unblock session gateway", "err", err)
			}
		},
	})
	sess.AddHandler(snd.HandleEvent)
	g.senders[session.Name] = snd
	return g, nil
}
