package whapi

import (
	"context"
	"fmt"
	"strconv"

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

// Capabilities implements queue.Capable: WHAPI sends text, images and
// videos; it has no templates or flows.
func (c *Client) Capabilities() queue.Capabilities {
	return queue.Capabilities{Text: true, Media: true}
}
