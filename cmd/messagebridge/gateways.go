package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/gateways/dryrun"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// gatewaySetting is one runtime setting of a gateway: its key in the
// settings table and the MB_* variable that can seed it.
type gatewaySetting struct {
	Key    string
	Secret bool
	Help   string
}

// Env is the environment variable that seeds the setting: MB_ and the key
// in upper case with dots as underscores (meta.access_token →
// MB_META_ACCESS_TOKEN).
func (s gatewaySetting) Env() string {
	return "MB_" + strings.ToUpper(strings.ReplaceAll(s.Key, ".", "_"))
}

// gatewaySettings lists every gateway setting; the README's gateway table
// lists the same.
func gatewaySettings() []gatewaySetting {
	return []gatewaySetting{
		{"meta.access_token", true, "Cloud API access token (system user)"},
		{"meta.phone_number_id", false, "the sending phone number's id"},
		{"meta.graph_version", false, "Graph API version (default v23.0)"},
		{"meta.base_url", false, "Graph API base URL (default https://graph.facebook.com)"},
		{"meta.app_secret", true, "app secret that signs webhooks (X-Hub-Signature-256)"},
		{"meta.verify_token", true, "token for the webhook verification handshake"},
		{"meta.media_by_link", false, "true: send media by public link instead of uploading"},
		{"meta.rate_per_second", false, "sends per second (default 80)"},
		{"whapi.token", true, "WHAPI channel token"},
		{"whapi.base_url", false, "WHAPI base URL (default https://gate.whapi.cloud)"},
		{"whapi.webhook_secret", true, "shared secret WHAPI's webhook must send"},
		{"shiprocket.email", false, "Shiprocket API user e-mail"},
		{"shiprocket.password", true, "Shiprocket API user password"},
		{"shiprocket.base_url", false, "Shiprocket auth API base URL"},
		{"shiprocket.flow_url", false, "Shiprocket flow trigger URL"},
		{"shiprocket.flow_body", false, "JSON body template of the flow trigger"},
		{"whatsapp.operator_chats", false, "comma-separated chat/group JIDs where the WhatsApp bot listens"},
		{"media.public_base_url", false, "public URL under which media files are served (enables sending by link)"},
	}
}

// seedGatewaySettings copies MB_* variables into settings that are unset,
// so a deployment can start configured; once an admin has set a value, the
// variable no longer overrides it.
func seedGatewaySettings(ctx context.Context, db *store.DB, getenv func(string) string, log *slog.Logger) error {
	for _, s := range gatewaySettings() {
		v := strings.TrimSpace(getenv(s.Env()))
		if v == "" {
			continue
		}
		cur, err := db.Setting(ctx, s.Key)
		switch {
		case err == nil:
			if cur.Value != v {
				log.Warn("environment variable ignored: the setting was changed by an admin", "env", s.Env(), "setting", s.Key)
			}
			continue
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("seed %s: %w", s.Key, err)
		}
		if err := db.PutSetting(ctx, s.Key, v, s.Secret, "env:"+s.Env()); err != nil {
			return fmt.Errorf("seed %s: %w", s.Key, err)
		}
	}
	return nil
}

// settingsCache reads all settings at most once per ttl, so gateways can
// look up credentials on every send without a query per send.
type settingsCache struct {
	db  *store.DB
	ttl time.Duration

	mu     sync.Mutex
	values map[string]string
	readAt time.Time
}

func newSettingsCache(db *store.DB, ttl time.Duration) *settingsCache {
	return &settingsCache{db: db, ttl: ttl}
}

// get returns the current settings.
func (c *settingsCache) get(ctx context.Context) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values != nil && time.Since(c.readAt) < c.ttl {
		return c.values, nil
	}
	all, err := c.db.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	values := make(map[string]string, len(all))
	for _, s := range all {
		values[s.Name] = s.Value
	}
	c.values, c.readAt = values, time.Now()
	return values, nil
}

// gatewaySet is every configured gateway: the senders the loop resolves by
// name, the webhook handlers, and the linked WhatsApp session.
type gatewaySet struct {
	senders  map[string]queue.Sender
	webhooks map[string]http.Handler
	rates    map[string]float64
	session  *session.Session
	dry      *dryrun.Gateway
}

// names lists the gateways admins may choose, the default first.
func (g *gatewaySet) names() []string {
	names := []string{dryrun.Name}
	for _, n := range []string{meta.Name, whapi.Name, shiprocket.Name, session.Name} {
		if _, ok := g.senders[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

func (g *gatewaySet) close() {
	g.dry.Close()
	if g.session != nil {
		_ = g.session.Close()
	}
}

// buildGateways creates every gateway. Credentials are read from the
// settings (through a short cache) on each send, so admins can change them
// while MessageBridge runs.
func buildGateways(ctx context.Context, cfg Config, db *store.DB, log *slog.Logger) (*gatewaySet, error) {
	settings := newSettingsCache(db, 2*time.Second)
	get := func(ctx context.Context) (map[string]string, error) { return settings.get(ctx) }
	g := &gatewaySet{
		senders:  map[string]queue.Sender{},
		webhooks: map[string]http.Handler{},
		rates:    map[string]float64{},
		dry:      dryrun.New(dryrun.Options{Receipts: db, Logger: log}),
	}
	g.senders[dryrun.Name] = g.dry

	mc := meta.New(meta.Options{
		Credentials: func(ctx context.Context) (meta.Credentials, error) {
			s, err := get(ctx)
			return meta.Credentials{
				AccessToken: s["meta.access_token"], PhoneNumberID: s["meta.phone_number_id"],
				GraphVersion: s["meta.graph_version"], BaseURL: s["meta.base_url"],
				AppSecret: s["meta.app_secret"], VerifyToken: s["meta.verify_token"],
				MediaByLink: s["meta.media_by_link"] == "true",
			}, err
		},
		Media:  db,
		Logger: log,
	})
	g.senders[meta.Name] = mc
	g.webhooks[meta.Name] = mc.WebhookHandler(db, db)
	g.rates[meta.Name] = 80
	if v, err := db.Setting(ctx, "meta.rate_per_second"); err == nil {
		if r, err := strconv.ParseFloat(v.Value, 64); err == nil && r > 0 {
			g.rates[meta.Name] = r
		}
	}

	wc := whapi.New(whapi.Options{
		Credentials: func(ctx context.Context) (whapi.Credentials, error) {
			s, err := get(ctx)
			return whapi.Credentials{Token: s["whapi.token"], BaseURL: s["whapi.base_url"],
				WebhookSecret: s["whapi.webhook_secret"], MediaByLink: s["meta.media_by_link"] == "true"}, err
		},
		Logger: log,
	})
	g.senders[whapi.Name] = wc
	g.webhooks[whapi.Name] = wc.WebhookHandler(db, db)

	g.senders[shiprocket.Name] = shiprocket.New(shiprocket.Options{
		Credentials: func(ctx context.Context) (shiprocket.Credentials, error) {
			s, err := get(ctx)
			return shiprocket.Credentials{Email: s["shiprocket.email"], Password: s["shiprocket.password"],
				BaseURL: s["shiprocket.base_url"], FlowURL: s["shiprocket.flow_url"], FlowBody: s["shiprocket.flow_body"]}, err
		},
		Logger: log,
	})

	sess, err := session.Open(ctx, cfg.DataDir, log)
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
	// The sender paces itself (3-8 s apart); the loop need not offer more.
	g.rates[session.Name] = 0.2
	return g, nil
}
