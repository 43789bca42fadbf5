package meta

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
)

// Keys of the Cloud API gateway's settings.
const (
	SettingAccessToken   = "meta.access_token"
	SettingPhoneNumberID = "meta.phone_number_id"
	SettingWABAID        = "meta.waba_id"
	SettingGraphVersion  = "meta.graph_version"
	SettingBaseURL       = "meta.base_url"
	SettingAppSecret     = "meta.app_secret"
	SettingVerifyToken   = "meta.verify_token"
	SettingMediaByLink   = "meta.media_by_link"
	SettingRate          = "meta.rate_per_second"
)

// SettingDefs declares the Cloud API gateway's credentials and settings.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingAccessToken, Secret: true, Help: "Cloud API access token (system user)"},
		{Key: SettingPhoneNumberID, Help: "the sending phone number's id"},
		{Key: SettingWABAID, Check: checkDigits, Help: "WhatsApp Business Account id: where the approved message templates are listed from"},
		{Key: SettingGraphVersion, Default: DefaultGraphVersion, Help: "Graph API version"},
		{Key: SettingBaseURL, Type: settings.URL, Default: DefaultBaseURL, Help: "Graph API base URL"},
		{Key: SettingAppSecret, Secret: true, Help: "app secret that signs webhooks (X-Hub-Signature-256)"},
		{Key: SettingVerifyToken, Secret: true, Help: "token for the webhook verification handshake"},
		{Key: SettingMediaByLink, Type: settings.Bool, Default: "false", Help: "send images and videos by their public link instead of uploading them"},
		{Key: SettingRate, Type: settings.Float, Default: "80", Unit: "per second", Min: 0.1, Max: 1000, Help: "most sends per second through the Cloud API"},
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
		return Credentials{
			AccessToken: get(SettingAccessToken), PhoneNumberID: get(SettingPhoneNumberID), WABAID: get(SettingWABAID),
			GraphVersion: get(SettingGraphVersion), BaseURL: get(SettingBaseURL),
			AppSecret: get(SettingAppSecret), VerifyToken: get(SettingVerifyToken), MediaByLink: byLink,
			Secrets: r.Secrets(ctx),
		}, nil
	}
}

// checkDigits accepts an empty value or digits only: Graph ids are
// numbers, and anything else would change the request's path.
func checkDigits(v string) error {
	if strings.Trim(v, "0123456789") != "" {
		return errors.New("digits only: the WhatsApp Business Account id as WhatsApp Manager shows it")
	}
	return nil
}

// Definition describes the Cloud API to the wiring: it sends text,
// images, videos, templates and WhatsApp Flows at meta.rate_per_second,
// is ready once its access token and phone number id are set, lists the
// account's templates (meta.waba_id), takes customers' messages from the
// webhook, and sends free-form messages only inside the customer's
// 24-hour window.
func Definition() gateways.Definition {
	return gateways.Definition{
		Name:     Name,
		Caps:     queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true},
		Settings: SettingDefs(),
		Window:   24 * time.Hour,
		Rate: func(ctx context.Context, r *settings.Reader) float64 {
			return r.Float(ctx, SettingRate)
		},
		Ready: func(ctx context.Context, r *settings.Reader) string {
			cr, err := CredentialsFrom(r)(ctx)
			if err != nil {
				return ""
			}
			return cr.notReady()
		},
		Open: func(_ context.Context, env gateways.Env) (gateways.Gateway, error) {
			c := New(Options{Credentials: CredentialsFrom(env.Settings), Media: env.DB, Logger: env.Logger})
			return gateways.Gateway{Sender: c, Webhook: c.WebhookHandler(env.DB, env.DB, env.Inbound), Templates: c.Templates}, nil
		},
	}
}
