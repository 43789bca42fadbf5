package shiprocket

import (
	"context"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
)

// Keys of the Shiprocket gateway's settings.
const (
	SettingEmail       = "shiprocket.email"
	SettingPassword    = "shiprocket.password"
	SettingAPIKey      = "shiprocket.api_key"
	SettingBaseURL     = "shiprocket.base_url"
	SettingFlowURL     = "shiprocket.flow_url"
	SettingFlowBody    = "shiprocket.flow_body"
	SettingSuccessWhen = "shiprocket.success_when"
	// SettingStaffFlow is the flow a staff message triggers: Shiprocket
	// sends no plain text, so it can carry staff messages only with one.
	SettingStaffFlow = "shiprocket.staff_flow_id"
)

// SettingDefs declares the Shiprocket gateway's credentials and settings.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingEmail, Help: "Shiprocket API user e-mail"},
		{Key: SettingPassword, Secret: true, Help: "Shiprocket API user password"},
		{Key: SettingAPIKey, Secret: true, Help: "static API key sent as Bearer instead of logging in (optional)"},
		{Key: SettingBaseURL, Type: settings.URL, Default: DefaultBaseURL, Help: "Shiprocket auth API base URL"},
		{Key: SettingFlowURL, Help: "flow trigger URL: a full URL or a path under the base URL, e.g. engage/flows/{{flow_id}}/trigger"},
		{Key: SettingFlowBody, Default: DefaultFlowBody, Help: "JSON body template of the flow trigger"},
		{Key: SettingSuccessWhen, Help: "optional success check on the answer: field or field=value (a dot path)"},
		{Key: SettingStaffFlow, Help: "flow id that staff messages trigger; without it Shiprocket cannot be the active gateway"},
	}
}

// CredentialsFrom reads the credentials from the settings.
func CredentialsFrom(r *settings.Reader) func(ctx context.Context) (Credentials, error) {
	return func(ctx context.Context) (Credentials, error) {
		get, err := r.Getter(ctx)
		if err != nil {
			return Credentials{}, fmt.Errorf("%w: %w", queue.ErrUnavailable, err)
		}
		return Credentials{Email: get(SettingEmail), Password: get(SettingPassword), APIKey: get(SettingAPIKey),
			BaseURL: get(SettingBaseURL), FlowURL: get(SettingFlowURL), FlowBody: get(SettingFlowBody),
			SuccessWhen: get(SettingSuccessWhen), Secrets: r.Secrets(ctx)}, nil
	}
}

// notReady says why cr cannot send yet, "" when they can.
func (cr Credentials) notReady() string {
	switch {
	case strings.TrimSpace(cr.FlowURL) == "":
		return "not set up: the flow-trigger URL is empty"
	case cr.APIKey == "" && (strings.TrimSpace(cr.Email) == "" || cr.Password == ""):
		return "not set up: the API user's email and password are empty (or set an API key)"
	}
	return ""
}

// Definition describes Shiprocket to the wiring: it sends flows by flow
// ID, nothing else, so staff messages need a staff flow; it is ready once
// its flow-trigger URL and a login are set.
func Definition() gateways.Definition {
	return gateways.Definition{
		Name:             Name,
		Caps:             queue.Capabilities{Flows: true},
		StaffFlowSetting: SettingStaffFlow,
		Settings:         SettingDefs(),
		Ready: func(ctx context.Context, r *settings.Reader) string {
			cr, err := CredentialsFrom(r)(ctx)
			if err != nil {
				return ""
			}
			return cr.notReady()
		},
		Open: func(_ context.Context, env gateways.Env) (gateways.Gateway, error) {
			return gateways.Gateway{Sender: New(Options{Credentials: CredentialsFrom(env.Settings), Logger: env.Logger})}, nil
		},
	}
}
