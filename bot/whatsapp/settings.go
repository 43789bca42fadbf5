package whatsapp

import "github.com/messagebridge/messagebridge/store/settings"

// SettingOperatorChats lists the chats and groups (JIDs) where the
// WhatsApp bot listens for operators.
const SettingOperatorChats = "whatsapp.operator_chats"

// SettingDefs declares the WhatsApp transport's settings.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingOperatorChats, Type: settings.List,
			Help: "comma-separated chat or group JIDs where the WhatsApp bot listens for operators (read when the session connects)"},
	}
}
