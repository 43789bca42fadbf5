package whapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
)

// Keys of the WHAPI gateway's settings.
const (
	SettingToken         = "whapi.token"
	SettingBaseURL       = "whapi.base_url"
	SettingWebhookSecret = "whapi.webhook_secret"
	SettingMediaByLink   = "whapi.media_by_link"
)

// SettingDefs declares the WHAPI gateway's credentials and settings.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingToken, Secret: true, Help: "WHAPI channel token"},
		{Key: SettingBaseURL, Type: settings.URL, Default: DefaultBaseURL, Help: "WHAPI base URL"},
		{Key: SettingWebhookSecret, Secret: true, Help: "shared secret WHAPI's webhook must send (X-Webhook-Secret)"},
		{Key: SettingMediaByLink, Type: settings.Bool, Default: "false", Help: "send images and videos by their public link instead of inline"},
	}
}

// CredentialsFrom reads the credentials from the settings.
func CredentialsFrom(r *settings.Reader) func(ctx context.Context) (Credentials, error) {
	return func(ctx context.Context) (Credentials, error) {
		get, err := r.Getter(ctx)
		if err != nil {
			return Credentials{}, fmt.Errorf("%w: %w", queue.ErrUnavailable, err)
		}
		byLink, _ := strconv.ParseBool(get(SettingMediaByLink))
		return Credentials{Token: get(SettingToken), BaseURL: get(SettingBaseURL),
			WebhookSecret: get(SettingWebhookSecret), MediaByLink: byLink, Secrets: r.Secrets(ctx)}, nil
	}
}

// notReady says why cr cannot send yet, "" when they can.
func (cr Credentials) notReady() string {
	if strings.TrimSpace(cr.Token) == "" {
		return "not set up: the channel token is empty"
	}
	return ""
}

// Definition describes WHAPI to the wiring: it sends text, images and
// videos (no templates or flows) and is ready once its channel token is
// set.
func Definition() gateways.Definition {
	return gateways.Definition{
		Name:     Name,
		Caps:     queue.Capabilities{Text: true, Media: true},
		Settings: SettingDefs(),
		Ready: func(ctx context.Context, r *settings.Reader) string {
			cr, err := CredentialsFrom(r)(ctx)
			if err != nil {
				return ""
			}
			return cr.notReady()
		},
		Open: func(_ context.Context, env gateways.Env) (gateways.Gateway, error) {
			c := New(Options{Credentials: CredentialsFrom(env.Settings), Logger: env.Logger, Inbound: env.Inbound})
			return gateways.Gateway{Sender: c, Webhook: c.WebhookHandler(env.DB, env.DB)}, nil
		},
	}
}
