package library

import "github.com/messagebridge/messagebridge/store/settings"

// SettingPublicBaseURL is the public URL under which media files are
// served, so providers can fetch them by link.
const SettingPublicBaseURL = "media.public_base_url"

// SettingDefs declares the library's settings.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingPublicBaseURL, Type: settings.URL,
			Help: "public URL under which media files are served; with it, gateways set to send media by link do so"},
	}
}
